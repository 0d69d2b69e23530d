// WASM sparse kernels (spmm, spmmTransposed, sddmm) against the TypeScript reference on awkward sizes and structures.
import assert from "node:assert/strict";
import { alloc, free, heapF32, heapI32 } from "../../src/backend/heap.js";
import { reference } from "../../src/backend/kernels.js";
import { variantTest, wasmKernels } from "./variants.js";
import type { KernelName, KernelSet } from "../../src/backend/reference/index.js";
import { sparseKernels } from "../../src/backend/reference/sparse.js";
import { Rng } from "../../src/tensor/rng.js";

const rng = new Rng(11, "sparse-kernels");

function wasm<K extends KernelName>(name: K): KernelSet[K] {
  const kernel = wasmKernels[name];
  assert.ok(kernel, `WASM kernel ${name} is missing`);
  return kernel as KernelSet[K];
}

/** CSR structure of an M×K matrix; `keep(i, c)` says which positions are stored. */
interface Structure {
  m: number;
  k: number;
  rowPtr: number[];
  colIdx: number[];
  label: string;
}

function structure(m: number, k: number, label: string, keepAt: (i: number, c: number) => boolean): Structure {
  const rowPtr = [0], colIdx: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) if (keepAt(i, c)) colIdx.push(c);
    rowPtr.push(colIdx.length);
  }
  return { m, k, rowPtr, colIdx, label: `${label} ${m}×${k} (nnz ${colIdx.length})` };
}

/** The structures every size is tested with: empty, one non-zero, empty rows, 1%, 50% and full. */
function structures(m: number, k: number): Structure[] {
  const single = rng.int(m * k);
  return [
    structure(m, k, "empty", () => false),
    structure(m, k, "one non-zero", (i, c) => i * k + c === single),
    structure(m, k, "even rows empty", (i) => i % 2 === 1 && rng.uniform() < 0.5),
    structure(m, k, "1%", () => rng.uniform() < 0.01),
    structure(m, k, "50%", () => rng.uniform() < 0.5),
    structure(m, k, "full", () => true),
  ];
}

const SIZES = [1, 3, 17, 100];
const BATCHES = [1, 3, 4, 5, 16, 17, 33, 128];

class HeapArrays {
  private blocks: [number, number][] = [];
  ints(values: number[]): number {
    const p = this.take(values.length);
    heapI32().set(values, p >> 2);
    return p;
  }
  /** n floats in [-1, 1), or NaN (to check that outputs are overwritten, not accumulated). */
  floats(n: number, fillNaN = false): number {
    const p = this.take(n);
    const h = heapF32();
    for (let i = 0; i < n; i++) h[(p >> 2) + i] = fillNaN ? NaN : rng.uniform() * 2 - 1;
    return p;
  }
  private take(n: number): number {
    const p = alloc(n * 4);
    this.blocks.push([p, n * 4]);
    return p;
  }
  freeAll(): void {
    for (const [p, bytes] of this.blocks) free(p, bytes);
    this.blocks = [];
  }
}

function floats(p: number, n: number): Float32Array {
  return heapF32().slice(p >> 2, (p >> 2) + n);
}

/** float32 sums of `terms` products of magnitude <= 1: allow a few ulps per term. */
function assertClose(got: Float32Array, want: Float32Array, terms: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const tolerance = 4 * terms * 2 ** -24 + 1e-7;
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tolerance, `${what}[${i}]: wasm ${got[i]}, reference ${want[i]}`);
  }
}

/** Runs `check` on every structure for every size pair and batch. */
function forEveryCase(check: (s: Structure, b: number, arrays: HeapArrays) => void): void {
  const arrays = new HeapArrays();
  for (const m of SIZES) {
    for (const k of SIZES) {
      for (const s of structures(m, k)) {
        for (const b of BATCHES) {
          check(s, b, arrays);
          arrays.freeAll();
        }
      }
    }
  }
}

variantTest("every sparse kernel has a WASM export", () => {
  for (const name of Object.keys(sparseKernels)) {
    assert.equal(typeof wasmKernels[name as KernelName], "function", `WASM kernel ${name} is missing`);
  }
});

variantTest("spmm: WASM matches the reference and overwrites y", () => {
  const kernel = wasm("spmm");
  forEveryCase((s, b, arrays) => {
    const rowPtr = arrays.ints(s.rowPtr), colIdx = arrays.ints(s.colIdx);
    const values = arrays.floats(s.colIdx.length), x = arrays.floats(s.k * b);
    const got = arrays.floats(s.m * b, true), want = arrays.floats(s.m * b, true);
    kernel(s.m, s.k, b, rowPtr, colIdx, values, x, got);
    reference.spmm(s.m, s.k, b, rowPtr, colIdx, values, x, want);
    assertClose(floats(got, s.m * b), floats(want, s.m * b), s.k, `spmm ${s.label} B=${b}`);
  });
});

variantTest("spmmTransposed: WASM matches the reference and overwrites dx", () => {
  const kernel = wasm("spmmTransposed");
  forEveryCase((s, b, arrays) => {
    const rowPtr = arrays.ints(s.rowPtr), colIdx = arrays.ints(s.colIdx);
    const values = arrays.floats(s.colIdx.length), dy = arrays.floats(s.m * b);
    const got = arrays.floats(s.k * b, true), want = arrays.floats(s.k * b, true);
    kernel(s.m, s.k, b, rowPtr, colIdx, values, dy, got);
    reference.spmmTransposed(s.m, s.k, b, rowPtr, colIdx, values, dy, want);
    assertClose(floats(got, s.k * b), floats(want, s.k * b), s.m, `spmmTransposed ${s.label} B=${b}`);
  });
});

variantTest("sddmm: WASM matches the reference and overwrites dvalues", () => {
  const kernel = wasm("sddmm");
  forEveryCase((s, b, arrays) => {
    const nnz = s.colIdx.length;
    const rowPtr = arrays.ints(s.rowPtr), colIdx = arrays.ints(s.colIdx);
    const dy = arrays.floats(s.m * b), x = arrays.floats(s.k * b);
    const got = arrays.floats(nnz, true), want = arrays.floats(nnz, true);
    kernel(s.m, s.k, b, rowPtr, colIdx, dy, x, got);
    reference.sddmm(s.m, s.k, b, rowPtr, colIdx, dy, x, want);
    assertClose(floats(got, nnz), floats(want, nnz), b, `sddmm ${s.label} B=${b}`);
  });
});

variantTest("sparse kernels: the reference agrees with a dense product on a hand-made example", () => {
  // W = [[1, 0, 2], [0, 0, 0], [0, 3, 0]] (3×3, row 1 empty), X = [[1, 2], [3, 4], [5, 6]] (K=3, B=2).
  const arrays = new HeapArrays();
  const rowPtr = arrays.ints([0, 2, 2, 3]), colIdx = arrays.ints([0, 2, 1]);
  const values = arrays.floats(3), x = arrays.floats(6), y = arrays.floats(6), dx = arrays.floats(6), dvalues = arrays.floats(3);
  heapF32().set([1, 2, 3], values >> 2);
  heapF32().set([1, 2, 3, 4, 5, 6], x >> 2);
  for (const backend of ["reference", "wasm"] as const) {
    const k = backend === "wasm" ? { spmm: wasm("spmm"), spmmTransposed: wasm("spmmTransposed"), sddmm: wasm("sddmm") } : reference;
    k.spmm(3, 3, 2, rowPtr, colIdx, values, x, y);
    assert.deepEqual(Array.from(floats(y, 6)), [11, 14, 0, 0, 9, 12], `${backend} spmm`);
    // dX = Wᵀ·dY with dY = X (as a 3×2 matrix): [[1, 2], [15, 18], [2, 4]].
    k.spmmTransposed(3, 3, 2, rowPtr, colIdx, values, x, dx);
    assert.deepEqual(Array.from(floats(dx, 6)), [1, 2, 15, 18, 2, 4], `${backend} spmmTransposed`);
    // dvalues[p] = dY[row]·X[col] with dY = X: rows 0,0,2 against cols 0,2,1 → 5, 17, 39.
    k.sddmm(3, 3, 2, rowPtr, colIdx, x, x, dvalues);
    assert.deepEqual(Array.from(floats(dvalues, 3)), [5, 17, 39], `${backend} sddmm`);
  }
  arrays.freeAll();
});
