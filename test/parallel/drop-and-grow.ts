// Test helper: a deterministic drop-and-grow structure change of a sparse weight, checked against the invariants.
import assert from "node:assert/strict";
import type { NamedParameter } from "../../src/nn/sequential.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { replaceSparseStructure } from "../../src/sparse/structure.js";

/** Drops the last stored entry of every row and grows the smallest absent column (at zero), as a drop-and-grow update would. */
export function dropAndGrow(param: NamedParameter, optimizer: Optimizer): void {
  const { rowPtr, colIdx, rows, nnz } = param.sparse!;
  const newRowPtr = new Int32Array(rows + 1);
  const newColIdx: number[] = [];
  const source: number[] = [];
  for (let i = 0; i < rows; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1];
    const entries: [number, number][] = [];
    for (let p = start; p < end - 1; p++) entries.push([colIdx[p], p]);
    if (end > start) {
      const present = new Set(colIdx.subarray(start, end));
      let grown = 0;
      while (present.has(grown)) grown++;
      entries.push([grown, -1]);
      entries.sort((a, b) => a[0] - b[0]);
    }
    for (const [c, p] of entries) {
      newColIdx.push(c);
      source.push(p);
    }
    newRowPtr[i + 1] = newColIdx.length;
  }
  const next = replaceSparseStructure(param, optimizer, newRowPtr, newColIdx, Int32Array.from(source));
  next.validate();
  assert.equal(next.nnz, nnz, "drop-and-grow keeps the number of non-zeros");
}
