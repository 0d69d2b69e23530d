// Batch-in-lanes kernels for large batches: activations stored feature-major ([features][P], P = batch rounded up to 4), so one weight multiplies four (or sixteen) examples at once; plus the transposes into and out of that layout.
import { madd } from "../_fma";
import { activateVector } from "./activate";

/** The batch padded to whole vectors of four examples. */
@inline export function paddedBatch(batch: i32): i32 {
  return (batch + 3) & ~3;
}

/**
 * y[r][b] = act(bias[r] + Σ_k values[k]·x[colIdx[k]][b]) for every example b, sixteen examples at
 * a time (four independent accumulators), then eight, then four. The example tile is the outer
 * loop, so that its slice of x stays in cache while the weights stream past.
 */
export function csrLanes(batch: i32, rows: i32, rowPtr: usize, colIdx: usize, values: usize, bias: usize, act: i32, slope: f32, x: usize, y: usize): void {
  const padded = paddedBatch(batch);
  const stride = <usize>padded << 2;
  let b0 = 0;
  for (; b0 + 16 <= padded; b0 += 16) {
    const xt = x + (<usize>b0 << 2);
    const yt = y + (<usize>b0 << 2);
    let start = load<i32>(rowPtr);
    for (let r = 0; r < rows; r++) {
      const end = load<i32>(rowPtr + (<usize>(r + 1) << 2));
      const b = f32x4.splat(load<f32>(bias + (<usize>r << 2)));
      let acc0 = b, acc1 = b, acc2 = b, acc3 = b;
      for (let k = start; k < end; k++) {
        const w = f32x4.splat(load<f32>(values + (<usize>k << 2)));
        const xp = xt + <usize>load<i32>(colIdx + (<usize>k << 2)) * stride;
        acc0 = madd(acc0, w, v128.load(xp));
        acc1 = madd(acc1, w, v128.load(xp, 16));
        acc2 = madd(acc2, w, v128.load(xp, 32));
        acc3 = madd(acc3, w, v128.load(xp, 48));
      }
      const yp = yt + <usize>r * stride;
      v128.store(yp, activateVector(act, slope, acc0));
      v128.store(yp, activateVector(act, slope, acc1), 16);
      v128.store(yp, activateVector(act, slope, acc2), 32);
      v128.store(yp, activateVector(act, slope, acc3), 48);
      start = end;
    }
  }
  if (b0 + 8 <= padded) {
    const xt = x + (<usize>b0 << 2);
    const yt = y + (<usize>b0 << 2);
    let start = load<i32>(rowPtr);
    for (let r = 0; r < rows; r++) {
      const end = load<i32>(rowPtr + (<usize>(r + 1) << 2));
      const b = f32x4.splat(load<f32>(bias + (<usize>r << 2)));
      let acc0 = b, acc1 = b;
      for (let k = start; k < end; k++) {
        const w = f32x4.splat(load<f32>(values + (<usize>k << 2)));
        const xp = xt + <usize>load<i32>(colIdx + (<usize>k << 2)) * stride;
        acc0 = madd(acc0, w, v128.load(xp));
        acc1 = madd(acc1, w, v128.load(xp, 16));
      }
      const yp = yt + <usize>r * stride;
      v128.store(yp, activateVector(act, slope, acc0));
      v128.store(yp, activateVector(act, slope, acc1), 16);
      start = end;
    }
    b0 += 8;
  }
  for (; b0 < padded; b0 += 4) {
    const xt = x + (<usize>b0 << 2);
    const yt = y + (<usize>b0 << 2);
    let start = load<i32>(rowPtr);
    for (let r = 0; r < rows; r++) {
      const end = load<i32>(rowPtr + (<usize>(r + 1) << 2));
      let acc = f32x4.splat(load<f32>(bias + (<usize>r << 2)));
      for (let k = start; k < end; k++) {
        acc = madd(acc, f32x4.splat(load<f32>(values + (<usize>k << 2))), v128.load(xt + <usize>load<i32>(colIdx + (<usize>k << 2)) * stride));
      }
      v128.store(yt + <usize>r * stride, activateVector(act, slope, acc));
      start = end;
    }
  }
}

/** y[r][b] = act(bias[r] + Σ_c W[r][c]·x[c][b]) with W dense row-major [rows][cols]; tiles as csrLanes. */
export function denseLanes(batch: i32, rows: i32, cols: i32, weights: usize, bias: usize, act: i32, slope: f32, x: usize, y: usize): void {
  const padded = paddedBatch(batch);
  const stride = <usize>padded << 2;
  let b0 = 0;
  for (; b0 + 16 <= padded; b0 += 16) {
    const xt = x + (<usize>b0 << 2);
    const yt = y + (<usize>b0 << 2);
    for (let r = 0; r < rows; r++) {
      const wr = weights + (<usize>(r * cols) << 2);
      const b = f32x4.splat(load<f32>(bias + (<usize>r << 2)));
      let acc0 = b, acc1 = b, acc2 = b, acc3 = b;
      let xp = xt;
      for (let c = 0; c < cols; c++) {
        const w = f32x4.splat(load<f32>(wr + (<usize>c << 2)));
        acc0 = madd(acc0, w, v128.load(xp));
        acc1 = madd(acc1, w, v128.load(xp, 16));
        acc2 = madd(acc2, w, v128.load(xp, 32));
        acc3 = madd(acc3, w, v128.load(xp, 48));
        xp += stride;
      }
      const yp = yt + <usize>r * stride;
      v128.store(yp, activateVector(act, slope, acc0));
      v128.store(yp, activateVector(act, slope, acc1), 16);
      v128.store(yp, activateVector(act, slope, acc2), 32);
      v128.store(yp, activateVector(act, slope, acc3), 48);
    }
  }
  for (; b0 < padded; b0 += 4) {
    const xt = x + (<usize>b0 << 2);
    const yt = y + (<usize>b0 << 2);
    for (let r = 0; r < rows; r++) {
      const wr = weights + (<usize>(r * cols) << 2);
      let acc = f32x4.splat(load<f32>(bias + (<usize>r << 2)));
      for (let c = 0; c < cols; c++) acc = madd(acc, f32x4.splat(load<f32>(wr + (<usize>c << 2))), v128.load(xt + <usize>c * stride));
      v128.store(yt + <usize>r * stride, activateVector(act, slope, acc));
    }
  }
}

/** Four rows of four floats, transposed: out[i] holds lane i of r0..r3. */
@inline function store4x4Transposed(r0: v128, r1: v128, r2: v128, r3: v128, out: usize, outStride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<i64>(t0, t2, 0, 2));
  v128.store(out + outStride, v128.shuffle<i64>(t0, t2, 1, 3));
  v128.store(out + 2 * outStride, v128.shuffle<i64>(t1, t3, 0, 2));
  v128.store(out + 3 * outStride, v128.shuffle<i64>(t1, t3, 1, 3));
}

/** [batch][features] → [features][P]; the padding examples become 0. */
export function toLanes(batch: i32, features: i32, x: usize, y: usize): void {
  const padded = paddedBatch(batch);
  const inRow = <usize>features << 2;
  const outRow = <usize>padded << 2;
  for (let b0 = 0; b0 < padded; b0 += 4) {
    const yb = y + (<usize>b0 << 2);
    let f = 0;
    if (b0 + 4 <= batch) {
      const xb = x + <usize>b0 * inRow;
      for (; f + 4 <= features; f += 4) {
        const at = xb + (<usize>f << 2);
        store4x4Transposed(v128.load(at), v128.load(at + inRow), v128.load(at + 2 * inRow), v128.load(at + 3 * inRow), yb + <usize>f * outRow, outRow);
      }
    }
    for (; f < features; f++) {
      for (let i = 0; i < 4; i++) {
        const b = b0 + i;
        store<f32>(yb + <usize>f * outRow + (<usize>i << 2), b < batch ? load<f32>(x + <usize>b * inRow + (<usize>f << 2)) : 0);
      }
    }
  }
}

/** [features][P] → [batch][features]. */
export function fromLanes(batch: i32, features: i32, x: usize, y: usize): void {
  const padded = paddedBatch(batch);
  const inRow = <usize>padded << 2;
  const outRow = <usize>features << 2;
  for (let b0 = 0; b0 < batch; b0 += 4) {
    const xb = x + (<usize>b0 << 2);
    let f = 0;
    if (b0 + 4 <= batch) {
      const yb = y + <usize>b0 * outRow;
      for (; f + 4 <= features; f += 4) {
        const at = xb + <usize>f * inRow;
        store4x4Transposed(v128.load(at), v128.load(at + inRow), v128.load(at + 2 * inRow), v128.load(at + 3 * inRow), yb + (<usize>f << 2), outRow);
      }
    }
    for (; f < features; f++) {
      for (let i = 0; i < 4 && b0 + i < batch; i++) {
        store<f32>(y + <usize>(b0 + i) * outRow + (<usize>f << 2), load<f32>(xb + <usize>f * inRow + (<usize>i << 2)));
      }
    }
  }
}
