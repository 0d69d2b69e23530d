// Sparse CSR kernels with SIMD along the batch: SpMM, transposed SpMM and SDDMM.
// Specification: src/backend/reference/sparse.ts (W is M×K in CSR; X (K, B), Y (M, B) row-major).
//
// Each kernel walks W row by row and keeps a strip of 32 batch elements (8 v128) in registers:
// spmm accumulates the Y strip over the row's weights, spmmTransposed keeps the dY strip and
// streams dX rows, sddmm computes four dot products at a time. Two weights per step give the CPU
// independent work. Strips of 4 and a scalar loop cover B that is not a multiple of 32 or 4.
// NOTE: Node 20 has no relaxed-simd, hence f32x4.mul + f32x4.add rather than a fused multiply-add.

const STRIP = 32;

@inline function rowStart(rowPtr: usize, i: i32): i32 {
  return load<i32>(rowPtr + (<usize>i << 2));
}

@inline function xRow(x: usize, colIdx: usize, p: i32, rowBytes: usize): usize {
  return x + <usize>load<i32>(colIdx + (<usize>p << 2)) * rowBytes;
}

@inline function madd(acc: v128, w: v128, x: v128): v128 {
  return f32x4.add(acc, f32x4.mul(w, x));
}

@inline function madd2(acc: v128, w0: v128, x0: v128, w1: v128, x1: v128): v128 {
  return f32x4.add(acc, f32x4.add(f32x4.mul(w0, x0), f32x4.mul(w1, x1)));
}

/** y[i][:] = Σ_p values[p]·x[colIdx[p]][:]; overwrites y (M, B). */
export function spmm(m: i32, k: i32, b: i32, rowPtr: usize, colIdx: usize, values: usize, x: usize, y: usize): void {
  const rowBytes = <usize>b << 2;
  for (let i = 0; i < m; i++) {
    const start = rowStart(rowPtr, i), end = rowStart(rowPtr, i + 1);
    const yRow = y + <usize>i * rowBytes;
    let j = 0;
    for (; j + STRIP <= b; j += STRIP) {
      const offset = <usize>j << 2;
      const xs = x + offset;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      let p = start;
      for (; p + 2 <= end; p += 2) {
        const w0 = v128.load32_splat(values + (<usize>p << 2));
        const w1 = v128.load32_splat(values + (<usize>p << 2), 4);
        const r0 = xRow(xs, colIdx, p, rowBytes), r1 = xRow(xs, colIdx, p + 1, rowBytes);
        a0 = madd2(a0, w0, v128.load(r0), w1, v128.load(r1));
        a1 = madd2(a1, w0, v128.load(r0, 16), w1, v128.load(r1, 16));
        a2 = madd2(a2, w0, v128.load(r0, 32), w1, v128.load(r1, 32));
        a3 = madd2(a3, w0, v128.load(r0, 48), w1, v128.load(r1, 48));
        a4 = madd2(a4, w0, v128.load(r0, 64), w1, v128.load(r1, 64));
        a5 = madd2(a5, w0, v128.load(r0, 80), w1, v128.load(r1, 80));
        a6 = madd2(a6, w0, v128.load(r0, 96), w1, v128.load(r1, 96));
        a7 = madd2(a7, w0, v128.load(r0, 112), w1, v128.load(r1, 112));
      }
      if (p < end) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const r = xRow(xs, colIdx, p, rowBytes);
        a0 = madd(a0, w, v128.load(r));
        a1 = madd(a1, w, v128.load(r, 16));
        a2 = madd(a2, w, v128.load(r, 32));
        a3 = madd(a3, w, v128.load(r, 48));
        a4 = madd(a4, w, v128.load(r, 64));
        a5 = madd(a5, w, v128.load(r, 80));
        a6 = madd(a6, w, v128.load(r, 96));
        a7 = madd(a7, w, v128.load(r, 112));
      }
      const out = yRow + offset;
      v128.store(out, a0);
      v128.store(out, a1, 16);
      v128.store(out, a2, 32);
      v128.store(out, a3, 48);
      v128.store(out, a4, 64);
      v128.store(out, a5, 80);
      v128.store(out, a6, 96);
      v128.store(out, a7, 112);
    }
    for (; j + 4 <= b; j += 4) {
      const offset = <usize>j << 2;
      let a = f32x4.splat(0);
      for (let p = start; p < end; p++) {
        a = madd(a, v128.load32_splat(values + (<usize>p << 2)), v128.load(xRow(x + offset, colIdx, p, rowBytes)));
      }
      v128.store(yRow + offset, a);
    }
    for (; j < b; j++) {
      const offset = <usize>j << 2;
      let s: f32 = 0;
      for (let p = start; p < end; p++) s += load<f32>(values + (<usize>p << 2)) * load<f32>(xRow(x + offset, colIdx, p, rowBytes));
      store<f32>(yRow + offset, s);
    }
  }
}

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
    for (; j + STRIP <= b; j += STRIP) {
      const offset = <usize>j << 2;
      const g = dyRow + offset;
      const g0 = v128.load(g), g1 = v128.load(g, 16), g2 = v128.load(g, 32), g3 = v128.load(g, 48);
      const g4 = v128.load(g, 64), g5 = v128.load(g, 80), g6 = v128.load(g, 96), g7 = v128.load(g, 112);
      const dxs = dx + offset;
      for (let p = start; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const d = xRow(dxs, colIdx, p, rowBytes);
        scatter(d, w, g0);
        scatter(d + 16, w, g1);
        scatter(d + 32, w, g2);
        scatter(d + 48, w, g3);
        scatter(d + 64, w, g4);
        scatter(d + 80, w, g5);
        scatter(d + 96, w, g6);
        scatter(d + 112, w, g7);
      }
    }
    for (; j + 4 <= b; j += 4) {
      const offset = <usize>j << 2;
      const g = v128.load(dyRow + offset);
      for (let p = start; p < end; p++) {
        scatter(xRow(dx + offset, colIdx, p, rowBytes), v128.load32_splat(values + (<usize>p << 2)), g);
      }
    }
    for (; j < b; j++) {
      const offset = <usize>j << 2;
      const g = load<f32>(dyRow + offset);
      for (let p = start; p < end; p++) {
        const d = xRow(dx + offset, colIdx, p, rowBytes);
        store<f32>(d, load<f32>(d) + load<f32>(values + (<usize>p << 2)) * g);
      }
    }
  }
}

@inline function horizontalSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Scalar tail of a dot product over batch elements [from, b). */
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
      const r0 = xRow(x, colIdx, p, rowBytes), r1 = xRow(x, colIdx, p + 1, rowBytes);
      const r2 = xRow(x, colIdx, p + 2, rowBytes), r3 = xRow(x, colIdx, p + 3, rowBytes);
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let c0 = a0, c1 = a0, c2 = a0, c3 = a0;
      let j = 0;
      for (; j + 8 <= b; j += 8) {
        const o = <usize>j << 2;
        const ga = v128.load(g + o), gb = v128.load(g + o, 16);
        a0 = madd(a0, ga, v128.load(r0 + o));
        a1 = madd(a1, ga, v128.load(r1 + o));
        a2 = madd(a2, ga, v128.load(r2 + o));
        a3 = madd(a3, ga, v128.load(r3 + o));
        c0 = madd(c0, gb, v128.load(r0 + o, 16));
        c1 = madd(c1, gb, v128.load(r1 + o, 16));
        c2 = madd(c2, gb, v128.load(r2 + o, 16));
        c3 = madd(c3, gb, v128.load(r3 + o, 16));
      }
      if (j < b4) {
        const o = <usize>j << 2;
        const ga = v128.load(g + o);
        a0 = madd(a0, ga, v128.load(r0 + o));
        a1 = madd(a1, ga, v128.load(r1 + o));
        a2 = madd(a2, ga, v128.load(r2 + o));
        a3 = madd(a3, ga, v128.load(r3 + o));
      }
      const out = dvalues + (<usize>p << 2);
      store<f32>(out, horizontalSum(f32x4.add(a0, c0)) + dotTail(g, r0, b4, b));
      store<f32>(out, horizontalSum(f32x4.add(a1, c1)) + dotTail(g, r1, b4, b), 4);
      store<f32>(out, horizontalSum(f32x4.add(a2, c2)) + dotTail(g, r2, b4, b), 8);
      store<f32>(out, horizontalSum(f32x4.add(a3, c3)) + dotTail(g, r3, b4, b), 12);
    }
    for (; p < end; p++) {
      const r = xRow(x, colIdx, p, rowBytes);
      let a = f32x4.splat(0);
      for (let j = 0; j < b4; j += 4) a = madd(a, v128.load(g + (<usize>j << 2)), v128.load(r + (<usize>j << 2)));
      store<f32>(dvalues + (<usize>p << 2), horizontalSum(a) + dotTail(g, r, b4, b));
    }
  }
}
