import assert from "node:assert/strict";
import { test } from "node:test";
import { alloc, heapF32, heapI32 } from "../../src/backend/heap.js";
import { reference, wasmKernels } from "../../src/backend/kernels.js";
import { Rng } from "../../src/tensor/rng.js";

const rng = new Rng(5, "conv-kernels");

function block(size: number, fill: "random" | "nan" = "random"): number {
  const p = alloc(Math.max(1, size) * 4);
  const h = heapF32();
  for (let i = 0; i < size; i++) h[(p >> 2) + i] = fill === "nan" ? NaN : rng.uniform() * 2 - 1;
  return p;
}

function same(a: number, b: number, size: number, tol: number, what: string): void {
  const h = heapF32();
  for (let i = 0; i < size; i++) {
    const x = h[(a >> 2) + i], y = h[(b >> 2) + i];
    assert.ok(Math.abs(x - y) <= tol * Math.max(1, Math.abs(y)), `${what}[${i}]: wasm ${x}, reference ${y}`);
  }
}

const out = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;
// (n, c, h, w, k, stride, padding): odd sizes, stride 2, padding 1 and 2, kernels 1, 3, 5.
const GEOMETRIES = [[1, 1, 5, 5, 3, 1, 0], [2, 3, 7, 6, 3, 2, 1], [1, 2, 9, 11, 5, 1, 2], [3, 1, 4, 4, 1, 1, 0], [2, 2, 13, 8, 2, 2, 0], [1, 3, 6, 9, 3, 3, 1]];

test("every conv kernel has a WASM export", () => {
  for (const name of ["im2col", "col2im", "swapLeadingAxes", "maxPool2dForward", "maxPool2dBackward", "avgPool2dForward", "avgPool2dBackward", "batchNormStats", "batchNormForward", "batchNormBackward"] as const) {
    assert.equal(typeof wasmKernels[name], "function", `WASM ${name} is missing`);
  }
});

test("im2col and col2im: WASM equals the reference (exactly: they only move and add)", () => {
  for (const [n, c, h, w, k, s, p] of GEOMETRIES) {
    const size = (k * k * c) * n * out(h, k, s, p) * out(w, k, s, p);
    const x = block(n * c * h * w);
    const a = block(size, "nan"), b = block(size, "nan");
    reference.im2col(n, c, h, w, k, k, s, s, p, p, x, a);
    wasmKernels.im2col!(n, c, h, w, k, k, s, s, p, p, x, b);
    same(b, a, size, 0, `im2col ${[n, c, h, w, k, s, p]}`);
    const dxa = block(n * c * h * w, "nan"), dxb = block(n * c * h * w, "nan");
    reference.col2im(n, c, h, w, k, k, s, s, p, p, a, dxa);
    wasmKernels.col2im!(n, c, h, w, k, k, s, s, p, p, a, dxb);
    same(dxb, dxa, n * c * h * w, 1e-6, `col2im ${[n, c, h, w, k, s, p]}`);
  }
  const x = block(2 * 3 * 5), y1 = block(30), y2 = block(30);
  reference.swapLeadingAxes(2, 3, 5, x, y1);
  wasmKernels.swapLeadingAxes!(2, 3, 5, x, y2);
  same(y2, y1, 30, 0, "swapLeadingAxes");
});

test("max and average pooling: WASM equals the reference, argmax included, NaN propagates", () => {
  for (const [n, c, h, w, k, s, p0] of GEOMETRIES) {
    const p = Math.min(p0, Math.floor(k / 2));
    const ho = out(h, k, s, p), wo = out(w, k, s, p);
    const x = block(n * c * h * w);
    heapF32()[(x >> 2) + 1] = NaN;
    const o1 = block(n * c * ho * wo), o2 = block(n * c * ho * wo), a1 = block(n * c * ho * wo), a2 = block(n * c * ho * wo);
    reference.maxPool2dForward(n, c, h, w, k, k, s, s, p, p, x, o1, a1);
    wasmKernels.maxPool2dForward!(n, c, h, w, k, k, s, s, p, p, x, o2, a2);
    assert.deepEqual(Array.from(heapI32().subarray(a2 >> 2, (a2 >> 2) + n * c * ho * wo)), Array.from(heapI32().subarray(a1 >> 2, (a1 >> 2) + n * c * ho * wo)));
    const h32 = heapF32();
    for (let i = 0; i < n * c * ho * wo; i++) assert.ok(Object.is(h32[(o1 >> 2) + i], h32[(o2 >> 2) + i]), `maxPool out ${i}`);
    const dout = block(n * c * ho * wo), d1 = block(n * c * h * w), d2 = block(n * c * h * w);
    reference.maxPool2dBackward(n, c, h, w, ho, wo, dout, a1, d1);
    wasmKernels.maxPool2dBackward!(n, c, h, w, ho, wo, dout, a1, d2);
    same(d2, d1, n * c * h * w, 1e-6, "maxPool2dBackward");
    const y = block(n * c * h * w);
    reference.avgPool2dForward(n, c, h, w, k, k, s, s, p, p, y, o1);
    wasmKernels.avgPool2dForward!(n, c, h, w, k, k, s, s, p, p, y, o2);
    same(o2, o1, n * c * ho * wo, 1e-6, "avgPool2dForward");
    reference.avgPool2dBackward(n, c, h, w, k, k, s, s, p, p, dout, d1);
    wasmKernels.avgPool2dBackward!(n, c, h, w, k, k, s, s, p, p, dout, d2);
    same(d2, d1, n * c * h * w, 1e-6, "avgPool2dBackward");
  }
});

test("batch norm statistics, forward and backward: WASM equals the reference", () => {
  for (const [n, c, hw] of [[1, 1, 2], [4, 3, 1], [3, 2, 7], [2, 5, 16], [8, 4, 33]]) {
    const x = block(n * c * hw), dy = block(n * c * hw), gamma = block(c), beta = block(c);
    const m1 = block(c), v1 = block(c), m2 = block(c), v2 = block(c);
    reference.batchNormStats(n, c, hw, x, m1, v1);
    wasmKernels.batchNormStats!(n, c, hw, x, m2, v2);
    same(m2, m1, c, 1e-6, "mean");
    same(v2, v1, c, 1e-6, "variance");
    const invstd = block(c);
    for (let i = 0; i < c; i++) heapF32()[(invstd >> 2) + i] = 1 / Math.sqrt(heapF32()[(v1 >> 2) + i] + 1e-5);
    const o1 = block(n * c * hw), o2 = block(n * c * hw);
    reference.batchNormForward(n, c, hw, x, m1, invstd, gamma, beta, o1);
    wasmKernels.batchNormForward!(n, c, hw, x, m1, invstd, gamma, beta, o2);
    same(o2, o1, n * c * hw, 1e-6, "forward");
    for (const training of [0, 1]) {
      const dx1 = block(n * c * hw), dx2 = block(n * c * hw), dg1 = block(c), dg2 = block(c), db1 = block(c), db2 = block(c);
      reference.batchNormBackward(n, c, hw, training, x, m1, invstd, gamma, dy, dx1, dg1, db1);
      wasmKernels.batchNormBackward!(n, c, hw, training, x, m1, invstd, gamma, dy, dx2, dg2, db2);
      same(dx2, dx1, n * c * hw, 2e-4, `dx training=${training}`);
      same(dg2, dg1, c, 1e-5, "dgamma");
      same(db2, db1, c, 1e-5, "dbeta");
    }
  }
});
