import assert from "node:assert/strict";
import { test } from "node:test";
import { alloc, heapF32 } from "../../src/backend/heap.js";
import { reference, wasmKernels } from "../../src/backend/kernels.js";
import { Rng } from "../../src/tensor/rng.js";

const SIZES = [0, 1, 3, 4, 5, 17, 64, 1001];

function randomArray(n: number, rng: Rng, scale = 1): number {
  const p = alloc(n * 4);
  const h = heapF32();
  for (let i = 0; i < n; i++) h[(p >> 2) + i] = (rng.uniform() * 2 - 1) * scale;
  return p;
}

function copyOf(p: number, n: number): number {
  const q = alloc(n * 4);
  heapF32().copyWithin(q >> 2, p >> 2, (p >> 2) + n);
  return q;
}

function assertClose(p: number, q: number, n: number, tol: number, what: string): void {
  const h = heapF32();
  for (let i = 0; i < n; i++) {
    const a = h[(p >> 2) + i], b = h[(q >> 2) + i];
    assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}[${i}]: wasm ${a}, reference ${b}`);
  }
}

test("sgdStep: WASM matches the reference (plain, momentum, Nesterov, first step)", () => {
  assert.ok(wasmKernels.sgdStep, "WASM sgdStep is missing");
  const rng = new Rng(1);
  for (const n of SIZES) {
    for (const [momentum, nesterov, first] of [[0, 0, 1], [0.9, 0, 1], [0.9, 0, 0], [0.9, 1, 0]]) {
      const w = randomArray(n, rng), g = randomArray(n, rng), b = randomArray(n, rng);
      const w2 = copyOf(w, n), b2 = copyOf(b, n);
      reference.sgdStep(n, 0.1, momentum, 0, 5e-4, nesterov, first, w, g, b);
      wasmKernels.sgdStep!(n, 0.1, momentum, 0, 5e-4, nesterov, first, w2, g, b2);
      assertClose(w2, w, n, 1e-6, `w (n=${n}, m=${momentum})`);
      if (momentum) assertClose(b2, b, n, 1e-6, `buf (n=${n})`);
    }
  }
});

test("adamStep: WASM matches the reference (Adam and AdamW)", () => {
  assert.ok(wasmKernels.adamStep, "WASM adamStep is missing");
  const rng = new Rng(2);
  for (const n of SIZES) {
    for (const decoupled of [0, 1]) {
      const w = randomArray(n, rng), g = randomArray(n, rng), m = randomArray(n, rng, 0.1);
      const v = randomArray(n, rng, 0.01);
      const h = heapF32();
      for (let i = 0; i < n; i++) h[(v >> 2) + i] = Math.abs(h[(v >> 2) + i]);
      const w2 = copyOf(w, n), m2 = copyOf(m, n), v2 = copyOf(v, n);
      reference.adamStep(n, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, 1 - 0.9 ** 3, 1 - 0.999 ** 3, w, g, m, v);
      wasmKernels.adamStep!(n, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, 1 - 0.9 ** 3, 1 - 0.999 ** 3, w2, g, m2, v2);
      assertClose(w2, w, n, 1e-6, `w (n=${n})`);
      assertClose(m2, m, n, 1e-6, `m (n=${n})`);
      assertClose(v2, v, n, 1e-6, `v (n=${n})`);
    }
  }
});

test("sumSquares and clamp: WASM matches the reference", () => {
  assert.ok(wasmKernels.sumSquares && wasmKernels.clamp, "WASM sumSquares/clamp missing");
  const rng = new Rng(3);
  for (const n of SIZES) {
    const x = randomArray(n, rng, 3);
    const a = wasmKernels.sumSquares!(n, x), b = reference.sumSquares(n, x);
    assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, b), `sumSquares n=${n}: ${a} vs ${b}`);
    const y = copyOf(x, n);
    reference.clamp(n, -1, 2, x);
    wasmKernels.clamp!(n, -1, 2, y);
    assertClose(y, x, n, 0, `clamp n=${n}`);
  }
});
