// Quantization-aware fine-tuning of a checkpoint keeps its structure: CSR layers stay CSR and masks stay fixed.
//
// `model.initFrom` alone loads a checkpoint's values into the layers the recipe describes, densifying
// CSR weights and dropping masks (right for pruning a dense model). QAT of a sparse checkpoint
// without a sparsity method would then train its zeros away; with `quantize:` the run instead
// builds the checkpoint's CSR layers and fixes its masks, so the zeros stay zero.
import { loadCheckpoint } from "../io/checkpoint.js";
import { Conv2d } from "../nn/conv2d.js";
import { Linear } from "../nn/linear.js";
import type { Model } from "../nn/presets.js";
import { tensor } from "../tensor/tensor.js";

/** The layers a checkpoint stores as CSR (index → density) and its masks (parameter name → mask values). */
export interface CheckpointStructure {
  sparse: Record<string, number>;
  masks: Map<string, Float32Array>;
}

export function checkpointStructure(path: string): CheckpointStructure {
  const source = loadCheckpoint(path);
  const masks = new Map<string, Float32Array>();
  for (const p of source.model.net.parameters()) if (p.mask) masks.set(p.name, p.mask.toArray());
  return { sparse: { ...(source.model.spec.sparse ?? {}) }, masks };
}

/** Fixes the checkpoint's masks on the model's dense weights of the same names (after its values are loaded); returns how many. */
export function applyCheckpointMasks(model: Model, structure: CheckpointStructure): number {
  let fixed = 0;
  for (const p of model.net.parameters()) {
    const mask = structure.masks.get(p.name);
    if (mask === undefined || p.sparse || !(p.layer instanceof Linear || p.layer instanceof Conv2d)) continue;
    p.layer.setMask(tensor(mask, [...p.tensor.shape]));
    fixed++;
  }
  return fixed;
}
