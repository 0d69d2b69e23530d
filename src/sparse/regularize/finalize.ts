// The end of a regularization or gate method: fold gates, threshold to exact zeros, fix the zeros (mask or CSR) and report per-layer sparsity.
import { Conv2d } from "../../nn/conv2d.js";
import { Linear } from "../../nn/linear.js";
import type { Model } from "../../nn/presets.js";
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { keep, tensor } from "../../tensor/tensor.js";
import { convertLayerToCsr } from "../prune/convert.js";
import { replaceSparseStructure } from "../structure.js";
import { GatedLayer, foldGates } from "../../nn/gated-layer.js";

export interface SparsifyOptions {
  /** Weights with |w| <= threshold become exactly 0 (0: only weights that already are). */
  threshold: number;
  /** Layers whose density is at or below this are stored and computed as CSR. */
  csrBelow: number;
  /**
   * Keep the zeros of dense layers zero through further training: a mask, and their optimizer state
   * reset (for fine-tuning). Without it, a dense layer just holds exact zeros.
   */
  mask: boolean;
}

export interface LayerSparsity {
  name: string;
  storage: "dense" | "masked" | "csr";
  nonzero: number;
  total: number;
  density: number;
}

/** Replaces every gated layer of the model by its inner layer with the deterministic gates folded in; returns their indices. */
export function foldAllGates(model: Model): number[] {
  const folded: number[] = [];
  model.net.layers.forEach((layer, index) => {
    if (!(layer instanceof GatedLayer)) return;
    model.net.layers[index] = foldGates(layer);
    folded.push(index);
  });
  return folded;
}

function weightOf(model: Model, index: number): NamedParameter {
  const param = model.net.parameters().find((p) => p.layerIndex === index && p.name === `layers.${index}.weight`);
  if (param === undefined) throw new Error(`layers.${index} (${model.net.layers[index].describe()}) has no weight`);
  return param;
}

/** Per-layer storage and sparsity of a weight, counted as a dense twin would (exact zeros are not kept). */
export function layerSparsity(param: NamedParameter): LayerSparsity {
  const total = param.sparse ? param.sparse.rows * param.sparse.cols : param.tensor.size;
  let nonzero = 0;
  for (const v of param.tensor.data) if (v !== 0) nonzero++;
  return { name: param.name, storage: param.sparse ? "csr" : param.mask ? "masked" : "dense", nonzero, total, density: nonzero / total };
}

/** Sets |w| <= threshold to 0 in place; returns the indices (into the stored values) that are zero. */
function thresholdToZeros(values: Float32Array, threshold: number): number[] {
  const zeros: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]) <= threshold) {
      values[i] = 0;
      zeros.push(i);
    }
  }
  return zeros;
}

/** Drops the zero entries of a CSR weight from its structure (values and optimizer state of the rest carry over). */
function dropStoredZeros(param: NamedParameter, optimizer: Optimizer | null): void {
  const m = param.sparse!;
  const values = m.values.toArray();
  const rowPtr = new Int32Array(m.rows + 1);
  const kept: number[] = [];
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) if (values[p] !== 0) kept.push(p);
    rowPtr[r + 1] = kept.length;
  }
  if (kept.length === values.length) return;
  const colIdx = Int32Array.from(kept, (p) => m.colIdx[p]);
  replaceSparseStructure(param, optimizer, rowPtr, colIdx, Int32Array.from(kept));
}

/** Masks the zeros of a dense weight so that training keeps them zero; their optimizer state restarts at zero. */
function maskZeros(model: Model, index: number, param: NamedParameter, zeros: number[], optimizer: Optimizer | null): void {
  const layer = model.net.layers[index];
  const mask = new Float32Array(param.tensor.size).fill(1);
  if (param.mask) mask.set(param.mask.data);
  for (const i of zeros) mask[i] = 0;
  const grad = param.tensor.grad?.data;
  if (grad) for (const i of zeros) grad[i] = 0;
  optimizer?.resetEntries(param.tensor, zeros);
  if (layer instanceof Linear) {
    layer.setMask(tensor(mask, param.tensor.shape));
  } else if (layer instanceof Conv2d) {
    // Conv2d has no setMask; its forward multiplies by `mask` the same way.
    layer.mask?.dispose();
    layer.mask = keep(tensor(mask, param.tensor.shape));
  } else {
    throw new Error(`${param.name}: ${layer.describe()} cannot hold a mask`);
  }
}

/**
 * For each weight layer in `indices`: thresholds to exact zeros, fixes them (CSR structure, or a
 * mask with `options.mask`), and converts layers at or below `csrBelow` density to CSR (SparseLinear
 * or sparse Conv2d, same names). Gated layers must be folded first. Returns the per-layer report.
 */
export function sparsifyLayers(model: Model, indices: number[], optimizer: Optimizer | null, options: SparsifyOptions): LayerSparsity[] {
  return indices.map((index) => {
    if (model.net.layers[index] instanceof GatedLayer) throw new Error(`layers.${index}: fold its gates before thresholding`);
    let param = weightOf(model, index);
    const zeros = thresholdToZeros(param.tensor.data, options.threshold);
    if (param.sparse) {
      dropStoredZeros(param, optimizer);
    } else if (zeros.length > 0) {
      const density = 1 - zeros.length / param.tensor.size;
      if (options.mask || density <= options.csrBelow) maskZeros(model, index, weightOf(model, index), zeros, optimizer);
      if (density <= options.csrBelow) convertLayerToCsr(model, index, optimizer);
    }
    param = weightOf(model, index);
    return layerSparsity(param);
  });
}

/** One line per layer for logs: "layers.0.weight: csr, 12345/235200 non-zero (density 5.25%)". */
export function formatSparsityReport(report: LayerSparsity[]): string {
  const nonzero = report.reduce((s, l) => s + l.nonzero, 0), total = report.reduce((s, l) => s + l.total, 0);
  const lines = report.map((l) => `  ${l.name}: ${l.storage}, ${l.nonzero}/${l.total} non-zero (density ${(100 * l.density).toFixed(2)}%)`);
  lines.push(`  regularized weights: ${nonzero}/${total} non-zero (sparsity ${(100 * (1 - nonzero / Math.max(1, total))).toFixed(2)}%)`);
  return lines.join("\n");
}
