// sparseMatmul: forward and gradients vs finite differences, equality with the masked dense product, and shape errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { sparseMatmul } from "../../src/autograd/ops/sparse-matmul.js";
import { kernelBackend, setKernelBackend, type KernelBackend } from "../../src/backend/kernels.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { tensor, tidy, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

/** Runs `fn` once with each kernel backend, restoring the active one. */
function onEachBackend(fn: (backend: KernelBackend) => void): void {
  const previous = kernelBackend();
  try {
    for (const backend of ["reference", "wasm"] as const) {
      setKernelBackend(backend);
      fn(backend);
    }
  } finally {
    setKernelBackend(previous);
  }
}

/** A random CSR structure (as plain arrays) with some rows left empty. */
function randomStructure(m: number, k: number, density: number, rng: Rng): { rowPtr: number[]; colIdx: number[] } {
  const rowPtr = [0], colIdx: number[] = [];
  for (let i = 0; i < m; i++) {
    const emptyRow = m > 2 && i % 3 === 1;
    for (let c = 0; c < k; c++) if (!emptyRow && rng.uniform() < density) colIdx.push(c);
    rowPtr.push(colIdx.length);
  }
  return { rowPtr, colIdx };
}

// [M, K, B, density]: single elements, empty rows, batches not a multiple of 4 or 16, full rows.
const CASES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [3, 5, 2, 0.5],
  [7, 4, 5, 0.6],
  [17, 9, 3, 0.3],
  [4, 6, 17, 1],
  [5, 3, 33, 0.4],
];

test("sparseMatmul: forward and gradients (values and x) match finite differences", () => {
  onEachBackend(() => {
    const rng = new Rng(4, "sparse-matmul-gradcheck");
    for (const [m, k, b, density] of CASES) {
      const { rowPtr, colIdx } = randomStructure(m, k, density, rng);
      const nnz = colIdx.length;
      if (nnz === 0) continue;
      gradcheck({
        shapes: [[nnz], [k, b]],
        op: ([values, x]) => sparseMatmul(SparseMatrix.fromCSR({ rows: m, cols: k, rowPtr, colIdx, values }), x),
        reference: ([values, x]) => {
          const y = new Float64Array(m * b);
          for (let i = 0; i < m; i++) {
            for (let p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
              for (let j = 0; j < b; j++) y[i * b + j] += values[p] * x[colIdx[p] * b + j];
            }
          }
          return y;
        },
        seed: m * 100 + k,
      });
    }
  });
});

test("sparseMatmul equals the dense product with the masked matrix, with the same gradients at stored positions", () => {
  onEachBackend((backend) => {
    tidy(() => {
      const rng = new Rng(8, "sparse-vs-dense");
      const [m, k, b] = [13, 11, 7];
      const w = SparseMatrix.random(m, k, 0.3, rng.fork("structure"), (values) => values.data.forEach((_, p, d) => (d[p] = rng.uniform() * 2 - 1)));
      w.values.requiresGrad = true;
      const xValues = Float64Array.from({ length: k * b }, () => Math.fround(rng.uniform() * 2 - 1));
      const dyValues = Float64Array.from({ length: m * b }, () => Math.fround(rng.uniform() * 2 - 1));
      const x = tensor(xValues, [k, b]);
      x.requiresGrad = true;
      const y = sparseMatmul(w, x);
      backward(y, tensor(dyValues, [m, b]));

      // Dense side in plain float64 loops: Wd (M, K) is zero outside the stored positions.
      const dense = Float64Array.from(w.toDense().data);
      const mask = w.toMask().data;
      const yDense = new Float64Array(m * b);
      const dxDense = new Float64Array(k * b);
      const dwDense = new Float64Array(m * k);
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < k; c++) {
          for (let j = 0; j < b; j++) {
            yDense[i * b + j] += dense[i * k + c] * xValues[c * b + j];
            dxDense[c * b + j] += dense[i * k + c] * dyValues[i * b + j];
            dwDense[i * k + c] += dyValues[i * b + j] * xValues[c * b + j];
          }
        }
      }
      const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-5, `${backend} ${what}: sparse ${got}, dense ${want}`);
      y.data.forEach((v, i) => close(v, yDense[i], `y[${i}]`));
      x.grad!.data.forEach((v, i) => close(v, dxDense[i], `dx[${i}]`));
      // dW at stored positions only: the sparse gradient is the dense gradient masked, in CSR order.
      const dwSparse = SparseMatrix.fromMask(dwDense, mask, [m, k]);
      assert.equal(w.values.grad!.size, w.nnz);
      w.values.grad!.data.forEach((v, p) => close(v, dwSparse.values.data[p], `dvalues[${p}]`));
      dwSparse.dispose();
      w.dispose();
    });
  });
});

test("sparseMatmul computes only the gradients that are needed", () => {
  tidy(() => {
    const w = SparseMatrix.random(6, 5, 0.5, new Rng(1), (values) => values.data.fill(0.25));
    const x = zeros([5, 3]);
    x.data.fill(1);
    w.values.requiresGrad = true;
    backward(sparseMatmul(w, x), zeros([6, 3]));
    assert.ok(w.values.grad !== null);
    assert.equal(x.grad, null);

    w.values.requiresGrad = false;
    w.values.grad = null;
    x.requiresGrad = true;
    backward(sparseMatmul(w, x), zeros([6, 3]));
    assert.equal(w.values.grad, null);
    assert.deepEqual(x.grad!.shape, [5, 3]);

    x.requiresGrad = false;
    assert.equal(sparseMatmul(w, x).node, null, "no node when nothing requires a gradient");
    w.dispose();
  });
});

test("sparseMatmul: shape errors name the shapes and the expected layout", () => {
  tidy(() => {
    const w = SparseMatrix.random(4, 6, 0.5, new Rng(2));
    assert.throws(() => sparseMatmul(w, zeros([5, 3])), /sparseMatmul: input \[5, 3\] must be \[6, batch\] \(feature-major\) to multiply the 4×6 sparse weight/);
    assert.throws(() => sparseMatmul(w, zeros([6])), /input \[6\] must be \[6, batch\]/);
    assert.throws(() => sparseMatmul(w, zeros([3, 6])), /input \[3, 6\] must be \[6, batch\]/);
    assert.deepEqual(sparseMatmul(w, zeros([6, 0])).shape, [4, 0]);
    w.dispose();
    assert.throws(() => sparseMatmul(w, zeros([6, 2])), /was used after dispose\(\)/);
  });
});
