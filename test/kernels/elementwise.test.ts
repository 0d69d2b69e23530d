// WASM elementwise kernels (binary ops, broadcasting, scalar forms) against the TypeScript reference.
import assert from "node:assert/strict";
import { alloc, heapF32 } from "../../src/backend/heap.js";
import { reference } from "../../src/backend/kernels.js";
import { variantTest, wasmKernels } from "./variants.js";
import { BinaryOp, elementwiseKernels } from "../../src/backend/reference/elementwise.js";
import type { KernelName, KernelSet } from "../../src/backend/reference/index.js";
import { Rng } from "../../src/tensor/rng.js";

const rng = new Rng(5, "elementwise-kernels");
const SIZES = [0, 1, 3, 4, 5, 15, 16, 17, 63, 1000, 4097];

function wasm<K extends KernelName>(name: K): KernelSet[K] {
  const kernel = wasmKernels[name];
  assert.ok(kernel, `WASM kernel ${name} is missing`);
  return kernel as KernelSet[K];
}

/** n random floats in the heap; `nonZero` keeps divisors away from 0. */
function randomArray(n: number, nonZero = false): number {
  const p = alloc(n * 4);
  const h = heapF32();
  for (let i = 0; i < n; i++) {
    const v = (rng.uniform() * 2 - 1) * 10;
    h[(p >> 2) + i] = nonZero && Math.abs(v) < 0.1 ? 0.5 : v;
  }
  return p;
}

function floats(p: number, n: number): number[] {
  return Array.from(heapF32().subarray(p >> 2, (p >> 2) + n));
}

/** Runs `call` on the WASM and the reference kernel set with fresh outputs and compares bit for bit. */
function assertSame(n: number, what: string, call: (k: KernelSet, out: number) => void): void {
  const a = alloc(n * 4), b = alloc(n * 4);
  heapF32().fill(NaN, a >> 2, (a >> 2) + n);
  call(wasmKernels as KernelSet, a);
  call(reference, b);
  assert.deepEqual(floats(a, n), floats(b, n), what);
}

variantTest("every elementwise kernel has a WASM export", () => {
  for (const name of Object.keys(elementwiseKernels)) {
    assert.equal(typeof wasmKernels[name as KernelName], "function", `WASM kernel ${name} is missing`);
  }
});

variantTest("add, sub, mul, div: WASM equals the reference (one float32 rounding each), also in place", () => {
  for (const name of ["add", "sub", "mul", "div"] as const) {
    wasm(name);
    for (const n of SIZES) {
      const x = randomArray(n), y = randomArray(n, true);
      assertSame(n, `${name} n=${n}`, (k, out) => k[name](n, x, y, out));
      const expected = alloc(n * 4);
      reference[name](n, x, y, expected);
      wasmKernels[name]!(n, x, y, x);
      assert.deepEqual(floats(x, n), floats(expected, n), `${name} in place n=${n}`);
    }
  }
});

variantTest("fill, copy, axpy, scale, affine: WASM equals the reference", () => {
  for (const name of ["fill", "copy", "axpy", "scale", "affine"] as const) wasm(name);
  for (const n of SIZES) {
    const x = randomArray(n);
    assertSame(n, `fill n=${n}`, (k, out) => k.fill(n, -2.5, out));
    assertSame(n, `copy n=${n}`, (k, out) => k.copy(n, x, out));
    assertSame(n, `affine n=${n}`, (k, out) => k.affine(n, -0.75, 3.25, x, out));
    const y = randomArray(n);
    assertSame(n, `axpy n=${n}`, (k, out) => {
      k.copy(n, y, out);
      k.axpy(n, 0.375, x, out);
    });
    assertSame(n, `scale n=${n}`, (k, out) => {
      k.copy(n, y, out);
      k.scale(n, -1.5, out);
    });
  }
});

// (d0, d1, d2, a strides, b strides): rows, columns, scalars, outer-and-inner, and a strided (transposed) operand.
const BROADCASTS: [number, number, number, number[], number[], string][] = [
  [1, 1, 17, [0, 0, 1], [0, 0, 1], "same shape"],
  [1, 7, 17, [0, 17, 1], [0, 0, 1], "[7, 17] op [17]"],
  [1, 7, 17, [0, 0, 1], [0, 17, 1], "[17] op [7, 17]"],
  [1, 9, 5, [0, 5, 1], [0, 1, 0], "[9, 5] op [9, 1]"],
  [1, 9, 5, [0, 1, 0], [0, 5, 1], "[9, 1] op [9, 5]"],
  [1, 3, 4, [0, 1, 0], [0, 0, 1], "[3, 1] op [1, 4]"],
  [1, 1, 1000, [0, 0, 1], [0, 0, 0], "tensor op scalar"],
  [1, 1, 4097, [0, 0, 0], [0, 0, 1], "scalar op tensor"],
  [2, 3, 4, [12, 4, 1], [0, 1, 0], "[2, 3, 4] op [3, 1]"],
  [3, 5, 6, [30, 6, 1], [6, 0, 1], "[3, 5, 6] op [3, 1, 6]"],
  [4, 3, 5, [1, 0, 4], [0, 5, 1], "strided innermost operand"],
  [0, 3, 5, [15, 5, 1], [0, 0, 1], "empty"],
  [2, 0, 5, [0, 5, 1], [0, 0, 1], "empty rows"],
  [2, 3, 0, [0, 0, 1], [0, 0, 1], "empty columns"],
];

variantTest("binaryBroadcast: WASM equals the reference for every op and broadcast pattern", () => {
  wasm("binaryBroadcast");
  for (const [d0, d1, d2, as, bs, what] of BROADCASTS) {
    const extent = (s: number[]): number => Math.max(1, (d0 - 1) * s[0] + (d1 - 1) * s[1] + (d2 - 1) * s[2] + 1);
    const a = randomArray(extent(as)), b = randomArray(extent(bs), true);
    for (const [opName, op] of Object.entries(BinaryOp)) {
      assertSame(d0 * d1 * d2, `${opName} ${what}`, (k, out) =>
        k.binaryBroadcast(op, d0, d1, d2, a, as[0], as[1], as[2], b, bs[0], bs[1], bs[2], out));
    }
  }
});

variantTest("binaryBroadcast reference: row and column broadcasting by hand", () => {
  const a = alloc(24), b = alloc(12), c = alloc(8), out = alloc(24);
  heapF32().set([1, 2, 3, 4, 5, 6], a >> 2);
  heapF32().set([10, 20, 30], b >> 2);
  heapF32().set([100, 200], c >> 2);
  for (const k of [reference, wasmKernels as KernelSet]) {
    k.binaryBroadcast(BinaryOp.sub, 1, 2, 3, a, 0, 3, 1, b, 0, 0, 1, out); // [2, 3] − [3]
    assert.deepEqual(floats(out, 6), [-9, -18, -27, -6, -15, -24]);
    k.binaryBroadcast(BinaryOp.mul, 1, 2, 3, a, 0, 3, 1, c, 0, 1, 0, out); // [2, 3] · [2, 1]
    assert.deepEqual(floats(out, 6), [100, 200, 300, 800, 1000, 1200]);
  }
});
