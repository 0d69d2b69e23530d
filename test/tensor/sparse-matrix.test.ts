// SparseMatrix: constructors, round trips through dense, random structures and every validation error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { heapStats } from "../../src/backend/heap.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix, validateCsr } from "../../src/tensor/sparse-matrix.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

// [[0, 1.5, 0, 0], [0, 0, 0, 0], [-2, 0, 0, 3]]: row 1 empty.
const DENSE = [0, 1.5, 0, 0, 0, 0, 0, 0, -2, 0, 0, 3];

test("fromDense keeps the non-zeros in CSR order and toDense restores the matrix", () => {
  const w = SparseMatrix.fromDense(tensor(DENSE, [3, 4]));
  assert.equal(w.rows, 3);
  assert.equal(w.cols, 4);
  assert.equal(w.nnz, 3);
  assert.deepEqual(Array.from(w.rowPtr), [0, 1, 1, 3]);
  assert.deepEqual(Array.from(w.colIdx), [1, 0, 3]);
  assert.deepEqual(Array.from(w.values.data), [1.5, -2, 3]);
  assert.deepEqual(w.values.shape, [3]);
  assert.equal(w.density, 3 / 12);
  assert.deepEqual(Array.from(w.toDense().data), DENSE);
  assert.deepEqual(w.toDense().shape, [3, 4]);
  assert.deepEqual(Array.from(w.toMask().data), [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1]);
  w.validate();
  w.dispose();
});

test("fromDense accepts a flat array with its shape and rejects wrong shapes", () => {
  const w = SparseMatrix.fromDense(Float32Array.from(DENSE), [3, 4]);
  assert.deepEqual(Array.from(w.toDense().data), DENSE);
  assert.throws(() => SparseMatrix.fromDense(Float32Array.from(DENSE)), /needs its shape \[rows, cols\]/);
  assert.throws(() => SparseMatrix.fromDense(Float32Array.from(DENSE), [2, 4]), /12 values do not fill shape \[2, 4\]/);
  assert.throws(() => SparseMatrix.fromDense(tensor(DENSE, [3, 2, 2])), /shape \[3, 2, 2\] must be 2-D \[rows, cols\]/);
});

test("fromMask keeps masked positions even where the value is zero, and only those", () => {
  const mask = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
  const w = SparseMatrix.fromMask(tensor(DENSE, [3, 4]), tensor(mask, [3, 4]));
  assert.deepEqual(Array.from(w.rowPtr), [0, 2, 3, 4]);
  assert.deepEqual(Array.from(w.colIdx), [0, 1, 3, 3]);
  assert.deepEqual(Array.from(w.values.data), [0, 1.5, 0, 3]);
  assert.deepEqual(Array.from(w.toMask().data), mask);
  assert.deepEqual(Array.from(w.toDense().data), [0, 1.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
  assert.throws(() => SparseMatrix.fromMask(tensor(DENSE, [3, 4]), tensor(mask, [4, 3])), /mask shape \[4, 3\] differs from the values' \[3, 4\]/);
});

test("fromCSR copies valid arrays; empty shapes and empty matrices work", () => {
  const w = SparseMatrix.fromCSR({ rows: 2, cols: 3, rowPtr: [0, 0, 2], colIdx: [0, 2], values: [4, 5] });
  assert.deepEqual(Array.from(w.toDense().data), [0, 0, 0, 4, 0, 5]);
  const none = SparseMatrix.fromCSR({ rows: 2, cols: 2, rowPtr: [0, 0, 0], colIdx: [], values: [] });
  assert.equal(none.nnz, 0);
  assert.deepEqual(Array.from(none.toDense().data), [0, 0, 0, 0]);
  const noRows = SparseMatrix.fromCSR({ rows: 0, cols: 5, rowPtr: [0], colIdx: [], values: [] });
  assert.equal(noRows.density, 0);
  assert.deepEqual(noRows.toDense().shape, [0, 5]);
});

test("validation names every problem", () => {
  const csr = (rowPtr: number[], colIdx: number[], values = colIdx.map(() => 1), rows = rowPtr.length - 1, cols = 1000) => () =>
    SparseMatrix.fromCSR({ rows, cols, rowPtr, colIdx, values });
  assert.throws(csr([1, 1], [0]), /row pointers must start at 0/);
  const rising = [0, 2, 4, 6, 8, 10, 8, 10];
  assert.throws(csr(rising, Array.from({ length: 10 }, (_, i) => i)), /rowPtr\[5\]=10 > rowPtr\[6\]=8 \(row pointers must not decrease\)/);
  const cols = Array.from({ length: 20 }, (_, i) => i);
  cols[17] = 1003;
  assert.throws(csr([0, 8, 16, 20], cols), /column index 1003 at position 17 \(row 2\) out of range \[0, 1000\)/);
  assert.throws(csr([0, 1], [-1]), /column index -1 at position 0 \(row 0\) out of range \[0, 1000\)/);
  const repeated = Array.from({ length: 12 }, (_, i) => i + 4);
  repeated[9] = 12; // position 8 holds 12 too
  assert.throws(csr([0, 2, 4, 6, 8, 12], repeated), /column indices of row 4 not strictly increasing at position 9 \(12 after 12\)/);
  assert.throws(csr([0, 2], [5, 3]), /column indices of row 0 not strictly increasing at position 1 \(3 after 5\)/);
  assert.throws(csr([0, NaN], []), /rowPtr\[1\] = NaN is not an integer/);
  assert.throws(csr([0, 1.5], [0]), /rowPtr\[1\] = 1.5 is not an integer/);
  assert.throws(csr([0, 1], [NaN]), /column index NaN at position 0 \(row 0\) is not an integer/);
  assert.throws(csr([0, 1], [0.5]), /column index 0.5 at position 0 \(row 0\) is not an integer/);
  assert.throws(csr([0, 1, 2], [0, 1], [1, 1], 3), /rowPtr has 3 entries, expected rows \+ 1 = 4/);
  assert.throws(csr([0, 1, 3], [0, 1]), /colIdx has 2 entries but rowPtr\[2\] = 3/);
  assert.throws(csr([0, 1, 2], [0, 1], [1]), /values has 1 entries but there are 2 non-zeros/);
  assert.throws(csr([0], [], [], 0, -1), /shape \[0, -1\] must be two integers >= 0/);
  assert.throws(() => validateCsr(1, 2.5, [0, 0], [], 0), /must be two integers >= 0/);
});

test("validate() re-checks the heap arrays (e.g. after a caller wrote into the views)", () => {
  const w = SparseMatrix.fromDense(tensor(DENSE, [3, 4]));
  w.validate();
  w.colIdx[2] = 7;
  assert.throws(() => w.validate(), /column index 7 at position 2 \(row 2\) out of range \[0, 4\)/);
  w.colIdx[2] = 0;
  assert.throws(() => w.validate(), /column indices of row 2 not strictly increasing at position 2 \(0 after 0\)/);
  w.dispose();
});

test("random: exactly round(density·rows·cols) sorted positions, deterministic for the Rng, roughly uniform", () => {
  const a = SparseMatrix.random(30, 50, 0.1, new Rng(5, "structure"));
  const b = SparseMatrix.random(30, 50, 0.1, new Rng(5, "structure"));
  const c = SparseMatrix.random(30, 50, 0.1, new Rng(6, "structure"));
  assert.equal(a.nnz, 150);
  a.validate();
  assert.deepEqual(Array.from(a.colIdx), Array.from(b.colIdx));
  assert.deepEqual(Array.from(a.rowPtr), Array.from(b.rowPtr));
  assert.notDeepEqual(Array.from(a.colIdx), Array.from(c.colIdx));
  assert.ok(a.values.data.every((v) => v === 0), "values start at zero without init");
  for (const density of [0, 0.013, 0.5, 0.999, 1]) {
    const w = SparseMatrix.random(7, 13, density, new Rng(1));
    assert.equal(w.nnz, Math.round(density * 91), `density ${density}`);
    w.validate();
  }
  assert.throws(() => SparseMatrix.random(3, 3, 1.5, new Rng(1)), /density must be in \[0, 1\], got 1.5/);
  // Uniform positions: over many draws every cell of a 4×5 matrix at density 0.25 is kept about 25% of the time.
  const counts = new Float64Array(20);
  const rng = new Rng(9, "uniformity");
  const draws = 2000;
  for (let d = 0; d < draws; d++) {
    const w = SparseMatrix.random(4, 5, 0.25, rng);
    const mask = w.toMask().data;
    for (let i = 0; i < 20; i++) counts[i] += mask[i];
    w.dispose();
  }
  for (let i = 0; i < 20; i++) {
    // Binomial(2000, 0.25): standard deviation ≈ 19.4; allow 5σ.
    assert.ok(Math.abs(counts[i] - 500) < 97, `cell ${i} kept ${counts[i]} times of ${draws}, expected about 500`);
  }
});

test("fromCSR adopts a values tensor (gradients reach it) and checks its shape", () => {
  const values = tensor([1, 2]);
  const w = SparseMatrix.fromCSR({ rows: 1, cols: 3, rowPtr: [0, 2], colIdx: [0, 2], values });
  assert.equal(w.values, values);
  assert.throws(
    () => SparseMatrix.fromCSR({ rows: 1, cols: 3, rowPtr: [0, 2], colIdx: [0, 2], values: tensor([1, 2], [2, 1]) }),
    /values tensor has shape \[2, 1\], expected \[nnz\]/,
  );
  assert.throws(() => SparseMatrix.fromCSR({ rows: 1, cols: 3, rowPtr: [0, 2], colIdx: [0, 2], values: tensor([1, 2, 3]) }), /values has 3 entries but there are 2 non-zeros/);
  w.dispose();
});

test("random: init fills the values", () => {
  const w = SparseMatrix.random(10, 10, 0.3, new Rng(2), (values) => values.data.fill(0.5));
  assert.ok(w.values.data.every((v) => v === 0.5));
});

test("clone copies structure and values independently; withStructure keeps requiresGrad and name", () => {
  const w = SparseMatrix.fromDense(tensor(DENSE, [3, 4]));
  w.values.requiresGrad = true;
  w.values.name = "layers.0.weight";
  const copy = w.clone();
  copy.values.data[0] = 99;
  copy.colIdx[0] = 2;
  assert.equal(w.values.data[0], 1.5);
  assert.equal(w.colIdx[0], 1);
  assert.equal(copy.values.requiresGrad, false);
  const next = w.withStructure([0, 2, 2, 2], [0, 3], [7, 8]);
  assert.deepEqual(Array.from(next.toDense().data), [7, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(next.values.requiresGrad, true);
  assert.equal(next.values.name, "layers.0.weight");
  assert.deepEqual(Array.from(w.toDense().data), DENSE, "the original is unchanged");
  assert.throws(() => w.withStructure([0, 2, 2, 2], [3, 0], [7, 8]), /not strictly increasing/);
});

test("a matrix owns its values outside tidy scopes; dispose frees everything", () => {
  const before = heapStats().bytesInUse;
  const created: SparseMatrix[] = [];
  tidy(() => {
    created.push(SparseMatrix.random(20, 20, 0.5, new Rng(3)));
  });
  const w = created[0];
  assert.equal(w.values.isDisposed, false, "values survive the tidy scope that created the matrix");
  w.dispose();
  assert.equal(w.values.isDisposed, true);
  assert.equal(heapStats().bytesInUse, before);
  assert.throws(() => w.rowPtr, /SparseMatrix 20×20 \(nnz 200\) was used after dispose\(\)/);
});

test("random on a layer of more than 2^32 positions draws its exact count of distinct sorted positions", () => {
  const draw = () => SparseMatrix.random(100_000, 100_000, 1e-5, new Rng(3, "big-layer"));
  const w = draw();
  try {
    assert.equal(w.nnz, 100_000);
    w.validate(); // sorted, in range, no repeats within a row
    const again = draw();
    try {
      assert.deepEqual(Array.from(again.colIdx), Array.from(w.colIdx), "same seed, same positions");
      assert.deepEqual(Array.from(again.rowPtr), Array.from(w.rowPtr));
    } finally {
      again.dispose();
    }
    // Roughly uniform over rows: 10^5 draws over 10^5 rows, so about one per row and few empty rows beyond e^-1.
    const emptyRows = Array.from({ length: 100_000 }, (_, r) => w.rowPtr[r + 1] === w.rowPtr[r]).filter(Boolean).length;
    assert.ok(Math.abs(emptyRows / 100_000 - Math.exp(-1)) < 0.01, `empty rows ${emptyRows}`);
  } finally {
    w.dispose();
  }
});

test("Rng.bigInt covers [0, n) for n beyond 2^32 and rejects bad n", () => {
  const rng = new Rng(1, "big-int");
  const n = 3 * 2 ** 40 + 7;
  let max = 0, min = n;
  for (let i = 0; i < 20_000; i++) {
    const x = rng.bigInt(n);
    assert.ok(Number.isInteger(x) && x >= 0 && x < n);
    max = Math.max(max, x);
    min = Math.min(min, x);
  }
  assert.ok(max > 0.99 * n && min < 0.01 * n, `range [${min}, ${max}]`);
  assert.throws(() => rng.bigInt(0), /Rng.bigInt: n must be an integer in \[1, 2\^53\], got 0/);
  assert.throws(() => rng.bigInt(2 ** 54), /got 18014398509481984/);
});
