// Sparse CSR kernels with SIMD along the batch: SpMM, transposed SpMM and SDDMM.
// Specification: src/backend/reference/sparse.ts (W is M×K in CSR; X (K, B), Y (M, B) row-major).
//
// Each kernel walks W row by row and keeps a strip of the batch in registers: spmm accumulates a
// 16-wide Y strip over the row's weights (a row with many weights instead sweeps its whole Y row
// once per six weights, see spmmRowBySix), spmmTransposed holds a 32-wide dY strip and streams the
// dX rows of two weights at a time, sddmm computes four dot products at once. Strip sizes come
// from scripts/bench-sparse.mjs: V8 on x64 has 16 xmm registers and issues a step's loads before
// its arithmetic, so accumulators plus in-flight loads must fit in them (a 32-wide spmm strip
// spills and runs ~30% slower). Vector offsets inside a strip are written out as immediates
// (`v128.load(d, 16)`): a computed `d + 16` costs an extra add per access. 4-wide strips and a
// scalar loop cover the rest of the batch.
// Every vector multiply-add is `madd` (assembly/_fma.ts): fused in the relaxed-SIMD build.
// NOTE: tried with relaxed SIMD and kept out (5%, 1000×784 and 1000×1000, batch 128, GFLOP/s as
// against the kept kernel in the same run): spmm with batch strips outermost (X strip in L1) 21.7
// vs 25.7, 32-wide strips 17.3 (spill), 12- or 8-wide strips over two weights with two accumulator
// sets 23.6 / 22.4 (the 16-wide one spills), Y-row sweeps of 8 weights 24.2; spmmTransposed with
// strips outermost 16.0 vs 20.3 and four weights per step 13.6; sddmm with 8 or 6 dot products at
// once 16.7 / 22.1 vs 24.7 and 3 dots × 2 accumulator chains 23.8. V8 issues a step's loads before
// its arithmetic, so every wider blocking spills; with the data in L1 (K = 40) spmm reaches only
// ~31, so the limit is the code V8 generates and the FMA latency, not memory.
import { madd } from "./_fma";

@inline function rowStart(rowPtr: usize, i: i32): i32 {
  return load<i32>(rowPtr + (<usize>i << 2));
}

/** Address of row colIdx[p] of a (·, B) matrix starting at `base` (rows are `rowBytes` apart). */
@inline function rowAt(base: usize, colIdx: usize, p: i32, rowBytes: usize): usize {
  return base + <usize>load<i32>(colIdx + (<usize>p << 2)) * rowBytes;
}

@inline function weight(values: usize, p: i32): v128 {
  return v128.load32_splat(values + (<usize>p << 2));
}

// A row with at least this many weights goes through spmmRowBySix (measured with /tmp-style A/B
// runs on 1000×784, batch 128: ≥ 12 gains 3–5% at 5% density and ~40% at 20%, equal at 1%).
const BY_SIX_MIN_NNZ = 12;

/**
 * y row = Σ_p values[p]·x[colIdx[p]][:] for one row with end − start ≥ 6 weights and b % 4 = 0:
 * six weights per sweep over the Y row, which stays in L1. Each vector's six multiply-adds form a
 * chain but different vectors are independent, so the CPU overlaps them; the 16-wide strips of
 * spmm instead carry four accumulator chains through the whole row and wait on their FMA latency.
 * Every element still sums its products in p order, as the strips do.
 */
@inline function spmmRowBySix(start: i32, end: i32, b: i32, colIdx: usize, values: usize, x: usize, yRow: usize, rowBytes: usize): void {
  const bytes = <usize>b << 2;
  let p = start;
  for (; p + 6 <= end; p += 6) {
    const r0 = rowAt(x, colIdx, p, rowBytes), w0 = weight(values, p);
    const r1 = rowAt(x, colIdx, p + 1, rowBytes), w1 = weight(values, p + 1);
    const r2 = rowAt(x, colIdx, p + 2, rowBytes), w2 = weight(values, p + 2);
    const r3 = rowAt(x, colIdx, p + 3, rowBytes), w3 = weight(values, p + 3);
    const r4 = rowAt(x, colIdx, p + 4, rowBytes), w4 = weight(values, p + 4);
    const r5 = rowAt(x, colIdx, p + 5, rowBytes), w5 = weight(values, p + 5);
    // The first sweep writes y, later ones add to it (two loops: a select inside one measured 15% slower).
    if (p == start) {
      for (let o: usize = 0; o < bytes; o += 16) {
        let a = f32x4.mul(w0, v128.load(r0 + o));
        a = madd(a, w1, v128.load(r1 + o));
        a = madd(a, w2, v128.load(r2 + o));
        a = madd(a, w3, v128.load(r3 + o));
        a = madd(a, w4, v128.load(r4 + o));
        v128.store(yRow + o, madd(a, w5, v128.load(r5 + o)));
      }
    } else {
      for (let o: usize = 0; o < bytes; o += 16) {
        let a = madd(v128.load(yRow + o), w0, v128.load(r0 + o));
        a = madd(a, w1, v128.load(r1 + o));
        a = madd(a, w2, v128.load(r2 + o));
        a = madd(a, w3, v128.load(r3 + o));
        a = madd(a, w4, v128.load(r4 + o));
        v128.store(yRow + o, madd(a, w5, v128.load(r5 + o)));
      }
    }
  }
  for (; p < end; p++) {
    const r = rowAt(x, colIdx, p, rowBytes), w = weight(values, p);
    for (let o: usize = 0; o < bytes; o += 16) v128.store(yRow + o, madd(v128.load(yRow + o), w, v128.load(r + o)));
  }
}

/** y[i][:] = Σ_p values[p]·x[colIdx[p]][:]; overwrites y (M, B). */
export function spmm(m: i32, k: i32, b: i32, rowPtr: usize, colIdx: usize, values: usize, x: usize, y: usize): void {
  const rowBytes = <usize>b << 2;
  for (let i = 0; i < m; i++) {
    const start = rowStart(rowPtr, i), end = rowStart(rowPtr, i + 1);
    const yRow = y + <usize>i * rowBytes;
    if (end - start >= BY_SIX_MIN_NNZ && (b & 3) == 0) {
      spmmRowBySix(start, end, b, colIdx, values, x, yRow, rowBytes);
      continue;
    }
    let j = 0;
    for (; j + 16 <= b; j += 16) {
      const xStrip = x + (<usize>j << 2);
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (let p = start; p < end; p++) {
        const w = weight(values, p);
        const r = rowAt(xStrip, colIdx, p, rowBytes);
        a0 = madd(a0, w, v128.load(r));
        a1 = madd(a1, w, v128.load(r, 16));
        a2 = madd(a2, w, v128.load(r, 32));
        a3 = madd(a3, w, v128.load(r, 48));
      }
      const out = yRow + (<usize>j << 2);
      v128.store(out, a0);
      v128.store(out, a1, 16);
      v128.store(out, a2, 32);
      v128.store(out, a3, 48);
    }
    for (; j + 4 <= b; j += 4) {
      const xStrip = x + (<usize>j << 2);
      let a = f32x4.splat(0);
      for (let p = start; p < end; p++) a = madd(a, weight(values, p), v128.load(rowAt(xStrip, colIdx, p, rowBytes)));
      v128.store(yRow + (<usize>j << 2), a);
    }
    for (; j < b; j++) {
      const xColumn = x + (<usize>j << 2);
      let s: f32 = 0;
      for (let p = start; p < end; p++) s += load<f32>(values + (<usize>p << 2)) * load<f32>(rowAt(xColumn, colIdx, p, rowBytes));
      store<f32>(yRow + (<usize>j << 2), s);
    }
  }
}

/** One vector of a dX row: d[0..4) += w·g. */
@inline function scatter(d: usize, w: v128, g: v128): void {
  v128.store(d, madd(v128.load(d), w, g));
}

/** dx[colIdx[p]][:] += values[p]·dy[i][:] for every stored p of row i, starting from zero; overwrites dx (K, B). */
export function spmmTransposed(m: i32, k: i32, b: i32, rowPtr: usize, colIdx: usize, values: usize, dy: usize, dx: usize): void {
  const rowBytes = <usize>b << 2;
  memory.fill(dx, 0, <usize>k * rowBytes);
  for (let i = 0; i < m; i++) {
    const start = rowStart(rowPtr, i), end = rowStart(rowPtr, i + 1);
    const dyRow = dy + <usize>i * rowBytes;
    let j = 0;
    for (; j + 32 <= b; j += 32) {
      const g = dyRow + (<usize>j << 2);
      const g0 = v128.load(g), g1 = v128.load(g, 16), g2 = v128.load(g, 32), g3 = v128.load(g, 48);
      const g4 = v128.load(g, 64), g5 = v128.load(g, 80), g6 = v128.load(g, 96), g7 = v128.load(g, 112);
      const dxStrip = dx + (<usize>j << 2);
      let p = start;
      // Two weights per step; their dX rows differ (columns strictly increase), so order is free.
      // The stores interleave the two rows: two independent load-add-store streams.
      for (; p + 2 <= end; p += 2) {
        const d0 = rowAt(dxStrip, colIdx, p, rowBytes), d1 = rowAt(dxStrip, colIdx, p + 1, rowBytes);
        const w0 = weight(values, p), w1 = weight(values, p + 1);
        v128.store(d0, madd(v128.load(d0), w0, g0));
        v128.store(d1, madd(v128.load(d1), w1, g0));
        v128.store(d0, madd(v128.load(d0, 16), w0, g1), 16);
        v128.store(d1, madd(v128.load(d1, 16), w1, g1), 16);
        v128.store(d0, madd(v128.load(d0, 32), w0, g2), 32);
        v128.store(d1, madd(v128.load(d1, 32), w1, g2), 32);
        v128.store(d0, madd(v128.load(d0, 48), w0, g3), 48);
        v128.store(d1, madd(v128.load(d1, 48), w1, g3), 48);
        v128.store(d0, madd(v128.load(d0, 64), w0, g4), 64);
        v128.store(d1, madd(v128.load(d1, 64), w1, g4), 64);
        v128.store(d0, madd(v128.load(d0, 80), w0, g5), 80);
        v128.store(d1, madd(v128.load(d1, 80), w1, g5), 80);
        v128.store(d0, madd(v128.load(d0, 96), w0, g6), 96);
        v128.store(d1, madd(v128.load(d1, 96), w1, g6), 96);
        v128.store(d0, madd(v128.load(d0, 112), w0, g7), 112);
        v128.store(d1, madd(v128.load(d1, 112), w1, g7), 112);
      }
      if (p < end) {
        const d = rowAt(dxStrip, colIdx, p, rowBytes), w = weight(values, p);
        v128.store(d, madd(v128.load(d), w, g0));
        v128.store(d, madd(v128.load(d, 16), w, g1), 16);
        v128.store(d, madd(v128.load(d, 32), w, g2), 32);
        v128.store(d, madd(v128.load(d, 48), w, g3), 48);
        v128.store(d, madd(v128.load(d, 64), w, g4), 64);
        v128.store(d, madd(v128.load(d, 80), w, g5), 80);
        v128.store(d, madd(v128.load(d, 96), w, g6), 96);
        v128.store(d, madd(v128.load(d, 112), w, g7), 112);
      }
    }
    for (; j + 4 <= b; j += 4) {
      const g = v128.load(dyRow + (<usize>j << 2));
      const dxStrip = dx + (<usize>j << 2);
      for (let p = start; p < end; p++) scatter(rowAt(dxStrip, colIdx, p, rowBytes), weight(values, p), g);
    }
    for (; j < b; j++) {
      const g = load<f32>(dyRow + (<usize>j << 2));
      const dxColumn = dx + (<usize>j << 2);
      for (let p = start; p < end; p++) {
        const d = rowAt(dxColumn, colIdx, p, rowBytes);
        store<f32>(d, load<f32>(d) + load<f32>(values + (<usize>p << 2)) * g);
      }
    }
  }
}

@inline function horizontalSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Σ_j g[j]·r[j] over batch elements [from, b) (the scalar tail of a dot product). */
@inline function dotTail(g: usize, r: usize, from: i32, b: i32): f32 {
  let s: f32 = 0;
  for (let j = from; j < b; j++) s += load<f32>(g + (<usize>j << 2)) * load<f32>(r + (<usize>j << 2));
  return s;
}

/** dvalues[p] = dy[i][:]·x[colIdx[p]][:] for every stored p of row i; overwrites dvalues (nnz). */
export function sddmm(m: i32, k: i32, b: i32, rowPtr: usize, colIdx: usize, dy: usize, x: usize, dvalues: usize): void {
  const rowBytes = <usize>b << 2;
  const b4 = b & ~3;
  for (let i = 0; i < m; i++) {
    const start = rowStart(rowPtr, i), end = rowStart(rowPtr, i + 1);
    const g = dy + <usize>i * rowBytes;
    let p = start;
    // Four dot products at once: each dY vector is loaded once for four X rows.
    for (; p + 4 <= end; p += 4) {
      const r0 = rowAt(x, colIdx, p, rowBytes), r1 = rowAt(x, colIdx, p + 1, rowBytes);
      const r2 = rowAt(x, colIdx, p + 2, rowBytes), r3 = rowAt(x, colIdx, p + 3, rowBytes);
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (let j = 0; j < b4; j += 4) {
        const o = <usize>j << 2;
        const gj = v128.load(g + o);
        a0 = madd(a0, gj, v128.load(r0 + o));
        a1 = madd(a1, gj, v128.load(r1 + o));
        a2 = madd(a2, gj, v128.load(r2 + o));
        a3 = madd(a3, gj, v128.load(r3 + o));
      }
      const out = dvalues + (<usize>p << 2);
      store<f32>(out, horizontalSum(a0) + dotTail(g, r0, b4, b));
      store<f32>(out, horizontalSum(a1) + dotTail(g, r1, b4, b), 4);
      store<f32>(out, horizontalSum(a2) + dotTail(g, r2, b4, b), 8);
      store<f32>(out, horizontalSum(a3) + dotTail(g, r3, b4, b), 12);
    }
    for (; p < end; p++) {
      const r = rowAt(x, colIdx, p, rowBytes);
      let a = f32x4.splat(0);
      for (let j = 0; j < b4; j += 4) a = madd(a, v128.load(g + (<usize>j << 2)), v128.load(r + (<usize>j << 2)));
      store<f32>(dvalues + (<usize>p << 2), horizontalSum(a) + dotTail(g, r, b4, b));
    }
  }
}
