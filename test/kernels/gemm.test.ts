import assert from "node:assert/strict";
import { test } from "node:test";
import { alloc, free, heapF32 } from "../../src/backend/heap.js";
import { reference } from "../../src/backend/kernels.js";
import { variantTest, wasmKernels } from "./variants.js";
import { Rng } from "../../src/tensor/rng.js";

const SIZES = [0, 1, 3, 5, 17, 31, 33, 65, 127, 129];
const TRANSPOSES = [[0, 0], [0, 1], [1, 0], [1, 1]] as const;
// Guard floats after each buffer: the kernel must not write past the matrix it was given.
const GUARD = 16;
const GUARD_VALUE = 12345.5;

interface GemmCase {
  transA: number; transB: number; m: number; n: number; k: number;
  alpha: number; beta: number;
  /** Extra elements per row beyond the row length (lda > row length etc.). */
  padA?: number; padB?: number; padC?: number;
  /** Misaligns every operand by this many floats (operands may be views at any offset). */
  shift?: number;
  /** Fill C with NaN (beta = 0 must ignore the old contents). */
  nanC?: boolean;
}

interface Matrix { ptr: number; block: number; bytes: number; length: number }

function randomMatrix(length: number, rng: Rng, shift: number, fill?: number): Matrix {
  const bytes = (length + shift + GUARD) * 4;
  const block = alloc(bytes);
  const ptr = block + shift * 4;
  const h = heapF32();
  for (let i = 0; i < length; i++) h[(ptr >> 2) + i] = fill ?? rng.uniform() * 2 - 1;
  h.fill(GUARD_VALUE, (ptr >> 2) + length, (ptr >> 2) + length + GUARD);
  return { ptr, block, bytes, length };
}

function values(x: Matrix): Float32Array {
  return heapF32().slice(x.ptr >> 2, (x.ptr >> 2) + x.length + GUARD);
}

/** Runs one case on both backends and compares C (including row padding and guard) elementwise. */
function check(c: GemmCase, rng: Rng): void {
  const { transA, transB, m, n, k, alpha, beta } = c;
  const shift = c.shift ?? 0;
  const lda = (transA ? m : k) + (c.padA ?? 0);
  const ldb = (transB ? k : n) + (c.padB ?? 0);
  const ldc = n + (c.padC ?? 0);
  const a = randomMatrix((transA ? k : m) * lda, rng, shift);
  const b = randomMatrix((transB ? n : k) * ldb, rng, shift);
  const cWasm = randomMatrix(m * ldc, rng, shift, c.nanC ? NaN : undefined);
  const cRef = randomMatrix(m * ldc, rng, shift);
  heapF32().copyWithin(cRef.ptr >> 2, cWasm.ptr >> 2, (cWasm.ptr >> 2) + m * ldc);
  const before = values(cRef);

  reference.gemm(transA, transB, m, n, k, alpha, a.ptr, lda, b.ptr, ldb, beta, cRef.ptr, ldc);
  wasmKernels.gemm!(transA, transB, m, n, k, alpha, a.ptr, lda, b.ptr, ldb, beta, cWasm.ptr, ldc);

  const got = values(cWasm), want = values(cRef);
  const h = heapF32();
  const label = `gemm(transA=${transA}, transB=${transB}, m=${m}, n=${n}, k=${k}, alpha=${alpha}, beta=${beta}, ` +
    `lda=${lda}, ldb=${ldb}, ldc=${ldc}, shift=${shift}${c.nanC ? ", C=NaN" : ""})`;
  for (let i = 0; i < got.length; i++) {
    const row = Math.floor(i / ldc), col = i % ldc;
    if (i >= m * ldc || col >= n) {
      // Guard and row padding: untouched.
      assert.ok(Object.is(got[i], want[i]), `${label}: wrote outside C at element ${i}: ${got[i]} (was ${before[i]})`);
      continue;
    }
    // Rounding bound for a float32 dot product of length k: ~k·eps·Σ|a·b| (Higham, γ_k), plus beta·C.
    let absDot = 0;
    for (let p = 0; p < k; p++) {
      const av = transA ? h[(a.ptr >> 2) + p * lda + row] : h[(a.ptr >> 2) + row * lda + p];
      const bv = transB ? h[(b.ptr >> 2) + col * ldb + p] : h[(b.ptr >> 2) + p * ldb + col];
      absDot += Math.abs(av * bv);
    }
    const oldC = beta === 0 ? 0 : Math.abs(beta * before[i]);
    const tolerance = 4 * (k + 2) * 2 ** -24 * (Math.abs(alpha) * absDot + oldC) + 1e-30;
    assert.ok(Number.isFinite(got[i]), `${label}: C[${row}][${col}] is ${got[i]}`);
    assert.ok(Math.abs(got[i] - want[i]) <= tolerance, `${label}: C[${row}][${col}] wasm ${got[i]}, reference ${want[i]}`);
  }
  for (const x of [a, b, cWasm, cRef]) free(x.block, x.bytes);
}

variantTest("gemm: the WASM kernel exists", () => {
  assert.ok(wasmKernels.gemm, "WASM gemm is missing (build it: node scripts/build-kernels.mjs gemm)");
});

variantTest("gemm: WASM matches the reference on equal awkward sizes, all transposes", () => {
  const rng = new Rng(1, "gemm-square");
  for (const [transA, transB] of TRANSPOSES) {
    for (const size of SIZES) check({ transA, transB, m: size, n: size, k: size, alpha: 1, beta: 0 }, rng);
  }
});

variantTest("gemm: WASM matches the reference on mixed sizes with alpha/beta, padded rows and misaligned operands", () => {
  const rng = new Rng(2, "gemm-mixed");
  const scalings = [[1, 0], [1, 1], [-0.5, 2], [2, 0], [0, 1]] as const;
  let index = 0;
  for (const [transA, transB] of TRANSPOSES) {
    for (let trial = 0; trial < 24; trial++, index++) {
      const [alpha, beta] = scalings[index % scalings.length];
      check({
        transA, transB, alpha, beta,
        m: SIZES[rng.int(SIZES.length)], n: SIZES[rng.int(SIZES.length)], k: SIZES[rng.int(SIZES.length)],
        padA: trial % 3, padB: (trial + 1) % 4, padC: trial % 2 ? 3 : 0, shift: trial % 4 === 3 ? 1 : 0,
      }, rng);
    }
  }
});

variantTest("gemm: beta = 0 ignores NaN in C; k = 0 scales C by beta", () => {
  const rng = new Rng(3, "gemm-beta");
  for (const [transA, transB] of TRANSPOSES) {
    check({ transA, transB, m: 33, n: 17, k: 31, alpha: 1.5, beta: 0, nanC: true }, rng);
    check({ transA, transB, m: 5, n: 9, k: 0, alpha: 1, beta: 0, nanC: true }, rng);
    check({ transA, transB, m: 5, n: 9, k: 0, alpha: 1, beta: 0.5 }, rng);
    check({ transA, transB, m: 0, n: 9, k: 4, alpha: 1, beta: 1 }, rng);
    check({ transA, transB, m: 9, n: 0, k: 4, alpha: 1, beta: 1 }, rng);
  }
});

variantTest("gemm: WASM matches the reference across cache blocks (m > 128, k > 256, n > 1024)", () => {
  const rng = new Rng(4, "gemm-large");
  for (const [transA, transB] of TRANSPOSES) {
    check({ transA, transB, m: 257, n: 300, k: 129, alpha: 1, beta: 0 }, rng);
    check({ transA, transB, m: 129, n: 31, k: 601, alpha: -1, beta: 0.5, padA: 5, padB: 3, padC: 2 }, rng);
    check({ transA, transB, m: 33, n: 65, k: 300, alpha: 1, beta: 0, nanC: true }, rng);
    check({ transA, transB, m: 5, n: 1100, k: 7, alpha: 0.5, beta: 0.25 }, rng);
  }
});
