// WASM convolution, pooling and batch-norm kernels against the reference kernels on awkward geometries.
import assert from "node:assert/strict";
import { alloc, heapF32, heapI32 } from "../../src/backend/heap.js";
import { reference } from "../../src/backend/kernels.js";
import { variantTest, wasmKernels } from "./variants.js";
import { Rng } from "../../src/tensor/rng.js";

const rng = new Rng(5, "conv-kernels");

type Fill = "random" | "nan" | "quarters";

/** A heap block of `size` floats: uniform in [−1, 1), NaN (to catch unwritten outputs), or multiples of 1/4 (many ties). */
function block(size: number, fill: Fill = "random"): number {
  const p = alloc(Math.max(1, size) * 4);
  const h = heapF32();
  for (let i = 0; i < size; i++) {
    const u = rng.uniform() * 2 - 1;
    h[(p >> 2) + i] = fill === "nan" ? NaN : fill === "quarters" ? Math.round(u * 4) / 4 : u;
  }
  return p;
}

function same(a: number, b: number, size: number, tol: number, what: string): void {
  const h = heapF32();
  for (let i = 0; i < size; i++) {
    const x = h[(a >> 2) + i], y = h[(b >> 2) + i];
    assert.ok(Math.abs(x - y) <= tol * Math.max(1, Math.abs(y)), `${what}[${i}]: wasm ${x}, reference ${y}`);
  }
}

function sameBits(a: number, b: number, size: number, what: string): void {
  const h = heapF32();
  for (let i = 0; i < size; i++) assert.ok(Object.is(h[(a >> 2) + i], h[(b >> 2) + i]), `${what}[${i}]: wasm ${h[(a >> 2) + i]}, reference ${h[(b >> 2) + i]}`);
}

const out = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;

// (n, c, h, w, k, stride, padding): odd sizes, strides 1/2/3, padding 0/1/2, kernels 1/2/3/5,
// n = 0 and 1, c = 1 and 3, rows shorter and longer than a SIMD block, and one large input.
const GEOMETRIES = [
  [1, 1, 5, 5, 3, 1, 0], [2, 3, 7, 6, 3, 2, 1], [1, 2, 9, 11, 5, 1, 2], [3, 1, 4, 4, 1, 1, 0], [2, 2, 13, 8, 2, 2, 0],
  [1, 3, 6, 9, 3, 3, 1], [1, 1, 7, 20, 3, 3, 1], [0, 2, 5, 5, 3, 1, 1], [1, 1, 1, 1, 1, 1, 0], [1, 3, 5, 5, 5, 1, 2],
  [2, 3, 33, 37, 3, 2, 1], [1, 2, 4, 19, 1, 2, 0],
];

variantTest("every conv kernel has a WASM export", () => {
  for (const name of ["im2col", "col2im", "swapLeadingAxes", "maxPool2dForward", "maxPool2dBackward", "avgPool2dForward", "avgPool2dBackward", "batchNormStats", "batchNormForward", "batchNormBackward"] as const) {
    assert.equal(typeof wasmKernels[name], "function", `WASM ${name} is missing`);
  }
});

variantTest("im2col and col2im: WASM equals the reference (im2col exactly: it only moves values)", () => {
  for (const [n, c, h, w, k, s, p] of GEOMETRIES) {
    const size = k * k * c * n * out(h, k, s, p) * out(w, k, s, p);
    const x = block(n * c * h * w);
    const a = block(size, "nan"), b = block(size, "nan");
    reference.im2col(n, c, h, w, k, k, s, s, p, p, x, a);
    wasmKernels.im2col!(n, c, h, w, k, k, s, s, p, p, x, b);
    sameBits(b, a, size, `im2col ${[n, c, h, w, k, s, p]}`);
    const dxa = block(n * c * h * w, "nan"), dxb = block(n * c * h * w, "nan");
    reference.col2im(n, c, h, w, k, k, s, s, p, p, a, dxa);
    wasmKernels.col2im!(n, c, h, w, k, k, s, s, p, p, a, dxb);
    same(dxb, dxa, n * c * h * w, 1e-6, `col2im ${[n, c, h, w, k, s, p]}`);
  }
});

variantTest("swapLeadingAxes: WASM equals the reference", () => {
  for (const [rows, cols, inner] of [[2, 3, 5], [1, 1, 1], [0, 3, 2], [6, 16, 0], [7, 5, 33]]) {
    const size = rows * cols * inner;
    const x = block(size), y1 = block(size, "nan"), y2 = block(size, "nan");
    reference.swapLeadingAxes(rows, cols, inner, x, y1);
    wasmKernels.swapLeadingAxes!(rows, cols, inner, x, y2);
    sameBits(y2, y1, size, `swapLeadingAxes ${[rows, cols, inner]}`);
  }
});

variantTest("max pooling: WASM equals the reference, argmax included, with ties, NaN and -Infinity", () => {
  for (const [n, c, h, w, k, s, p0] of GEOMETRIES) {
    const p = Math.min(p0, Math.floor(k / 2));
    const ho = out(h, k, s, p), wo = out(w, k, s, p), size = n * c * ho * wo;
    const x = block(n * c * h * w, "quarters");
    const hx = heapF32();
    for (let i = 0; i < n * c * h * w; i += 7) hx[(x >> 2) + i] = i % 3 === 0 ? NaN : -Infinity;
    const o1 = block(size, "nan"), o2 = block(size, "nan"), a1 = block(size), a2 = block(size);
    reference.maxPool2dForward(n, c, h, w, k, k, s, s, p, p, x, o1, a1);
    wasmKernels.maxPool2dForward!(n, c, h, w, k, k, s, s, p, p, x, o2, a2);
    const argmax = (at: number) => Array.from(heapI32().subarray(at >> 2, (at >> 2) + size));
    assert.deepEqual(argmax(a2), argmax(a1), `maxPool argmax ${[n, c, h, w, k, s, p]}`);
    sameBits(o2, o1, size, `maxPool out ${[n, c, h, w, k, s, p]}`);
    const dout = block(size), d1 = block(n * c * h * w, "nan"), d2 = block(n * c * h * w, "nan");
    reference.maxPool2dBackward(n, c, h, w, ho, wo, dout, a1, d1);
    wasmKernels.maxPool2dBackward!(n, c, h, w, ho, wo, dout, a1, d2);
    same(d2, d1, n * c * h * w, 1e-6, `maxPool2dBackward ${[n, c, h, w, k, s, p]}`);
  }
});

variantTest("average pooling: WASM equals the reference", () => {
  for (const [n, c, h, w, k, s, p0] of GEOMETRIES) {
    const p = Math.min(p0, Math.floor(k / 2));
    const ho = out(h, k, s, p), wo = out(w, k, s, p), size = n * c * ho * wo;
    const x = block(n * c * h * w), o1 = block(size, "nan"), o2 = block(size, "nan");
    reference.avgPool2dForward(n, c, h, w, k, k, s, s, p, p, x, o1);
    wasmKernels.avgPool2dForward!(n, c, h, w, k, k, s, s, p, p, x, o2);
    same(o2, o1, size, 1e-6, `avgPool2dForward ${[n, c, h, w, k, s, p]}`);
    const dout = block(size), d1 = block(n * c * h * w, "nan"), d2 = block(n * c * h * w, "nan");
    reference.avgPool2dBackward(n, c, h, w, k, k, s, s, p, p, dout, d1);
    wasmKernels.avgPool2dBackward!(n, c, h, w, k, k, s, s, p, p, dout, d2);
    same(d2, d1, n * c * h * w, 1e-6, `avgPool2dBackward ${[n, c, h, w, k, s, p]}`);
  }
});

variantTest("batch norm statistics, forward and backward: WASM equals the reference", () => {
  // (n, c, hw): the 1-d case (hw = 1), hw below, at and above a SIMD block, and a large channel.
  for (const [n, c, hw] of [[1, 1, 2], [1, 3, 1], [4, 3, 1], [3, 2, 7], [2, 5, 16], [8, 4, 33], [16, 3, 1025]]) {
    const size = n * c * hw;
    const x = block(size), dy = block(size), gamma = block(c), beta = block(c);
    // An offset mean checks that the variance is not computed as E[x²] − E[x]² (cancellation).
    for (let i = 0; i < size; i++) heapF32()[(x >> 2) + i] += 100;
    const m1 = block(c, "nan"), v1 = block(c, "nan"), m2 = block(c, "nan"), v2 = block(c, "nan");
    reference.batchNormStats(n, c, hw, x, m1, v1);
    wasmKernels.batchNormStats!(n, c, hw, x, m2, v2);
    same(m2, m1, c, 1e-6, "mean");
    same(v2, v1, c, 1e-5, "variance");
    const invstd = block(c);
    for (let i = 0; i < c; i++) heapF32()[(invstd >> 2) + i] = 1 / Math.sqrt(heapF32()[(v1 >> 2) + i] + 1e-5);
    const o1 = block(size, "nan"), o2 = block(size, "nan");
    reference.batchNormForward(n, c, hw, x, m1, invstd, gamma, beta, o1);
    wasmKernels.batchNormForward!(n, c, hw, x, m1, invstd, gamma, beta, o2);
    same(o2, o1, size, 1e-5, "forward");
    for (const training of [0, 1]) {
      const dx1 = block(size, "nan"), dx2 = block(size, "nan"), dg1 = block(c), dg2 = block(c), db1 = block(c), db2 = block(c);
      reference.batchNormBackward(n, c, hw, training, x, m1, invstd, gamma, dy, dx1, dg1, db1);
      wasmKernels.batchNormBackward!(n, c, hw, training, x, m1, invstd, gamma, dy, dx2, dg2, db2);
      same(dx2, dx1, size, 2e-4, `dx training=${training} ${[n, c, hw]}`);
      same(dg2, dg1, c, 1e-4, `dgamma ${[n, c, hw]}`);
      same(db2, db1, c, 1e-5, `dbeta ${[n, c, hw]}`);
    }
  }
});
