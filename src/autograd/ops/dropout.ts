// Inverted dropout: in training, keeps each element with probability 1 − p and scales it by 1/(1 − p), so evaluation needs no rescaling.
import { kernels } from "../../backend/kernels.js";
import type { Rng } from "../../tensor/rng.js";
import { empty, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";

/**
 * Dropout with drop probability p ∈ [0, 1). Returns x itself when not training or when p = 0.
 * The mask comes from `rng` (one uniform draw per element, in order), so a run is reproducible
 * from the generator's state; the gradient is g · mask with the same scaled mask.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training: boolean): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const keptScale = 1 / (1 - p);
  const mask = empty(x.shape);
  const m = mask.data;
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < p ? 0 : keptScale;
  const out = empty(x.shape);
  kernels.mul(x.size, x.ptr, mask.ptr, out.ptr);
  return record("dropout", out, [x], (g) => {
    mask.assertAlive();
    const dx = empty(x.shape);
    kernels.mul(x.size, g.ptr, mask.ptr, dx.ptr);
    return [dx];
  });
}
