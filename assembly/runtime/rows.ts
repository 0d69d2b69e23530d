// Batch-major linear kernels for small batches: each output is one sparse (row-gather) or dense dot product over one example's input row, with bias and activation fused.
//
// Layout: x is [batch][cols], y is [batch][rows] (float32, example after example).
import { madd } from "../_fma";
import { activateScalar } from "./activate";

@inline function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** y[b][r] = act(bias[r] + Σ_k values[k]·x[b][colIdx[k]]) over row r's stored entries (CSR, int32 indices). */
export function csrRows(batch: i32, rows: i32, cols: i32, rowPtr: usize, colIdx: usize, values: usize, bias: usize, act: i32, slope: f32, x: usize, y: usize): void {
  for (let b = 0; b < batch; b++) {
    const xb = x + (<usize>(b * cols) << 2);
    const yb = y + (<usize>(b * rows) << 2);
    let start = load<i32>(rowPtr);
    for (let r = 0; r < rows; r++) {
      const end = load<i32>(rowPtr + (<usize>(r + 1) << 2));
      let acc = f32x4.splat(0);
      let k = start;
      // Four entries at a time: gather their four inputs into one vector.
      for (; k + 4 <= end; k += 4) {
        const c = v128.load(colIdx + (<usize>k << 2));
        let g = f32x4.splat(load<f32>(xb + (<usize>i32x4.extract_lane(c, 0) << 2)));
        g = f32x4.replace_lane(g, 1, load<f32>(xb + (<usize>i32x4.extract_lane(c, 1) << 2)));
        g = f32x4.replace_lane(g, 2, load<f32>(xb + (<usize>i32x4.extract_lane(c, 2) << 2)));
        g = f32x4.replace_lane(g, 3, load<f32>(xb + (<usize>i32x4.extract_lane(c, 3) << 2)));
        acc = madd(acc, v128.load(values + (<usize>k << 2)), g);
      }
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
