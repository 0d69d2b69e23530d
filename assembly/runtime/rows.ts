// Batch-major linear kernels for small batches: each output is one sparse (row-gather) or dense dot product over one example's input row, with bias and activation fused.
//
// Layout: x is [batch][cols], y is [batch][rows] (float32, example after example).
import { madd } from "../_fma";
import { activateScalar } from "./activate";

@inline function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** The four inputs x[idx[0..3]]. */
@inline function gather4(x: usize, idx: usize): v128 {
  let g = f32x4.splat(load<f32>(x + (<usize>load<i32>(idx) << 2)));
  g = f32x4.replace_lane(g, 1, load<f32>(x + (<usize>load<i32>(idx, 4) << 2)));
  g = f32x4.replace_lane(g, 2, load<f32>(x + (<usize>load<i32>(idx, 8) << 2)));
  return f32x4.replace_lane(g, 3, load<f32>(x + (<usize>load<i32>(idx, 12) << 2)));
}

/** y[b][r] = act(bias[r] + Σ_k values[k]·x[b][colIdx[k]]) over row r's stored entries (CSR, int32 indices). */
export function csrRows(batch: i32, rows: i32, cols: i32, rowPtr: usize, colIdx: usize, values: usize, bias: usize, act: i32, slope: f32, x: usize, y: usize): void {
  for (let b = 0; b < batch; b++) {
    const xb = x + (<usize>(b * cols) << 2);
    const yb = y + (<usize>(b * rows) << 2);
    let start = load<i32>(rowPtr);
    for (let r = 0; r < rows; r++) {
      const end = load<i32>(rowPtr + (<usize>(r + 1) << 2));
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let k = start;
      // Eight entries at a time into two independent accumulators (the multiply-add latency, not
      // the loads, bounds one chain): gather each four inputs into one vector.
      for (; k + 8 <= end; k += 8) {
        acc0 = madd(acc0, v128.load(values + (<usize>k << 2)), gather4(xb, colIdx + (<usize>k << 2)));
        acc1 = madd(acc1, v128.load(values + (<usize>k << 2), 16), gather4(xb, colIdx + (<usize>k << 2) + 16));
      }
      if (k + 4 <= end) {
        acc0 = madd(acc0, v128.load(values + (<usize>k << 2)), gather4(xb, colIdx + (<usize>k << 2)));
        k += 4;
      }
      const acc = f32x4.add(acc0, acc1);
      let sum = load<f32>(bias + (<usize>r << 2)) + sumLanes(acc);
      for (; k < end; k++) sum += load<f32>(values + (<usize>k << 2)) * load<f32>(xb + (<usize>load<i32>(colIdx + (<usize>k << 2)) << 2));
      store<f32>(yb + (<usize>r << 2), activateScalar(act, slope, sum));
      start = end;
    }
  }
}

/** y[b][r] = act(bias[r] + Σ_c W[r][c]·x[b][c]) with W dense row-major [rows][cols]. */
export function denseRows(batch: i32, rows: i32, cols: i32, weights: usize, bias: usize, act: i32, slope: f32, x: usize, y: usize): void {
  for (let b = 0; b < batch; b++) {
    const xb = x + (<usize>(b * cols) << 2);
    const yb = y + (<usize>(b * rows) << 2);
    for (let r = 0; r < rows; r++) {
      const w = weights + (<usize>(r * cols) << 2);
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let c = 0;
      for (; c + 8 <= cols; c += 8) {
        const at = <usize>c << 2;
        acc0 = madd(acc0, v128.load(w + at), v128.load(xb + at));
        acc1 = madd(acc1, v128.load(w + at, 16), v128.load(xb + at, 16));
      }
      for (; c + 4 <= cols; c += 4) acc0 = madd(acc0, v128.load(w + (<usize>c << 2)), v128.load(xb + (<usize>c << 2)));
      let sum = load<f32>(bias + (<usize>r << 2)) + sumLanes(f32x4.add(acc0, acc1));
      for (; c < cols; c++) sum += load<f32>(w + (<usize>c << 2)) * load<f32>(xb + (<usize>c << 2));
      store<f32>(yb + (<usize>r << 2), activateScalar(act, slope, sum));
    }
  }
}
