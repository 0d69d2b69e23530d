// Changing the structure of a sparse weight: the new CSR keeps the values and optimizer state of surviving entries, new entries start at zero.
import { hasSparseWeight } from "../nn/layer.js";
import type { NamedParameter } from "../nn/sequential.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { SparseMatrix } from "../tensor/sparse-matrix.js";

/**
 * Replaces the CSR structure of the sparse parameter `param` by (rowPtr, colIdx). `source[i]` is the
 * index in the old values that entry i keeps (value and optimizer state), or −1 for a new entry,
 * which starts at zero with zero optimizer state. The structure is validated; the old matrix is
 * disposed. Call it between optimizer steps (after backward and step), never inside a forward pass.
 */
export function replaceSparseStructure(
  param: NamedParameter,
  optimizer: Optimizer | null,
  rowPtr: ArrayLike<number>,
  colIdx: ArrayLike<number>,
  source: Int32Array,
): SparseMatrix {
  const old = param.sparse;
  if (old === undefined) throw new Error(`${param.name} is not a sparse weight`);
  if (!hasSparseWeight(param.layer)) throw new Error(`layer of ${param.name} cannot change its sparse structure`);
  if (source.length !== colIdx.length) {
    throw new RangeError(`${param.name}: ${source.length} source indices for ${colIdx.length} new entries`);
  }
  const oldValues = old.values.data;
  const values = new Float32Array(colIdx.length);
  for (let i = 0; i < source.length; i++) {
    const s = source[i];
    if (s >= oldValues.length) throw new RangeError(`${param.name}: source index ${s} out of range [0, ${oldValues.length})`);
    values[i] = s >= 0 ? oldValues[s] : 0;
  }
  const next = old.withStructure(rowPtr, colIdx, values);
  optimizer?.remapParameter(old.values, next.values, source);
  param.layer.setSparseWeight(next);
  return next;
}
