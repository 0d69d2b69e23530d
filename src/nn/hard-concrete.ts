// Hard-concrete gates of L0 regularization (Louizos, Welling & Kingma 2018): the gate op with its backward, and the expected L0 penalty.
//
// A gate z ∈ [0, 1] per weight (or group) with parameter log α. In training (eq. 10–11):
//   u ~ U(0, 1),  s = σ((log u − log(1 − u) + log α) / β),  s̄ = s·(ζ − γ) + γ,  z = min(1, max(0, s̄)).
// Stretching s to (γ, ζ) = (−0.1, 1.1) and clamping puts probability mass on exactly 0 and 1, so
// gates switch weights off for real. At test time the noise is dropped (eq. 13):
//   z = min(1, max(0, σ(log α)·(ζ − γ) + γ)).
// The expected number of non-zero gates is differentiable (eq. 12):
//   E‖θ‖₀ = Σ_j P(z_j ≠ 0) = Σ_j σ(log α_j − β·log(−γ/ζ)).
import { record } from "../autograd/engine.js";
import { empty, type Tensor } from "../tensor/tensor.js";

export interface HardConcreteParameters {
  /** Temperature β of the concrete distribution. */
  beta: number;
  /** Stretch interval (γ, ζ) with γ < 0 < 1 < ζ. */
  gamma: number;
  zeta: number;
}

/** The values of the paper. */
export const LOUIZOS_HARD_CONCRETE: HardConcreteParameters = { beta: 2 / 3, gamma: -0.1, zeta: 1.1 };

/** Noise is kept inside (ε, 1 − ε) so that log u and log(1 − u) stay finite. */
const NOISE_EPSILON = 1e-6;

export function checkHardConcrete(p: HardConcreteParameters): void {
  if (!(p.beta > 0)) throw new RangeError(`hard-concrete: beta (temperature) must be > 0, got ${p.beta}`);
  if (!(p.gamma < 0 && p.zeta > 1)) throw new RangeError(`hard-concrete: the stretch needs gamma < 0 and zeta > 1, got gamma ${p.gamma}, zeta ${p.zeta}`);
}

function sigmoidOf(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Maps uniform draws u ∈ [0, 1) to the logistic noise log u − log(1 − u) (in place). */
export function logisticNoise(uniforms: Float32Array): Float32Array {
  for (let i = 0; i < uniforms.length; i++) {
    const u = Math.min(1 - NOISE_EPSILON, Math.max(NOISE_EPSILON, uniforms[i]));
    uniforms[i] = Math.log(u / (1 - u));
  }
  return uniforms;
}

/**
 * Gates z for parameters log α (any shape). `noise` holds logistic noise (`logisticNoise`) per gate
 * for a stochastic gate, or null for the deterministic test-time gate. Gradients flow to log α:
 * dz/dlog α = (ζ − γ)·s(1 − s)/β (β → 1 without noise) where 0 < s̄ < 1, and 0 where clamped.
 */
export function hardConcreteGate(logAlpha: Tensor, noise: Float32Array | null, p: HardConcreteParameters = LOUIZOS_HARD_CONCRETE): Tensor {
  if (noise !== null && noise.length !== logAlpha.size) throw new RangeError(`hardConcreteGate: ${noise.length} noise values for ${logAlpha.size} gates`);
  const n = logAlpha.size;
  const temperature = noise === null ? 1 : p.beta;
  const stretch = p.zeta - p.gamma;
  const z = empty(logAlpha.shape);
  // dz/dlog α per gate, kept for backward (float32 is plenty for a derivative).
  const slope = new Float32Array(n);
  const la = logAlpha.data, out = z.data;
  for (let i = 0; i < n; i++) {
    const s = sigmoidOf(((noise === null ? 0 : noise[i]) + la[i]) / temperature);
    const stretched = s * stretch + p.gamma;
    if (stretched <= 0) out[i] = 0;
    else if (stretched >= 1) out[i] = 1;
    else {
      out[i] = stretched;
      slope[i] = (stretch * s * (1 - s)) / temperature;
    }
  }
  return record("hardConcreteGate", z, [logAlpha], (dz) => {
    const grad = empty(logAlpha.shape);
    const g = grad.data, d = dz.data;
    for (let i = 0; i < n; i++) g[i] = d[i] * slope[i];
    return [grad];
  });
}

/** Deterministic (test-time) gates of the log α values, without autograd: what folds into the weights. */
export function deterministicHardConcrete(logAlpha: ArrayLike<number>, p: HardConcreteParameters = LOUIZOS_HARD_CONCRETE): Float32Array {
  const out = new Float32Array(logAlpha.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, sigmoidOf(logAlpha[i]) * (p.zeta - p.gamma) + p.gamma));
  return out;
}

/** P(z ≠ 0) = σ(log α − β·log(−γ/ζ)) of one gate. */
function probabilityNonZero(logAlpha: number, p: HardConcreteParameters): number {
  return sigmoidOf(logAlpha - p.beta * Math.log(-p.gamma / p.zeta));
}

/** The expected L0 norm Σ_j σ(log α_j − β·log(−γ/ζ)). */
export function expectedL0(logAlpha: ArrayLike<number>, p: HardConcreteParameters = LOUIZOS_HARD_CONCRETE): number {
  let total = 0;
  for (let i = 0; i < logAlpha.length; i++) total += probabilityNonZero(logAlpha[i], p);
  return total;
}

/** grads += λ·∂E‖θ‖₀/∂log α = λ·q(1 − q) with q = P(z ≠ 0): the penalty λ·E‖θ‖₀ joins the loss. */
export function addExpectedL0Gradient(logAlpha: ArrayLike<number>, grads: Float32Array, lambda: number, p: HardConcreteParameters = LOUIZOS_HARD_CONCRETE): void {
  for (let i = 0; i < logAlpha.length; i++) {
    const q = probabilityNonZero(logAlpha[i], p);
    grads[i] += lambda * q * (1 - q);
  }
}
