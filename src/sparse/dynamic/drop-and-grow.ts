// The one swap routine every dynamic method shares: drop the stored connections with the lowest drop score, grow new ones where a grow rule says.
//
// Methods differ only in their scores (SET: drop smallest |w|, grow at random; RigL: grow
// largest |dense gradient|; SNFS and DSR: also move counts between layers), as in RigL's
// `SparseRigLOptimizer`. Grown positions are never stored ones, and the stored ones include those
// dropped now, so a connection dropped at this update cannot be regrown by it (dropped ∩ grown = ∅).
// Grown weights start at zero with zero optimizer state and, for Adam, a step count of zero, so
// their first update is a first Adam step (`replaceSparseStructure`, `Optimizer.remapParameter`).
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { replaceSparseStructure } from "../structure.js";

/** Chooses up to `count` positions (row·cols + col) that are not stored in the parameter's CSR. */
export type GrowRule = (param: NamedParameter, count: number) => Float64Array;

export interface SwapPlan {
  /** Stored entries to drop: the `dropCount` lowest `dropScores` (one per stored value). */
  dropCount: number;
  dropScores: ArrayLike<number>;
  /** New connections to grow (must be delivered exactly by `grow`). */
  growCount: number;
  grow: GrowRule;
}

/** What one swap did, for logs and invariant tests. Positions are row·cols + col. */
export interface SwapResult {
  name: string;
  dropped: Float64Array;
  grown: Float64Array;
  nnzBefore: number;
  nnzAfter: number;
}

/** |w| of every stored value: the drop score of SET, RigL and SNFS (the smallest go). */
export function magnitudeScores(values: Float32Array): Float32Array {
  const scores = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) scores[i] = Math.abs(values[i]);
  return scores;
}

/** Indices of the `count` lowest scores (ties to the lower index), in ascending index order. */
export function lowestScores(scores: ArrayLike<number>, count: number): Int32Array {
  if (count <= 0) return new Int32Array(0);
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[a] - scores[b] || a - b);
  return order.subarray(0, count).sort();
}

/** True when column `col` is stored in row `row` (binary search in the row's sorted columns). */
export function isStored(rowPtr: Int32Array, colIdx: Int32Array, row: number, col: number): boolean {
  let lo = rowPtr[row], hi = rowPtr[row + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = colIdx[mid];
    if (c === col) return true;
    if (c < col) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Drops and grows connections of one sparse weight as planned; returns what changed. */
export function dropAndGrow(param: NamedParameter, optimizer: Optimizer | null, plan: SwapPlan): SwapResult {
  const matrix = param.sparse;
  if (matrix === undefined) throw new Error(`${param.name} is not a sparse weight`);
  const { rows, cols, nnz } = matrix;
  if (plan.dropScores.length !== nnz) throw new RangeError(`${param.name}: ${plan.dropScores.length} drop scores for ${nnz} stored values`);
  if (!(plan.dropCount >= 0 && plan.dropCount <= nnz)) throw new RangeError(`${param.name}: cannot drop ${plan.dropCount} of ${nnz} connections`);
  // Copies: the heap views move when the heap grows, and the old matrix is disposed below.
  const rowPtr = Int32Array.from(matrix.rowPtr);
  const colIdx = Int32Array.from(matrix.colIdx);

  const dropIndices = lowestScores(plan.dropScores, plan.dropCount);
  const isDropped = new Uint8Array(nnz);
  for (const p of dropIndices) isDropped[p] = 1;
  const dropped = new Float64Array(dropIndices.length);
  let row = 0;
  dropIndices.forEach((p, k) => {
    while (rowPtr[row + 1] <= p) row++;
    dropped[k] = row * cols + colIdx[p];
  });

  const grown = Float64Array.from(plan.growCount > 0 ? plan.grow(param, plan.growCount) : []).sort();
  if (grown.length !== plan.growCount) throw new Error(`${param.name}: the grow rule found ${grown.length} free positions, ${plan.growCount} were needed`);
  for (let g = 0; g < grown.length; g++) {
    const r = Math.floor(grown[g] / cols), c = grown[g] - r * cols;
    if (r >= rows || isStored(rowPtr, colIdx, r, c) || (g > 0 && grown[g] === grown[g - 1])) {
      throw new Error(`${param.name}: the grow rule chose position (${r}, ${c}) twice, out of range or already stored`);
    }
  }

  // Merge kept and grown entries row by row, columns ascending.
  const newNnz = nnz - dropIndices.length + grown.length;
  const newRowPtr = new Int32Array(rows + 1);
  const newColIdx = new Int32Array(newNnz);
  const source = new Int32Array(newNnz);
  let out = 0, g = 0;
  for (let i = 0; i < rows; i++) {
    let p = rowPtr[i];
    const end = rowPtr[i + 1];
    const rowEnd = (i + 1) * cols;
    for (;;) {
      while (p < end && isDropped[p]) p++;
      const hasOld = p < end;
      const hasNew = g < grown.length && grown[g] < rowEnd;
      if (!hasOld && !hasNew) break;
      const newCol = hasNew ? grown[g] - i * cols : cols;
      if (hasOld && colIdx[p] < newCol) {
        newColIdx[out] = colIdx[p];
        source[out++] = p++;
      } else {
        newColIdx[out] = newCol;
        source[out++] = -1;
        g++;
      }
    }
    newRowPtr[i + 1] = out;
  }
  replaceSparseStructure(param, optimizer, newRowPtr, newColIdx, source);
  return { name: param.name, dropped, grown, nnzBefore: nnz, nnzAfter: newNnz };
}
