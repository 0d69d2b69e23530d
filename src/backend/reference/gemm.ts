// Reference dense matrix multiply (row-major, BLAS-like): the specification of assembly/gemm.ts.
import { heapF32 } from "../heap.js";

/**
 * C = alpha · op(A) · op(B) + beta · C, row-major, where op(X) is X or Xᵀ.
 * op(A) is m×k, op(B) is k×n, C is m×n; lda/ldb/ldc are row strides in elements.
 * With beta = 0, C is overwritten (its old contents, even NaN, are ignored). k = 0 gives C = beta·C.
 * C must not overlap A or B. The WASM version (assembly/gemm.ts) sums in a different order, so
 * results agree to rounding (about k·eps relative to Σ|a·b|), not bit for bit.
 */
export function gemm(
  transA: number, transB: number, m: number, n: number, k: number,
  alpha: number, a: number, lda: number, b: number, ldb: number,
  beta: number, c: number, ldc: number,
): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, ic = c >>> 2;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? h[ia + p * lda + i] : h[ia + i * lda + p];
        const bv = transB ? h[ib + j * ldb + p] : h[ib + p * ldb + j];
        s += av * bv;
      }
      const old = beta === 0 ? 0 : beta * h[ic + i * ldc + j];
      h[ic + i * ldc + j] = alpha * s + old;
    }
  }
}

export const gemmKernels = { gemm };
