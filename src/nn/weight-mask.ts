// Fixing a binary mask on a dense weight: shape and values checked, masked weights zeroed, the mask kept alive.
import { formatShape, keep, type Tensor } from "../tensor/tensor.js";

/** Checks `mask` against `weight` (same shape, only 0 and 1), zeroes the masked weights and keeps the mask. `owner` names the caller in errors. */
export function applyWeightMask(owner: string, weight: Tensor, mask: Tensor): void {
  if (mask.shape.join() !== weight.shape.join()) {
    throw new RangeError(`${owner}: mask shape ${formatShape(mask.shape)} does not match weight ${formatShape(weight.shape)}`);
  }
  const w = weight.data, m = mask.data;
  for (let i = 0; i < w.length; i++) {
    if (m[i] !== 0 && m[i] !== 1) throw new RangeError(`${owner}: mask must be binary, found ${m[i]} at ${i}`);
    if (m[i] === 0) w[i] = 0;
  }
  keep(mask);
}
