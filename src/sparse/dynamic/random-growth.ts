// SET's and DSR's grow rule: new connections at uniformly random free positions of a sparse weight.
import type { NamedParameter } from "../../nn/sequential.js";
import type { Rng } from "../../tensor/rng.js";
import { isStored, type GrowRule } from "./drop-and-grow.js";

/**
 * A grow rule drawing `count` distinct free positions uniformly at random from `rngFor(param)`.
 * Below half density it draws (row, col) pairs and rejects stored or repeated ones (expected
 * draws < 2·count, memory O(count)); at half density or more it lists the free positions, which
 * are then fewer than the stored ones, and picks from them (partial Fisher–Yates).
 */
export function randomGrowth(rngFor: (param: NamedParameter) => Rng): GrowRule {
  return (param, count) => {
    const matrix = param.sparse!;
    const { rows, cols, nnz } = matrix;
    const size = rows * cols;
    if (count > size - nnz) throw new RangeError(`${param.name}: cannot grow ${count} connections, only ${size - nnz} positions are free`);
    const rng = rngFor(param);
    const rowPtr = matrix.rowPtr, colIdx = matrix.colIdx;
    const chosen = new Float64Array(count);
    if (2 * nnz < size) {
      const taken = new Set<number>();
      for (let k = 0; k < count;) {
        const r = rng.int(rows), c = rng.int(cols);
        const position = r * cols + c;
        if (taken.has(position) || isStored(rowPtr, colIdx, r, c)) continue;
        taken.add(position);
        chosen[k++] = position;
      }
      return chosen;
    }
    const free = new Float64Array(size - nnz);
    let f = 0;
    for (let r = 0; r < rows; r++) {
      let p = rowPtr[r];
      for (let c = 0; c < cols; c++) {
        if (p < rowPtr[r + 1] && colIdx[p] === c) p++;
        else free[f++] = r * cols + c;
      }
    }
    for (let k = 0; k < count; k++) {
      const j = k + rng.int(free.length - k);
      const t = free[k];
      free[k] = free[j];
      free[j] = t;
      chosen[k] = free[k];
    }
    return chosen;
  };
}
