// Selectors against hand-computed torch.nn.utils.prune results: amount rounding, repeated pruning, global, ln_structured, N:M, errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { groupNorms, magnitudeScores } from "../../src/sparse/criteria.js";
import {
  expandGroups, parseNM, prunedCount, roundHalfEven, selectGlobal, selectNM, selectStructured, selectUnstructured,
} from "../../src/sparse/selectors.js";

test("amounts round like Python's round (half to even), as torch's _compute_nparams_toprune", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, 2, 3]);
  assert.equal(prunedCount(0.5, 5), 2); // round(2.5) = 2
  assert.equal(prunedCount(0.3, 5), 2); // round(1.5) = 2
  assert.equal(prunedCount(0.1, 5), 0); // round(0.5) = 0
  assert.equal(prunedCount(0.9, 266200), 239580);
  assert.equal(prunedCount({ count: 3 }, 5), 3); // torch's int amount is a count
  assert.equal(prunedCount(1, 7), 7);
  assert.equal(prunedCount(0, 7), 0);
});

test("bad amounts are errors that name the option and what is allowed", () => {
  assert.throws(() => prunedCount(1.5, 10, "--amount"), /--amount must be in \[0, 1\], got 1\.5/);
  assert.throws(() => prunedCount(-0.1, 10), /amount must be in \[0, 1\]/);
  assert.throws(() => prunedCount({ count: 11 }, 10), /cannot prune 11 of 10/);
  assert.throws(() => parseNM("4:2", "--nm"), /--nm must be N:M with 1 <= N <= M/);
  assert.deepEqual(parseNM("2:4"), { n: 2, m: 4 });
});

test("l1_unstructured: prunes round(amount·n) lowest |w|; ties go by index", () => {
  const w = [0.1, -0.5, 0.3, 0.05, -0.2];
  assert.deepEqual([...selectUnstructured(magnitudeScores(w), 0.4)], [0, 1, 1, 0, 1]);
  assert.deepEqual([...selectUnstructured([1, 1, 1, 1], 0.5)], [0, 0, 1, 1]);
});

test("repeated pruning applies the new amount to the entries still alive (torch's PruningContainer)", () => {
  const w = [0.1, -0.5, 0.3, 0.05, -0.2];
  const first = selectUnstructured(magnitudeScores(w), 0.4); // 2 pruned, 3 alive
  const alive = w.filter((_, i) => first[i]);
  const second = selectUnstructured(magnitudeScores(alive), 0.5); // round(1.5) = 2 of the 3
  assert.deepEqual([...second], [1, 0, 0]); // alive [-0.5, 0.3, -0.2]: keeps -0.5 only
});

test("global_unstructured: one ranking over all layers, exact total; minKeep protects a layer", () => {
  const keeps = selectGlobal([[1, 2, 3], [0.5, 4]], 0.4);
  assert.deepEqual(keeps.map((k) => [...k]), [[0, 1, 1], [0, 1]]);
  const protectedKeeps = selectGlobal([[1, 2, 3], [0.5, 4]], 0.4, [0, 2]);
  assert.deepEqual(protectedKeeps.map((k) => [...k]), [[0, 0, 1], [1, 1]]);
  assert.throws(() => selectGlobal([[1], [2]], 1, [1, 1]), /minimum kept/);
});

test("ln_structured: norms over the other dims; prunes round(amount·groups) groups with the lowest norm", () => {
  const w = [1, 1, 3, 0, 0.5, 0.5]; // 3×2
  const positions = [0, 1, 2, 3, 4, 5];
  const rowNorms = groupNorms(w, positions, [3, 2], 0, 2);
  assert.deepEqual([...rowNorms].map((v) => +v.toFixed(4)), [1.4142, 3, 0.7071]);
  assert.deepEqual([...selectStructured(rowNorms, [1, 1, 1], 0.34)], [1, 1, 0]);
  const colNorms = groupNorms(w, positions, [3, 2], 1, 1);
  assert.deepEqual([...colNorms], [4.5, 1.5]);
  const keepCols = selectStructured(colNorms, [1, 1], 0.5);
  assert.deepEqual([...keepCols], [1, 0]);
  assert.deepEqual([...expandGroups([0, 1, 0, 1, 0, 1], keepCols)], [1, 0, 1, 0, 1, 0]);
  // A pruned group stays pruned and does not count: 0.5 of the 2 alive rows = round(1) = 1 more.
  assert.deepEqual([...selectStructured(rowNorms, [1, 1, 0], 0.5)], [0, 1, 0]);
});

test("conv groups: filters are dim 0 and input channels dim 1 of [Cout, Cin, k, k]", () => {
  const shape = [2, 3, 1, 2];
  const values = Array.from({ length: 12 }, (_, i) => i);
  const positions = values.map((_, i) => i);
  assert.deepEqual([...groupNorms(values, positions, shape, 0, 1)], [0 + 1 + 2 + 3 + 4 + 5, 6 + 7 + 8 + 9 + 10 + 11]);
  assert.deepEqual([...groupNorms(values, positions, shape, 1, 1)], [0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11]);
});

test("N:M keeps the N largest of every M consecutive inputs; it needs M to divide the row", () => {
  const w = [1, -3, 2, 0.5, 4, 3, 2, 1];
  const positions = w.map((_, i) => i);
  assert.deepEqual([...selectNM(magnitudeScores(w), positions, 8, 2, 4)], [0, 1, 1, 0, 1, 1, 0, 0]);
  // Two rows of 4: each run is one row.
  assert.deepEqual([...selectNM(magnitudeScores(w), positions, 4, 1, 4)], [0, 1, 0, 0, 1, 0, 0, 0]);
  // Already-pruned entries are absent; a run with <= N alive keeps them.
  assert.deepEqual([...selectNM([5, 1, 2], [0, 5, 6], 4, 2, 4)], [1, 1, 1]);
  assert.throws(() => selectNM([1, 2, 3], [0, 1, 2], 6, 2, 4, "--nm"), /--nm 2:4: M = 4 does not divide the input dimension 6/);
});
