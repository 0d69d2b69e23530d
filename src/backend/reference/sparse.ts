// Reference sparse kernels (CSR weight × feature-major activations): the specification of assembly/sparse.ts.
//
// W is M×K in CSR: `rowPtr` (int32, M+1 entries), `colIdx` (int32, nnz entries, sorted within each
// row) and `values` (float32, nnz entries). Activations are feature-major: X is (K, B) and Y is
// (M, B), row-major, so every stored weight multiplies one contiguous batch row. Pointers are byte
// offsets into the shared heap. spmm and sddmm accumulate in float64 here, spmmTransposed in
// float32 in place (a float64 copy of dX would need a workspace); the WASM versions use float32.
import { heapF32, heapI32 } from "../heap.js";

/** Y = W·X: y[i][:] = Σ_p values[p]·x[colIdx[p]][:] over the stored p of row i; overwrites y (M, B). */
export function spmm(m: number, k: number, b: number, rowPtr: number, colIdx: number, values: number, x: number, y: number): void {
  const h = heapF32(), hi = heapI32();
  const ir = rowPtr >>> 2, ic = colIdx >>> 2, iv = values >>> 2, ix = x >>> 2, iy = y >>> 2;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let p = hi[ir + i]; p < hi[ir + i + 1]; p++) s += h[iv + p] * h[ix + hi[ic + p] * b + j];
      h[iy + i * b + j] = s;
    }
  }
}

/** dX = Wᵀ·dY: dx[colIdx[p]][:] += values[p]·dy[i][:] for every stored p (row i), from zero; overwrites dx (K, B). */
export function spmmTransposed(m: number, k: number, b: number, rowPtr: number, colIdx: number, values: number, dy: number, dx: number): void {
  const h = heapF32(), hi = heapI32();
  const ir = rowPtr >>> 2, ic = colIdx >>> 2, iv = values >>> 2, idy = dy >>> 2, idx = dx >>> 2;
  h.fill(0, idx, idx + k * b);
  for (let i = 0; i < m; i++) {
    for (let p = hi[ir + i]; p < hi[ir + i + 1]; p++) {
      const w = h[iv + p];
      const out = idx + hi[ic + p] * b;
      for (let j = 0; j < b; j++) h[out + j] += w * h[idy + i * b + j];
    }
  }
}

/** SDDMM: dvalues[p] = dy[i][:]·x[colIdx[p]][:] for every stored p (row i) — dW at the stored positions only. */
export function sddmm(m: number, k: number, b: number, rowPtr: number, colIdx: number, dy: number, x: number, dvalues: number): void {
  const h = heapF32(), hi = heapI32();
  const ir = rowPtr >>> 2, ic = colIdx >>> 2, idy = dy >>> 2, ix = x >>> 2, idv = dvalues >>> 2;
  for (let i = 0; i < m; i++) {
    for (let p = hi[ir + i]; p < hi[ir + i + 1]; p++) {
      const row = ix + hi[ic + p] * b;
      let s = 0;
      for (let j = 0; j < b; j++) s += h[idy + i * b + j] * h[row + j];
      h[idv + p] = s;
    }
  }
}

export const sparseKernels = { spmm, spmmTransposed, sddmm };
