// A weight seen by the pruner: its alive entries (dense positions, values, gradients) whether it is stored dense, masked or as CSR.
import { Conv2d } from "../../nn/conv2d.js";
import { Linear } from "../../nn/linear.js";
import type { NamedParameter } from "../../nn/sequential.js";
import { SparseLinear } from "../../nn/sparse-linear.js";

export type WeightKind = "Linear" | "Conv2d";

/**
 * The alive entries of one weight, in ascending dense position (row-major over `shape`). A dense
 * weight without a mask has every entry alive; a masked weight the entries where the mask is 1; a
 * CSR weight its stored entries (in CSR order, which is ascending position).
 */
export interface PrunableWeight {
  param: NamedParameter;
  name: string;
  kind: WeightKind;
  /** PyTorch weight shape: [out, in] or [Cout, Cin, k, k]. */
  shape: number[];
  /** Entries of the dense weight (product of `shape`). */
  size: number;
  /** Inputs per output row: in, or Cin·k·k. */
  rowLength: number;
  /** Row-major positions, float64: a CSR weight's rows·cols can exceed 2^31 (a 10⁵×10⁵ layer has 10¹⁰). */
  positions: Float64Array;
  values: Float32Array;
  /** Gradients at the alive entries, when a backward pass has filled them. */
  grads: Float32Array | null;
  storage: "dense" | "masked" | "csr";
}

/** Whether a parameter is a weight the pruner can work on (Linear, SparseLinear, Conv2d). */
export function isPrunableWeight(param: NamedParameter): boolean {
  return param.name.endsWith(".weight") && (param.layer instanceof Linear || param.layer instanceof SparseLinear || param.layer instanceof Conv2d);
}

/** The PyTorch shape of a prunable weight. */
export function weightShape(param: NamedParameter): number[] {
  const layer = param.layer;
  if (layer instanceof Conv2d) return layer.weightShape;
  if (layer instanceof Linear || layer instanceof SparseLinear) return [layer.outFeatures, layer.inFeatures];
  throw new Error(`${param.name}: ${layer.describe()} has no prunable weight`);
}

/** Reads the alive entries of a prunable weight. */
export function readPrunable(param: NamedParameter): PrunableWeight {
  const shape = weightShape(param);
  const size = shape.reduce((a, b) => a * b, 1);
  const rowLength = size / shape[0];
  const kind: WeightKind = param.layer instanceof Conv2d ? "Conv2d" : "Linear";
  const grad = param.tensor.grad?.data ?? null;
  if (param.sparse) {
    const m = param.sparse;
    const positions = new Float64Array(m.nnz);
    const rowPtr = m.rowPtr, colIdx = m.colIdx;
    for (let r = 0; r < m.rows; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) positions[p] = r * m.cols + colIdx[p];
    return { param, name: param.name, kind, shape, size, rowLength, positions, values: m.values.toArray(), grads: grad ? grad.slice() : null, storage: "csr" };
  }
  const w = param.tensor.data;
  if (!param.mask) {
    const positions = new Float64Array(size);
    for (let i = 0; i < size; i++) positions[i] = i;
    return { param, name: param.name, kind, shape, size, rowLength, positions, values: w.slice(), grads: grad ? grad.slice() : null, storage: "dense" };
  }
  const mask = param.mask.data;
  let alive = 0;
  for (let i = 0; i < size; i++) if (mask[i] !== 0) alive++;
  const positions = new Float64Array(alive), values = new Float32Array(alive);
  const grads = grad ? new Float32Array(alive) : null;
  for (let i = 0, j = 0; i < size; i++) {
    if (mask[i] === 0) continue;
    positions[j] = i;
    values[j] = w[i];
    if (grads) grads[j] = grad![i];
    j++;
  }
  return { param, name: param.name, kind, shape, size, rowLength, positions, values, grads, storage: "masked" };
}

/** Fraction of a weight's dense entries that are alive. */
export function aliveDensity(weight: PrunableWeight): number {
  return weight.positions.length / weight.size;
}
