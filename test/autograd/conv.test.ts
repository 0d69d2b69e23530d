// conv2d (and sparseConv2d) against a float64 loop reference and finite differences, on both kernel backends; shape errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward, noGrad } from "../../src/autograd/engine.js";
import { conv2d } from "../../src/autograd/ops/conv.js";
import { sparseConv2d } from "../../src/autograd/ops/sparse-conv.js";
import { heapStats } from "../../src/backend/heap.js";
import { kernelBackend, setKernelBackend } from "../../src/backend/kernels.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { ones, tensor, tidy, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

type Pair = [number, number];

/** Float64 cross-correlation with zero padding, NCHW: out[n][o][i][j] = b[o] + Σ x[n][c][i·sh − ph + ki][j·sw − pw + kj]·w[o][c][ki][kj]. */
function convRef(x: Float64Array, w: Float64Array, b: Float64Array | null, [n, c, h, wd]: number[], [co, , kh, kw]: number[], [sh, sw]: Pair, [ph, pw]: Pair): Float64Array {
  const ho = Math.floor((h + 2 * ph - kh) / sh) + 1, wo = Math.floor((wd + 2 * pw - kw) / sw) + 1;
  const out = new Float64Array(n * co * ho * wo);
  for (let ni = 0; ni < n; ni++) for (let o = 0; o < co; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let sum = b ? b[o] : 0;
    for (let ci = 0; ci < c; ci++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
      const ih = i * sh - ph + ki, iw = j * sw - pw + kj;
      if (ih >= 0 && ih < h && iw >= 0 && iw < wd) sum += x[((ni * c + ci) * h + ih) * wd + iw] * w[((o * c + ci) * kh + ki) * kw + kj];
    }
    out[((ni * co + o) * ho + i) * wo + j] = sum;
  }
  return out;
}

function onBothBackends(name: string, body: () => void): void {
  for (const backend of ["wasm", "reference"] as const) {
    test(`${name} [${backend}]`, () => {
      const before = kernelBackend();
      setKernelBackend(backend);
      try {
        body();
      } finally {
        setKernelBackend(before);
      }
    });
  }
}

const asPair = (v: number | Pair): Pair => (typeof v === "number" ? [v, v] : v);

onBothBackends("conv2d matches a float64 reference and finite differences (stride, padding, bias)", () => {
  // [input shape, weight shape, stride, padding, bias]
  const cases: [number[], number[], number | Pair, number | Pair, boolean][] = [
    [[1, 1, 5, 5], [2, 1, 3, 3], 1, 0, true],
    [[1, 1, 5, 5], [2, 1, 3, 3], 1, 0, false],
    [[2, 3, 6, 5], [4, 3, 3, 3], 2, 1, false],
    [[2, 3, 7, 7], [3, 3, 3, 3], 2, 1, true],
    [[2, 2, 7, 7], [3, 2, 5, 5], 1, 2, true],
    [[1, 2, 4, 4], [1, 2, 1, 1], 1, 0, true],
    [[1, 3, 5, 9], [2, 3, 3, 2], [2, 1], [1, 0], true],
    [[3, 1, 3, 3], [2, 1, 3, 3], 1, 0, true],
  ];
  for (const [xs, ws, stride, padding, bias] of cases) {
    gradcheck({
      shapes: bias ? [xs, ws, [ws[0]]] : [xs, ws],
      op: ([x, w, b]) => conv2d(x, w, b, { stride, padding }),
      reference: ([x, w, b]) => convRef(x, w, b ?? null, xs, ws, asPair(stride), asPair(padding)),
    });
  }
});

test("conv2d errors name the op, the shapes and what was expected", () => {
  const w = zeros([4, 3, 3, 3]);
  assert.throws(() => conv2d(zeros([3, 5, 5]), w), /conv2d: input shape \[3, 5, 5\] must be 4-D \[N, C, H, W\]/);
  assert.throws(() => conv2d(zeros([1, 3, 5, 5]), zeros([4, 3, 3])), /conv2d: weight shape \[4, 3, 3\] must be 4-D/);
  assert.throws(() => conv2d(zeros([1, 2, 5, 5]), w), /conv2d: input \[1, 2, 5, 5\] has 2 channels, weight \[4, 3, 3, 3\] expects 3/);
  assert.throws(() => conv2d(zeros([1, 3, 2, 5]), w), /conv2d: kernel 3×3 is larger than the padded input 2×5/);
  assert.doesNotThrow(() => conv2d(zeros([1, 3, 2, 5]), w, undefined, { padding: 1 }));
  assert.throws(() => conv2d(zeros([1, 3, 5, 5]), w, zeros([3])), /conv2d: bias shape \[3\] must be \[4\]/);
  assert.throws(() => conv2d(zeros([1, 3, 5, 5]), w, undefined, { stride: 0 }), /conv2d: stride must be an integer >= 1 or a pair \[h, w\] of them, got 0/);
  assert.throws(() => conv2d(zeros([1, 3, 5, 5]), w, undefined, { padding: [1, -1] }), /conv2d: padding must be an integer >= 0 or a pair \[h, w\] of them, got \[1,-1\]/);
});

test("conv2d without gradients keeps no patch matrix alive", () => {
  const x = ones([2, 3, 9, 9]), w = ones([4, 3, 3, 3]);
  const before = heapStats().bytesInUse;
  const y = noGrad(() => conv2d(x, w, undefined, { padding: 1 }));
  // Only the output stays allocated (in a heap block rounded up to 64 bytes).
  assert.equal(heapStats().bytesInUse - before, Math.ceil((y.size * 4) / 64) * 64);
  y.dispose();
});

onBothBackends("sparseConv2d equals conv2d with the masked filters; gradients at stored positions via finite differences", () => {
  const rng = new Rng(3, "sparse-conv");
  const xs = [2, 3, 6, 6], ws = [4, 3, 3, 3];
  const w = SparseMatrix.random(4, 27, 0.4, rng, (v) => v.data.forEach((_, i, d) => (d[i] = rng.uniform() - 0.5)));
  const dense = w.toDense().toArray();
  const rowPtr = Array.from(w.rowPtr), colIdx = Array.from(w.colIdx);
  gradcheck({
    shapes: [xs, [w.nnz], [4]],
    inputs: [undefined, Array.from(w.values.data), undefined],
    op: ([x, values, b]) => sparseConv2d(x, SparseMatrix.fromCSR({ rows: 4, cols: 27, rowPtr, colIdx, values }), 3, b, { stride: 1, padding: 1 }),
    reference: ([x, values, b]) => {
      const full = new Float64Array(dense.length);
      for (let r = 0; r < 4; r++) for (let q = rowPtr[r]; q < rowPtr[r + 1]; q++) full[r * 27 + colIdx[q]] = values[q];
      return convRef(x, full, b, xs, ws, [1, 1], [1, 1]);
    },
  });
  assert.throws(() => sparseConv2d(zeros([1, 2, 6, 6]), w, 3), /needs a filter matrix with 18 columns, got 4×27/);
});

onBothBackends("sparseConv2d's input gradient equals conv2d's with empty filter columns and an empty filter, and frees its transposed filters", () => {
  const rng = new Rng(5, "sparse-conv-dx");
  const xs = [3, 2, 6, 7], cout = 5, patch = 2 * 3 * 3;
  // Input channel 0's 9 patch columns hold nothing, filter 2 holds nothing: rows of Wᵀ and of W without entries.
  const dense = new Float32Array(cout * patch).map((_, i) => (Math.floor(i / patch) === 2 || i % patch < 9 || rng.uniform() < 0.4 ? 0 : rng.uniform() - 0.5));
  const weight = SparseMatrix.fromDense(dense, [cout, patch]);
  const x = tensor(Array.from({ length: xs.reduce((a, b) => a * b) }, () => rng.uniform() - 0.5), xs);
  x.requiresGrad = true;
  const expected = tidy(() => {
    const w = tensor(dense, [cout, 2, 3, 3]);
    const y = conv2d(x, w, undefined, { padding: 1 });
    backward(y, tensor(Array.from({ length: y.size }, (_, i) => Math.sin(i)), y.shape));
    return Array.from(x.grad!.data);
  });
  x.grad = null;
  const before = heapStats().bytesInUse;
  tidy(() => {
    const y = sparseConv2d(x, weight, 3, undefined, { padding: 1 });
    backward(y, tensor(Array.from({ length: y.size }, (_, i) => Math.sin(i)), y.shape));
  });
  const got = Array.from(x.grad!.data);
  assert.equal(heapStats().bytesInUse - before, Math.ceil((x.size * 4) / 64) * 64, "only the input gradient stays allocated");
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-5, `dx[${i}] = ${got[i]}, conv2d gives ${expected[i]}`);
  assert.ok(got.some((v) => v !== 0));
});
