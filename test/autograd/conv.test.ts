import assert from "node:assert/strict";
import { test } from "node:test";
import { conv2d } from "../../src/autograd/ops/conv.js";
import { sparseConv2d } from "../../src/autograd/ops/sparse-conv.js";
import { avgPool2d, maxPool2d } from "../../src/autograd/ops/pool.js";
import { batchNorm } from "../../src/autograd/ops/batch-norm.js";
import { setKernelBackend, kernelBackend } from "../../src/backend/kernels.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { full, tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

// Float64 reference convolution (cross-correlation, zero padding), NCHW.
function convRef(x: Float64Array, w: Float64Array, b: Float64Array | null, [n, c, h, wd]: number[], [co, , k]: number[], s: number, p: number): Float64Array {
  const ho = Math.floor((h + 2 * p - k) / s) + 1, wo = Math.floor((wd + 2 * p - k) / s) + 1;
  const out = new Float64Array(n * co * ho * wo);
  for (let ni = 0; ni < n; ni++) for (let o = 0; o < co; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let sum = b ? b[o] : 0;
    for (let ci = 0; ci < c; ci++) for (let ki = 0; ki < k; ki++) for (let kj = 0; kj < k; kj++) {
      const ih = i * s - p + ki, iw = j * s - p + kj;
      if (ih >= 0 && ih < h && iw >= 0 && iw < wd) sum += x[((ni * c + ci) * h + ih) * wd + iw] * w[((o * c + ci) * k + ki) * k + kj];
    }
    out[((ni * co + o) * ho + i) * wo + j] = sum;
  }
  return out;
}

function bothBackends(name: string, body: () => void): void {
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

bothBackends("conv2d matches a float64 reference and finite differences (stride, padding, bias)", () => {
  for (const [xs, ws, s, p, bias] of [
    [[1, 1, 5, 5], [2, 1, 3, 3], 1, 0, true], [[2, 3, 6, 5], [4, 3, 3, 3], 2, 1, false], [[2, 2, 7, 7], [3, 2, 5, 5], 1, 2, true], [[1, 2, 4, 4], [1, 2, 1, 1], 1, 0, true],
  ] as [number[], number[], number, number, boolean][]) {
    gradcheck({
      shapes: bias ? [xs, ws, [ws[0]]] : [xs, ws],
      op: ([x, w, b]) => conv2d(x, w, b, { stride: s, padding: p }),
      reference: ([x, w, b]) => convRef(x, w, b ?? null, xs, ws, s, p),
    });
  }
});

bothBackends("sparseConv2d equals conv2d with the masked filters; gradients at stored positions via finite differences", () => {
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
      return convRef(x, full, b, xs, ws, 1, 1);
    },
  });
  assert.throws(() => sparseConv2d(zeros([1, 2, 6, 6]), w, 3), /needs a filter matrix with 18 columns, got 4×27/);
});

function poolRef(x: Float64Array, [n, c, h, w]: number[], k: number, s: number, p: number, mode: "max" | "avg"): Float64Array {
  const ho = Math.floor((h + 2 * p - k) / s) + 1, wo = Math.floor((w + 2 * p - k) / s) + 1;
  const out = new Float64Array(n * c * ho * wo);
  for (let plane = 0; plane < n * c; plane++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let best = -Infinity, sum = 0;
    for (let ki = 0; ki < k; ki++) for (let kj = 0; kj < k; kj++) {
      const ih = i * s - p + ki, iw = j * s - p + kj;
      if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
      const v = x[plane * h * w + ih * w + iw];
      best = Math.max(best, v);
      sum += v;
    }
    out[plane * ho * wo + i * wo + j] = mode === "max" ? best : sum / (k * k);
  }
  return out;
}

bothBackends("max and average pooling match float64 references and finite differences", () => {
  for (const [shape, k, s, p] of [[[1, 1, 4, 4], 2, 2, 0], [[2, 3, 5, 7], 3, 2, 1], [[1, 2, 6, 6], 3, 1, 0]] as [number[], number, number, number][]) {
    for (const mode of ["max", "avg"] as const) {
      gradcheck({
        shapes: [shape],
        // Distinct, well-separated values: no ties inside a max window.
        inputs: [Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.fround(((i * 37) % 101) / 50 - 1))],
        op: ([x]) => (mode === "max" ? maxPool2d(x, k, s, p) : avgPool2d(x, k, s, p)),
        reference: ([x]) => poolRef(x, shape, k, s, p, mode),
      });
    }
  }
  assert.throws(() => maxPool2d(zeros([1, 1, 2, 2]), 3), /kernel 3×3 is larger than the padded input 2×2/);
  assert.throws(() => maxPool2d(zeros([2, 2]), 2), /must be 4-D \[N, C, H, W\]/);
});

function batchNormRef(x: Float64Array, g: Float64Array, b: Float64Array, [n, c, hw]: number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (let ci = 0; ci < c; ci++) {
    let m = 0, v = 0;
    for (let ni = 0; ni < n; ni++) for (let i = 0; i < hw; i++) m += x[(ni * c + ci) * hw + i];
    m /= n * hw;
    for (let ni = 0; ni < n; ni++) for (let i = 0; i < hw; i++) v += (x[(ni * c + ci) * hw + i] - m) ** 2;
    v /= n * hw;
    for (let ni = 0; ni < n; ni++) for (let i = 0; i < hw; i++) {
      const at = (ni * c + ci) * hw + i;
      out[at] = (g[ci] * (x[at] - m)) / Math.sqrt(v + 1e-5) + b[ci];
    }
  }
  return out;
}

bothBackends("batch norm (training) matches a float64 reference and finite differences for x, γ and β; running stats follow PyTorch", () => {
  for (const shape of [[4, 3], [3, 2, 3, 3]]) {
    const c = shape[1], hw = shape.length === 4 ? shape[2] * shape[3] : 1;
    gradcheck({
      shapes: [shape, [c], [c]],
      op: ([x, g, b]) => batchNorm(x, g, b, zeros([c]), full([c], 1), { training: true }),
      reference: ([x, g, b]) => batchNormRef(x, g, b, [shape[0], c, hw]),
      gradTolerance: 3e-2,
    });
  }
  const x = tensor([1, 2, 3, 5], [4, 1]);
  const rm = zeros([1]), rv = full([1], 1);
  batchNorm(x, full([1], 1), zeros([1]), rm, rv, { training: true, momentum: 0.1 });
  assert.ok(Math.abs(rm.data[0] - 0.1 * 2.75) < 1e-6);
  const unbiased = ((1 - 2.75) ** 2 + (2 - 2.75) ** 2 + (3 - 2.75) ** 2 + (5 - 2.75) ** 2) / 3;
  assert.ok(Math.abs(rv.data[0] - (0.9 + 0.1 * unbiased)) < 1e-6);
  // Eval mode uses the running statistics.
  const y = batchNorm(tensor([2], [1, 1]), full([1], 2), full([1], 1), tensor([1]), tensor([3]), { training: false });
  assert.ok(Math.abs(y.item() - (2 * (2 - 1)) / Math.sqrt(3 + 1e-5) - 1) < 1e-6);
});
