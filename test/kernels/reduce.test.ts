// WASM reduction, softmax, loss and layout kernels against the TypeScript reference on awkward sizes.
import assert from "node:assert/strict";
import { alloc, heapF32, heapI32 } from "../../src/backend/heap.js";
import { reference } from "../../src/backend/kernels.js";
import { variantTest, wasmKernels } from "./variants.js";
import type { KernelName, KernelSet } from "../../src/backend/reference/index.js";
import { reduceKernels } from "../../src/backend/reference/reduce.js";
import { Rng } from "../../src/tensor/rng.js";

const rng = new Rng(7, "reduce-kernels");

function wasm<K extends KernelName>(name: K): KernelSet[K] {
  const kernel = wasmKernels[name];
  assert.ok(kernel, `WASM kernel ${name} is missing`);
  return kernel as KernelSet[K];
}

/** A heap array of n floats drawn from [-scale, scale) (or small integers, to create ties). */
function randomArray(n: number, scale = 1, integers = false): number {
  const p = alloc(n * 4);
  const h = heapF32();
  for (let i = 0; i < n; i++) h[(p >> 2) + i] = integers ? rng.int(5) : (rng.uniform() * 2 - 1) * scale;
  return p;
}

function labelArray(rows: number, classes: number): number {
  const p = alloc(rows * 4);
  const h = heapI32();
  for (let r = 0; r < rows; r++) h[(p >> 2) + r] = rng.int(classes);
  return p;
}

function floats(p: number, n: number): Float32Array {
  return heapF32().slice(p >> 2, (p >> 2) + n);
}

function ints(p: number, n: number): Int32Array {
  return heapI32().slice(p >> 2, (p >> 2) + n);
}

/** |got − want| ≤ relative·max(1, |want|) + absolute, and NaN exactly where the reference has NaN. */
function assertClose(got: Float32Array, want: Float32Array, relative: number, absolute: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) {
      assert.ok(Number.isNaN(got[i]), `${what}[${i}]: wasm ${got[i]}, reference NaN`);
      continue;
    }
    const ok = Math.abs(got[i] - want[i]) <= relative * Math.max(1, Math.abs(want[i])) + absolute;
    assert.ok(ok, `${what}[${i}]: wasm ${got[i]}, reference ${want[i]}`);
  }
}

const REDUCE_SHAPES: [number, number, number][] = [
  [1, 0, 1], [2, 0, 3], [1, 1, 1], [3, 1, 5], [3, 5, 1], [2, 17, 1], [1, 1001, 1], [4, 7, 3],
  [2, 3, 17], [5, 33, 64], [1, 4099, 1], [0, 4, 4], [2, 6, 2],
];

variantTest("every reduce kernel has a WASM export", () => {
  for (const name of Object.keys(reduceKernels)) {
    assert.equal(typeof wasmKernels[name as KernelName], "function", `WASM kernel ${name} is missing`);
  }
});

variantTest("reduceSum: WASM matches the reference (inner = 1 and inner > 1, len = 0)", () => {
  const kernel = wasm("reduceSum");
  for (const [outer, len, inner] of REDUCE_SHAPES) {
    const x = randomArray(outer * len * inner, 3);
    const a = alloc(outer * inner * 4), b = alloc(outer * inner * 4);
    heapF32().fill(NaN, a >> 2, (a >> 2) + outer * inner);
    kernel(outer, len, inner, x, a);
    reference.reduceSum(outer, len, inner, x, b);
    // float32 lanes vs a float64 sum: error grows like len·ulp·|x|.
    assertClose(floats(a, outer * inner), floats(b, outer * inner), 0, 3 * len * 6e-8 * 3 + 1e-7, `reduceSum ${[outer, len, inner]}`);
  }
});

variantTest("reduceMax: WASM matches the reference, first maximum wins, NaN propagates", () => {
  const kernel = wasm("reduceMax");
  for (const [outer, len, inner] of REDUCE_SHAPES.filter(([, len]) => len > 0)) {
    for (const mode of ["uniform", "ties", "nan"]) {
      const n = outer * len * inner;
      const x = randomArray(n, 1, mode === "ties");
      if (mode === "nan" && n > 0) {
        for (let k = 0; k < 3; k++) heapF32()[(x >> 2) + rng.int(n)] = NaN;
      }
      const out = [alloc(outer * inner * 4), alloc(outer * inner * 4)];
      const arg = [alloc(outer * inner * 4), alloc(outer * inner * 4)];
      kernel(outer, len, inner, x, out[0], arg[0]);
      reference.reduceMax(outer, len, inner, x, out[1], arg[1]);
      const what = `reduceMax ${[outer, len, inner]} ${mode}`;
      assertClose(floats(out[0], outer * inner), floats(out[1], outer * inner), 0, 0, what);
      assert.deepEqual(ints(arg[0], outer * inner), ints(arg[1], outer * inner), `${what} argmax`);
    }
  }
});

variantTest("broadcastAlong and reduceMaxBackward: WASM matches the reference", () => {
  const broadcast = wasm("broadcastAlong"), maxBackward = wasm("reduceMaxBackward");
  for (const [outer, len, inner] of REDUCE_SHAPES) {
    const g = randomArray(outer * inner);
    const n = outer * len * inner;
    const a = alloc(n * 4), b = alloc(n * 4);
    broadcast(outer, len, inner, g, a);
    reference.broadcastAlong(outer, len, inner, g, b);
    assertClose(floats(a, n), floats(b, n), 0, 0, `broadcastAlong ${[outer, len, inner]}`);
    if (len === 0) continue;
    const x = randomArray(n), out = alloc(outer * inner * 4), arg = alloc(outer * inner * 4);
    reference.reduceMax(outer, len, inner, x, out, arg);
    heapF32().fill(NaN, a >> 2, (a >> 2) + n);
    maxBackward(outer, len, inner, g, arg, a);
    reference.reduceMaxBackward(outer, len, inner, g, arg, b);
    assertClose(floats(a, n), floats(b, n), 0, 0, `reduceMaxBackward ${[outer, len, inner]}`);
  }
});

const ROW_SHAPES: [number, number][] = [[0, 5], [1, 1], [3, 1], [2, 2], [3, 3], [2, 4], [4, 5], [3, 7], [2, 16], [5, 17], [2, 100], [3, 1001]];
// Logit magnitudes: ordinary, large enough to overflow a naive exp, and ±1e4.
const MAGNITUDES = [1, 100, 1e4];

variantTest("softmaxRows and logSoftmaxRows: WASM matches the reference, stable for ±1e4 logits", () => {
  const softmax = wasm("softmaxRows"), logSoftmax = wasm("logSoftmaxRows");
  for (const [rows, cols] of ROW_SHAPES) {
    for (const magnitude of MAGNITUDES) {
      const n = rows * cols;
      const x = randomArray(n, magnitude);
      const a = alloc(n * 4), b = alloc(n * 4);
      softmax(rows, cols, x, a);
      reference.softmaxRows(rows, cols, x, b);
      const what = `(${rows}, ${cols}) ×${magnitude}`;
      const probs = floats(a, n);
      assertClose(probs, floats(b, n), 0, 2e-6, `softmaxRows ${what}`);
      for (let r = 0; r < rows; r++) {
        const s = probs.subarray(r * cols, (r + 1) * cols).reduce((u, v) => u + v, 0);
        assert.ok(Math.abs(s - 1) < 1e-5, `softmaxRows ${what}: row ${r} sums to ${s}`);
      }
      logSoftmax(rows, cols, x, a);
      reference.logSoftmaxRows(rows, cols, x, b);
      const logProbs = floats(a, n);
      assert.ok(logProbs.every(Number.isFinite), `logSoftmaxRows ${what}: non-finite output`);
      assertClose(logProbs, floats(b, n), 2e-6, 2e-6, `logSoftmaxRows ${what}`);
    }
  }
});

variantTest("softmaxRows and logSoftmaxRows: a NaN in a row makes that row NaN in both backends", () => {
  for (const name of ["softmaxRows", "logSoftmaxRows"] as const) {
    const x = randomArray(2 * 9);
    heapF32()[(x >> 2) + 4] = NaN;
    const a = alloc(18 * 4), b = alloc(18 * 4);
    wasm(name)(2, 9, x, a);
    reference[name](2, 9, x, b);
    assertClose(floats(a, 18), floats(b, 18), 2e-6, 2e-6, name);
    assert.ok(floats(a, 9).every(Number.isNaN), `${name}: row with NaN is not all NaN`);
  }
});

variantTest("softmaxRowsBackward and logSoftmaxRowsBackward: WASM matches the reference", () => {
  const softmaxBackward = wasm("softmaxRowsBackward"), logSoftmaxBackward = wasm("logSoftmaxRowsBackward");
  for (const [rows, cols] of ROW_SHAPES) {
    for (const magnitude of MAGNITUDES) {
      const n = rows * cols;
      const x = randomArray(n, magnitude), dy = randomArray(n);
      const y = alloc(n * 4), a = alloc(n * 4), b = alloc(n * 4);
      const what = `(${rows}, ${cols}) ×${magnitude}`;
      reference.softmaxRows(rows, cols, x, y);
      softmaxBackward(rows, cols, y, dy, a);
      reference.softmaxRowsBackward(rows, cols, y, dy, b);
      assertClose(floats(a, n), floats(b, n), 0, 2e-6, `softmaxRowsBackward ${what}`);
      reference.logSoftmaxRows(rows, cols, x, y);
      logSoftmaxBackward(rows, cols, y, dy, a);
      reference.logSoftmaxRowsBackward(rows, cols, y, dy, b);
      assertClose(floats(a, n), floats(b, n), 0, 1e-5 * Math.max(1, cols / 10), `logSoftmaxRowsBackward ${what}`);
    }
  }
});

variantTest("crossEntropyForward/Backward: WASM matches the reference (smoothing 0 and 0.1, ±1e4 logits)", () => {
  const forward = wasm("crossEntropyForward"), backward = wasm("crossEntropyBackward");
  const shapes: [number, number][] = [[0, 3], [1, 1], [3, 2], [4, 3], [5, 10], [3, 17], [7, 1000]];
  for (const [rows, classes] of shapes) {
    for (const magnitude of MAGNITUDES) {
      for (const smoothing of [0, 0.1]) {
        const n = rows * classes;
        const logits = randomArray(n, magnitude), labels = labelArray(rows, classes);
        const probs = [alloc(n * 4), alloc(n * 4)], losses = [alloc(rows * 4), alloc(rows * 4)];
        forward(rows, classes, logits, labels, smoothing, probs[0], losses[0]);
        reference.crossEntropyForward(rows, classes, logits, labels, smoothing, probs[1], losses[1]);
        const what = `(${rows}, ${classes}) ×${magnitude} ε=${smoothing}`;
        assertClose(floats(probs[0], n), floats(probs[1], n), 0, 2e-6, `probs ${what}`);
        const loss = floats(losses[0], rows);
        assert.ok(loss.every(Number.isFinite), `losses ${what}: non-finite`);
        assertClose(loss, floats(losses[1], rows), 2e-6, 2e-5, `losses ${what}`);
        const a = alloc(n * 4), b = alloc(n * 4);
        backward(rows, classes, probs[1], labels, smoothing, 0.25, a);
        reference.crossEntropyBackward(rows, classes, probs[1], labels, smoothing, 0.25, b);
        assertClose(floats(a, n), floats(b, n), 0, 1e-7, `dlogits ${what}`);
      }
    }
  }
});

variantTest("squaredError and squaredErrorBackward: WASM matches the reference (gradient stride 0 and 1)", () => {
  const forward = wasm("squaredError"), backward = wasm("squaredErrorBackward");
  for (const n of [0, 1, 3, 4, 5, 17, 64, 1001]) {
    const p = randomArray(n, 3), t = randomArray(n, 3);
    const a = alloc(n * 4), b = alloc(n * 4);
    forward(n, p, t, a);
    reference.squaredError(n, p, t, b);
    assertClose(floats(a, n), floats(b, n), 1e-7, 0, `squaredError n=${n}`);
    for (const stride of [0, 1]) {
      const g = randomArray(Math.max(1, n));
      backward(n, 2 / Math.max(1, n), p, t, g, stride, a);
      reference.squaredErrorBackward(n, 2 / Math.max(1, n), p, t, g, stride, b);
      assertClose(floats(a, n), floats(b, n), 1e-6, 1e-7, `squaredErrorBackward n=${n} stride=${stride}`);
    }
  }
});

variantTest("transpose2d: WASM matches the reference exactly (including 128×1000 and 1000×128)", () => {
  const kernel = wasm("transpose2d");
  const shapes: [number, number, number][] = [
    [1, 0, 5], [2, 5, 0], [1, 1, 1], [3, 1, 7], [2, 7, 1], [1, 2, 3], [2, 4, 4], [3, 5, 9], [1, 33, 17],
    [2, 31, 65], [1, 64, 64], [1, 128, 1000], [1, 1000, 128], [0, 3, 3],
  ];
  for (const [batch, rows, cols] of shapes) {
    const n = batch * rows * cols;
    const x = randomArray(n);
    const a = alloc(n * 4), b = alloc(n * 4);
    kernel(batch, rows, cols, x, a);
    reference.transpose2d(batch, rows, cols, x, b);
    assertClose(floats(a, n), floats(b, n), 0, 0, `transpose2d ${[batch, rows, cols]}`);
  }
});

variantTest("copyStrided2d: WASM matches the reference and leaves the gaps untouched", () => {
  const kernel = wasm("copyStrided2d");
  for (const [rows, cols, srcStride, dstStride] of [[0, 3, 3, 3], [1, 0, 1, 1], [1, 1, 1, 1], [3, 2, 5, 7], [4, 5, 5, 9], [7, 17, 20, 17]]) {
    const src = randomArray(Math.max(1, rows * srcStride));
    const dstSize = Math.max(1, rows * dstStride);
    const a = randomArray(dstSize), b = alloc(dstSize * 4);
    heapF32().copyWithin(b >> 2, a >> 2, (a >> 2) + dstSize);
    kernel(rows, cols, src, srcStride, a, dstStride);
    reference.copyStrided2d(rows, cols, src, srcStride, b, dstStride);
    assertClose(floats(a, dstSize), floats(b, dstSize), 0, 0, `copyStrided2d ${[rows, cols, srcStride, dstStride]}`);
  }
});
