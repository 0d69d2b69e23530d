// The explicit input normalization x' = (x − shift)·factor, with one pair for all features or one per feature, in either activation layout.
import { paddedBatch } from "./lanes";

/** Batch-major [batch][features]; shiftStep/factorStep are 1 for one value per feature, 0 for one value for all. */
export function normalizeRows(batch: i32, features: i32, shift: usize, shiftStep: i32, factor: usize, factorStep: i32, x: usize, y: usize): void {
  for (let b = 0; b < batch; b++) {
    const at = <usize>(b * features) << 2;
    for (let f = 0; f < features; f++) {
      const s = load<f32>(shift + (<usize>(f * shiftStep) << 2));
      const m = load<f32>(factor + (<usize>(f * factorStep) << 2));
      const i = at + (<usize>f << 2);
      store<f32>(y + i, (load<f32>(x + i) - s) * m);
    }
  }
}

/** Feature-major [features][P]: one shift and factor per row of examples. */
export function normalizeLanes(batch: i32, features: i32, shift: usize, shiftStep: i32, factor: usize, factorStep: i32, x: usize, y: usize): void {
  const padded = paddedBatch(batch);
  for (let f = 0; f < features; f++) {
    const s = f32x4.splat(load<f32>(shift + (<usize>(f * shiftStep) << 2)));
    const m = f32x4.splat(load<f32>(factor + (<usize>(f * factorStep) << 2)));
    const row = <usize>(f * padded) << 2;
    for (let b = 0; b < padded; b += 4) {
      const i = row + (<usize>b << 2);
      v128.store(y + i, f32x4.mul(f32x4.sub(v128.load(x + i), s), m));
    }
  }
}
