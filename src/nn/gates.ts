// Learnable gates on weights or neurons: sigmoid gates with a penalty on their values, and hard-concrete (L0) gates.
import { sigmoid } from "../autograd/ops/activation.js";
import type { ForwardContext } from "./layer.js";
import type { Rng } from "../tensor/rng.js";
import { tensor, type Tensor } from "../tensor/tensor.js";
import {
  addExpectedL0Gradient, checkHardConcrete, deterministicHardConcrete, expectedL0, hardConcreteGate, logisticNoise,
  type HardConcreteParameters,
} from "./hard-concrete.js";

/**
 * One kind of gate, acting on a parameter θ (one entry per gated weight or neuron). The penalty
 * λ·P(θ) joins the loss through `addPenaltyGradient` (the trainer computes only the data loss).
 */
export interface GateKind {
  readonly name: "sigmoid" | "hard-concrete";
  /** The options the kind was made with, as plain data (`gateKindFrom` makes the same kind again, e.g. in a worker thread). */
  readonly settings: GateSettings;
  /** True when training gates are random: one uniform draw per gate in each training forward pass. */
  readonly stochastic: boolean;
  /** Local name of the gate parameter; the model prefixes the layer ("layers.0.log_alpha"). */
  readonly parameterName: string;
  /** Initial parameter values for `count` gates. */
  initialValues(count: number, rng: Rng): Float32Array;
  /**
   * Gates in a forward pass: stochastic in training where the kind is, deterministic otherwise.
   * A stochastic kind uses `uniforms` (one per gate) when given, else draws them from `ctx.rng`.
   */
  gate(parameter: Tensor, ctx: ForwardContext, uniforms?: ArrayLike<number>): Tensor;
  /** The deterministic (test-time) gates: what folds into the weights when training ends. */
  deterministic(parameter: ArrayLike<number>): Float32Array;
  penalty(parameter: ArrayLike<number>): number;
  addPenaltyGradient(parameter: ArrayLike<number>, grads: Float32Array, lambda: number): void;
}

/** The options of a gate kind, as plain (structured-clonable) data. */
export type GateSettings =
  | { name: "sigmoid"; initialGate: number; pruneBelow: number }
  | ({ name: "hard-concrete"; initialDropRate: number } & HardConcreteParameters);

/** The gate kind `settings` describe. */
export function gateKindFrom(settings: GateSettings): GateKind {
  if (settings.name === "sigmoid") return sigmoidGates(settings);
  const { name: _, ...options } = settings;
  return hardConcreteGates(options);
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/**
 * Sigmoid gates z = σ(θ) with penalty Σ z (z > 0, so this is ‖z‖₁). Gates are smooth in training;
 * at test time (and when folded) a gate below `pruneBelow` is exactly 0, which is what makes the
 * network sparse. `initialGate` sets σ(θ) at the start (close to 1 keeps a trained network intact).
 */
export function sigmoidGates(options: { initialGate: number; pruneBelow: number }): GateKind {
  const { initialGate, pruneBelow } = options;
  if (!(initialGate > 0 && initialGate < 1)) throw new RangeError(`sigmoid gates: initialGate must be in (0, 1), got ${initialGate}`);
  if (!(pruneBelow >= 0 && pruneBelow < 1)) throw new RangeError(`sigmoid gates: pruneBelow must be in [0, 1), got ${pruneBelow}`);
  const deterministic = (theta: ArrayLike<number>) => {
    const out = new Float32Array(theta.length);
    for (let i = 0; i < out.length; i++) {
      const z = 1 / (1 + Math.exp(-theta[i]));
      out[i] = z < pruneBelow ? 0 : z;
    }
    return out;
  };
  return {
    name: "sigmoid",
    settings: { name: "sigmoid", initialGate, pruneBelow },
    stochastic: false,
    parameterName: "gate_scores",
    initialValues: (count) => new Float32Array(count).fill(logit(initialGate)),
    gate: (theta, ctx) => (ctx.training ? sigmoid(theta) : tensor(deterministic(theta.data), theta.shape)),
    deterministic,
    penalty(theta) {
      let s = 0;
      for (let i = 0; i < theta.length; i++) s += 1 / (1 + Math.exp(-theta[i]));
      return s;
    },
    addPenaltyGradient(theta, grads, lambda) {
      for (let i = 0; i < theta.length; i++) {
        const z = 1 / (1 + Math.exp(-theta[i]));
        grads[i] += lambda * z * (1 - z);
      }
    },
  };
}

/**
 * Hard-concrete gates (L0 regularization, Louizos et al. 2018) with parameters log α, initialized
 * as in the paper to N(log(1 − p) − log p, 0.01²) for an initial drop rate p. The training noise
 * comes from the model's random stream (`ctx.rng`), which checkpoints save.
 */
export function hardConcreteGates(options: { initialDropRate: number } & HardConcreteParameters): GateKind {
  const { initialDropRate, ...p } = options;
  checkHardConcrete(p);
  if (!(initialDropRate > 0 && initialDropRate < 1)) throw new RangeError(`L0 gates: initialDropRate must be in (0, 1), got ${initialDropRate}`);
  return {
    name: "hard-concrete",
    settings: { name: "hard-concrete", initialDropRate, ...p },
    stochastic: true,
    parameterName: "log_alpha",
    initialValues(count, rng) {
      const mean = logit(1 - initialDropRate);
      return Float32Array.from({ length: count }, () => mean + 0.01 * rng.normal());
    },
    gate(logAlpha, ctx, uniforms) {
      if (!ctx.training) return hardConcreteGate(logAlpha, null, p);
      const noise = new Float32Array(logAlpha.size);
      for (let i = 0; i < noise.length; i++) noise[i] = uniforms === undefined ? ctx.rng.uniform() : uniforms[i];
      return hardConcreteGate(logAlpha, logisticNoise(noise), p);
    },
    deterministic: (logAlpha) => deterministicHardConcrete(logAlpha, p),
    penalty: (logAlpha) => expectedL0(logAlpha, p),
    addPenaltyGradient: (logAlpha, grads, lambda) => addExpectedL0Gradient(logAlpha, grads, lambda, p),
  };
}

export type { HardConcreteParameters };
