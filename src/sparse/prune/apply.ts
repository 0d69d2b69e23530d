// Applying a pruning decision to a weight: a mask on a dense weight, or a smaller CSR structure; pruned weights, gradients and optimizer state become zero.
import { Conv2d } from "../../nn/conv2d.js";
import { Linear } from "../../nn/linear.js";
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { keep as keepTensor, ones, tensor } from "../../tensor/tensor.js";
import { replaceSparseStructure } from "../structure.js";
import type { PrunableWeight } from "./prunable.js";

/**
 * Removes the alive entries of `weight` whose keep flag is 0. A dense or masked weight gets a
 * (new) mask with those positions 0; the weight, its gradient and the optimizer buffers there
 * become 0, so with the masked forward (zero gradient) they stay exactly 0 through SGD with momentum
 * and weight decay, Adam and AdamW. A CSR weight gets a new structure without them
 * (`replaceSparseStructure` carries values and optimizer state of the others; the gradient of the
 * current step is carried too, so pruning between backward and step loses nothing).
 * Returns the number of entries removed.
 */
export function applyKeep(weight: PrunableWeight, keep: Uint8Array, optimizer: Optimizer | null): number {
  const { param, positions } = weight;
  if (keep.length !== positions.length) throw new RangeError(`${weight.name}: ${keep.length} keep flags for ${positions.length} alive entries`);
  const dropped: number[] = [];
  for (let i = 0; i < keep.length; i++) if (keep[i] === 0) dropped.push(i);
  if (dropped.length === 0) return 0;
  if (weight.storage === "csr") removeFromCsr(param, keep, optimizer);
  else removeFromDense(param, dropped.map((i) => positions[i]), optimizer);
  return dropped.length;
}

function removeFromDense(param: NamedParameter, droppedPositions: number[], optimizer: Optimizer | null): void {
  const layer = param.layer;
  const mask = keepTensor(param.mask ? tensor(param.mask.toArray(), param.mask.shape) : ones(param.tensor.shape));
  const m = mask.data;
  for (const p of droppedPositions) m[p] = 0;
  const grad = param.tensor.grad?.data;
  if (grad) for (const p of droppedPositions) grad[p] = 0;
  optimizer?.resetEntries(param.tensor, droppedPositions);
  if (layer instanceof Linear || layer instanceof Conv2d) {
    layer.setMask(mask);
  } else {
    mask.dispose();
    throw new Error(`${param.name}: ${layer.describe()} cannot hold a mask`);
  }
}

function removeFromCsr(param: NamedParameter, keep: Uint8Array, optimizer: Optimizer | null): void {
  const old = param.sparse!;
  const oldRowPtr = old.rowPtr, oldColIdx = old.colIdx;
  const rowPtr = new Int32Array(old.rows + 1);
  let count = 0;
  for (let p = 0; p < keep.length; p++) if (keep[p]) count++;
  const source = new Int32Array(count), colIdx = new Int32Array(count);
  let k = 0;
  for (let r = 0; r < old.rows; r++) {
    for (let p = oldRowPtr[r]; p < oldRowPtr[r + 1]; p++) {
      if (!keep[p]) continue;
      source[k] = p;
      colIdx[k++] = oldColIdx[p];
    }
    rowPtr[r + 1] = k;
  }
  const oldGrad = old.values.grad?.data;
  const grad = oldGrad ? Float32Array.from(source, (p) => oldGrad[p]) : null;
  const next = replaceSparseStructure(param, optimizer, rowPtr, colIdx, source);
  if (grad) next.values.grad = keepTensor(tensor(grad, [grad.length]));
}

/**
 * Checks what must hold after every mask or structure update: masks are binary, masked-out weights
 * are exactly 0, CSR structures are valid. Throws naming the parameter and position.
 */
export function checkPruneInvariants(parameters: NamedParameter[]): void {
  for (const p of parameters) {
    if (p.sparse) {
      p.sparse.validate();
      continue;
    }
    if (!p.mask) continue;
    const m = p.mask.data, w = p.tensor.data;
    if (m.length !== w.length) throw new Error(`${p.name}: mask has ${m.length} entries for ${w.length} weights`);
    for (let i = 0; i < m.length; i++) {
      if (m[i] !== 0 && m[i] !== 1) throw new Error(`${p.name}: mask is not binary (${m[i]} at ${i})`);
      if (m[i] === 0 && w[i] !== 0) throw new Error(`${p.name}: pruned weight at ${i} is ${w[i]}, not 0`);
    }
  }
}
