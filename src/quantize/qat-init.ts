// Quantization-aware fine-tuning of a checkpoint keeps its structure: CSR layers stay CSR (masks are carried by loadWeightsInto).
//
// `model.initFrom` alone loads a checkpoint's values into the layers the recipe describes, densifying
// CSR weights (right for pruning a dense model). QAT of a sparse checkpoint without a sparsity
// method would then train its zeros away; with `quantize:` the run instead builds the checkpoint's
// CSR layers, so the zeros stay zero.
import { loadCheckpoint } from "../io/checkpoint.js";

/** The layers a checkpoint stores as CSR (index → density). */
export function checkpointSparseLayers(path: string): Record<string, number> {
  return { ...(loadCheckpoint(path).model.spec.sparse ?? {}) };
}
