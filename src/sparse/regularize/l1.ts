// L1 regularization of weights: the subgradient of λ‖w‖₁ for a loss penalty, and its proximal operator (soft-thresholding).

/** ‖w‖₁. */
export function l1Norm(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.abs(values[i]);
  return s;
}

/**
 * grads += λ·sign(w): a subgradient of λ‖w‖₁, so adding it to the loss gradient is exactly training
 * on loss + λ‖w‖₁. At w = 0 it takes 0 (the minimum-norm subgradient), so a zero weight whose loss
 * gradient is zero stays put. Subgradient steps make weights oscillate around 0 rather than reach it:
 * the classic recipe thresholds small weights at the end.
 */
export function addL1Subgradient(values: ArrayLike<number>, grads: Float32Array, lambda: number): void {
  if (values.length !== grads.length) throw new RangeError(`L1: ${values.length} weights but ${grads.length} gradients`);
  for (let i = 0; i < values.length; i++) {
    const w = values[i];
    if (w > 0) grads[i] += lambda;
    else if (w < 0) grads[i] -= lambda;
  }
}

/**
 * The proximal operator of t‖w‖₁ (soft-thresholding, as in ISTA): w ← sign(w)·max(|w| − t, 0).
 * After a gradient step of size lr on the loss, t = lr·λ makes the pair a proximal-gradient step on
 * loss + λ‖w‖₁; weights within t of zero become exactly zero. Returns the number of exact zeros.
 */
export function softThreshold(values: Float32Array, t: number): number {
  if (!(t >= 0)) throw new RangeError(`softThreshold: threshold must be >= 0, got ${t}`);
  let zeros = 0;
  for (let i = 0; i < values.length; i++) {
    const w = values[i];
    if (w > t) values[i] = w - t;
    else if (w < -t) values[i] = w + t;
    else values[i] = 0;
    if (values[i] === 0) zeros++;
  }
  return zeros;
}
