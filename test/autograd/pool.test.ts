// maxPool2d and avgPool2d against float64 loop references and finite differences, on both kernel backends; shape errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { avgPool2d, maxPool2d } from "../../src/autograd/ops/pool.js";
import { heapStats } from "../../src/backend/heap.js";
import { kernelBackend, setKernelBackend } from "../../src/backend/kernels.js";
import { Rng } from "../../src/tensor/rng.js";
import { ones, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

/** Float64 pooling; the average divides by k² (count_include_pad: padding counts as zeros). */
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

/** Distinct values in [−1, 1) spaced 2/size apart (≫ the finite-difference step): no ties inside a max window. */
function distinctValues(size: number, rng: Rng): number[] {
  const order = rng.shuffle(Array.from({ length: size }, (_, i) => i));
  return order.map((i) => Math.fround((2 * i) / size - 1));
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

// [shape, kernel, stride, padding]: square and odd planes, overlapping windows, padding, rows wide enough for the SIMD path.
const CASES: [number[], number, number, number][] = [
  [[1, 1, 4, 4], 2, 2, 0], [[2, 3, 5, 7], 3, 2, 1], [[1, 2, 6, 6], 3, 1, 0], [[1, 1, 5, 13], 3, 1, 1], [[2, 1, 6, 17], 2, 2, 1], [[1, 3, 3, 3], 1, 1, 0],
];

onBothBackends("maxPool2d matches a float64 reference and finite differences", () => {
  const rng = new Rng(11, "max-pool-test");
  for (const [shape, k, s, p] of CASES) {
    gradcheck({
      shapes: [shape],
      inputs: [distinctValues(shape.reduce((a, b) => a * b), rng)],
      op: ([x]) => maxPool2d(x, k, s, p),
      reference: ([x]) => poolRef(x, shape, k, s, p, "max"),
    });
  }
});

onBothBackends("avgPool2d matches a float64 reference and finite differences", () => {
  for (const [shape, k, s, p] of CASES) {
    gradcheck({
      shapes: [shape],
      op: ([x]) => avgPool2d(x, k, s, p),
      reference: ([x]) => poolRef(x, shape, k, s, p, "avg"),
    });
  }
});

onBothBackends("avgPool2d counts padding (PyTorch's count_include_pad = true)", () => {
  // 3×3 windows with padding 1 over ones: corners see 4 ones out of 9, edges 6, the centre 9.
  const y = avgPool2d(ones([1, 1, 3, 3]), 3, 1, 1).toArray();
  const expected = [4, 6, 4, 6, 9, 6, 4, 6, 4].map((v) => v / 9);
  y.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `avgPool2d[${i}]: ${v}, expected ${expected[i]}`));
});

test("pooling defaults stride to the kernel and reports bad shapes", () => {
  assert.deepEqual(maxPool2d(zeros([2, 3, 9, 8]), 2).shape, [2, 3, 4, 4]);
  assert.deepEqual(avgPool2d(zeros([1, 1, 7, 7]), 3, 2, 1).shape, [1, 1, 4, 4]);
  assert.throws(() => maxPool2d(zeros([1, 1, 2, 2]), 3), /maxPool2d: kernel 3×3 is larger than the padded input 2×2/);
  assert.throws(() => avgPool2d(zeros([2, 2]), 2), /avgPool2d: input shape \[2, 2\] must be 4-D \[N, C, H, W\]/);
  assert.throws(() => maxPool2d(zeros([1, 1, 6, 6]), 2, 2, 2), /maxPool2d: padding 2 must be at most half the kernel 2/);
});

test("maxPool2d without gradients keeps no argmax alive", () => {
  const x = ones([2, 3, 8, 8]);
  const before = heapStats().bytesInUse;
  const y = noGrad(() => maxPool2d(x, 2));
  assert.equal(heapStats().bytesInUse - before, y.size * 4, "only the output stays allocated");
  y.dispose();
});
