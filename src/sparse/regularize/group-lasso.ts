// Group lasso (Yuan & Lin 2006; for neurons, filters and channels: Wen et al. 2016): λ Σ_g √p_g ‖w_g‖₂, its subgradient and its proximal operator.
//
// The √p_g weighting (p_g = entries per group) makes groups of different sizes pay the same per
// entry. Within one layer all groups have the same size, so it only rescales λ per layer.

/** ‖w_g‖₂ of every group. */
export function groupL2Norms(values: ArrayLike<number>, group: Int32Array, count: number): Float64Array {
  if (values.length !== group.length) throw new RangeError(`group lasso: ${values.length} weights but ${group.length} group indices`);
  const norms = new Float64Array(count);
  for (let i = 0; i < values.length; i++) norms[group[i]] += values[i] * values[i];
  for (let g = 0; g < count; g++) norms[g] = Math.sqrt(norms[g]);
  return norms;
}

/** Σ_g ‖w_g‖₂ (multiply by λ√p_g for the penalty). */
export function groupL2Sum(values: ArrayLike<number>, group: Int32Array, count: number): number {
  return groupL2Norms(values, group, count).reduce((a, b) => a + b, 0);
}

/**
 * grads += λ_g·w/‖w_g‖₂: the gradient of λ_g‖w_g‖₂, and 0 (the minimum-norm subgradient) for a
 * group that is entirely zero.
 */
export function addGroupLassoSubgradient(values: ArrayLike<number>, grads: Float32Array, group: Int32Array, count: number, lambdaPerGroup: number): void {
  const norms = groupL2Norms(values, group, count);
  for (let i = 0; i < values.length; i++) {
    const n = norms[group[i]];
    if (n > 0) grads[i] += (lambdaPerGroup * values[i]) / n;
  }
}

/**
 * The proximal operator of t‖w_g‖₂ per group (block soft-thresholding):
 * w_g ← w_g·max(0, 1 − t/‖w_g‖₂). Groups whose norm is at most t become exactly zero, as a whole.
 * Returns the number of groups that are zero afterwards.
 */
export function groupSoftThreshold(values: Float32Array, group: Int32Array, count: number, t: number): number {
  if (!(t >= 0)) throw new RangeError(`groupSoftThreshold: threshold must be >= 0, got ${t}`);
  const norms = groupL2Norms(values, group, count);
  const scale = Float64Array.from(norms, (n) => (n > t ? 1 - t / n : 0));
  // NOTE: assigned, not multiplied, in zeroed groups: −w·0 would leave −0 in the checkpoint.
  for (let i = 0; i < values.length; i++) values[i] = scale[group[i]] === 0 ? 0 : values[i] * scale[group[i]];
  return scale.reduce((zero, s) => zero + (s === 0 ? 1 : 0), 0);
}
