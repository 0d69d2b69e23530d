// Batch-major linear kernels for small batches: sparse rows four at a time (row-gather, SELL-4) or dense dot products over one example's input row, with bias and activation fused.
//
// Layout: x is [batch][cols], y is [batch][rows] (float32, example after example).
import { madd } from "../_fma";
import { activateScalar, activateVector } from "./activate";

@inline function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** The four inputs at the byte offsets off[0..3] from x: the first loaded into lane 0 (others zero), the rest inserted. */
@inline function gather4(x: usize, off: usize): v128 {
  let g = v128.load32_zero(x + <usize>load<i32>(off));
  g = v128.load32_lane(x + <usize>load<i32>(off, 4), g, 1);
  g = v128.load32_lane(x + <usize>load<i32>(off, 8), g, 2);
  return v128.load32_lane(x + <usize>load<i32>(off, 12), g, 3);
}

/**
 * y[b][r] = act(bias[r] + Σ_k values[k]·x[b][col_k]) over row r's stored entries, four rows at a
 * time in the SELL-4 layout of src/runtime/row-groups.ts: group records of 48 bytes
 * ([full, masked, 0, 0, bias × 4, output byte offset × 4]) and steps of 32 bytes
 * ([input byte offset × 4, value × 4]), plus a lane mask × 4 on each of the `masked` steps.
 */
export function csrRowGroups(batch: i32, rows: i32, cols: i32, groups: usize, steps: usize, groupCount: i32, act: i32, slope: f32, x: usize, y: usize): void {
  for (let b = 0; b < batch; b++) {
    const xb = x + (<usize>(b * cols) << 2);
    const yb = y + (<usize>(b * rows) << 2);
    let step = steps;
    for (let g = 0; g < groupCount; g++) {
      const record = groups + <usize>(g * 48);
      const full = load<i32>(record);
      const masked = load<i32>(record, 4);
      // Two accumulators: the multiply-add latency, not the gathers, would bound a single chain.
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let j = 0;
      for (; j + 2 <= full; j += 2) {
        acc0 = madd(acc0, v128.load(step, 16), gather4(xb, step));
        acc1 = madd(acc1, v128.load(step, 48), gather4(xb, step + 32));
        step += 64;
      }
      if (j < full) {
        acc0 = madd(acc0, v128.load(step, 16), gather4(xb, step));
        step += 32;
      }
      // Ended rows' lanes read x at offset 0 with value 0; the mask makes that input 0 (0·Inf would be NaN).
      for (let m = 0; m < masked; m++) {
        acc1 = madd(acc1, v128.load(step, 16), v128.and(gather4(xb, step), v128.load(step, 32)));
        step += 48;
      }
      const out = activateVector(act, slope, f32x4.add(v128.load(record, 16), f32x4.add(acc0, acc1)));
      // Lane 0 last: a lane past the layer's last row writes to lane 0's row first.
      store<f32>(yb + <usize>load<i32>(record, 44), f32x4.extract_lane(out, 3));
      store<f32>(yb + <usize>load<i32>(record, 40), f32x4.extract_lane(out, 2));
      store<f32>(yb + <usize>load<i32>(record, 36), f32x4.extract_lane(out, 1));
      store<f32>(yb + <usize>load<i32>(record, 32), f32x4.extract_lane(out, 0));
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
