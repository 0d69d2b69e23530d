// Pruning criteria: a score per weight (higher = more important) or a norm per group of weights; selectors decide what to keep.
//
// Every function works on arrays aligned to the weights that are still alive (kept by the mask, or
// stored in the CSR), listed in ascending dense position (row-major over the PyTorch shape). Dense
// positions are what tie a score to a place in the weight, so a criterion never needs to know
// whether the weight is stored dense or as CSR.
import type { Rng } from "../tensor/rng.js";

/** Magnitude |w| (Han et al. 2015; torch's l1_unstructured). */
export function magnitudeScores(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.abs(values[i]);
  return out;
}

/** Uniform random scores in [0, 1): a baseline. Pass a stream tied to (seed, parameter name, purpose). */
export function randomScores(count: number, rng: Rng): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.uniform();
  return out;
}

/** Gradient magnitude |g|. */
export function gradientScores(grads: ArrayLike<number>): Float32Array {
  return magnitudeScores(grads);
}

/** First-order Taylor estimate of the loss change when w is removed: |w·g| (Molchanov et al. 2017). */
export function taylorScores(values: ArrayLike<number>, grads: ArrayLike<number>): Float32Array {
  checkAligned(values, grads, "taylor");
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.abs(values[i] * grads[i]);
  return out;
}

/**
 * SNIP connection sensitivity (Lee et al. 2019): |g·w| / Σ|g·w|, computed on a batch at
 * initialization. The normalization is shared by all weights compared together, so it does not
 * change which are kept; it makes scores of different layers comparable in magnitude for reports.
 */
export function snipScores(values: ArrayLike<number>, grads: ArrayLike<number>): Float32Array {
  const out = taylorScores(values, grads);
  let total = 0;
  for (const v of out) total += v;
  if (total > 0) for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/**
 * Movement scores (Sanh et al. 2020): S = −Σ_t w_t·g_t accumulated over training steps. Weights
 * moving away from zero score high; weights shrinking towards zero score low and are pruned first.
 * The accumulator is aligned to the alive weights; `keepOnly` follows a pruning that removed some.
 */
export class MovementAccumulator {
  private sums: Float64Array;

  constructor(size: number) {
    this.sums = new Float64Array(size);
  }

  get size(): number {
    return this.sums.length;
  }

  /** Adds −w·g of one step. */
  accumulate(values: ArrayLike<number>, grads: ArrayLike<number>): void {
    checkAligned(values, grads, "movement");
    if (values.length !== this.sums.length) throw new RangeError(`movement: ${values.length} weights, accumulator has ${this.sums.length}`);
    for (let i = 0; i < values.length; i++) this.sums[i] -= values[i] * grads[i];
  }

  scores(): Float32Array {
    return Float32Array.from(this.sums);
  }

  /** Drops the entries whose keep flag is 0 (after a pruning step). */
  keepOnly(keep: ArrayLike<number>): void {
    if (keep.length !== this.sums.length) throw new RangeError(`movement: ${keep.length} keep flags for ${this.sums.length} entries`);
    const next: number[] = [];
    for (let i = 0; i < keep.length; i++) if (keep[i]) next.push(this.sums[i]);
    this.sums = Float64Array.from(next);
  }
}

/**
 * Ln norm of each slice of a weight along `dim`, over all other dimensions — torch's
 * `_compute_norm(t, n, dim)` used by `ln_structured`. For a Linear weight [out, in], dim 0 gives a
 * norm per neuron (row) and dim 1 per input feature (column); for a Conv2d weight
 * [Cout, Cin, k, k], dim 0 per filter and dim 1 per input channel. `p` is 1 or 2.
 */
export function groupNorms(values: ArrayLike<number>, positions: ArrayLike<number>, shape: readonly number[], dim: number, p: 1 | 2): Float64Array {
  if (!(Number.isInteger(dim) && dim >= 0 && dim < shape.length)) throw new RangeError(`groupNorms: dim ${dim} out of range for shape [${shape}]`);
  if (values.length !== positions.length) throw new RangeError(`groupNorms: ${values.length} values for ${positions.length} positions`);
  const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const groups = shape[dim];
  const norms = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) {
    const g = Math.floor(positions[i] / stride) % groups;
    norms[g] += p === 1 ? Math.abs(values[i]) : values[i] * values[i];
  }
  if (p === 2) for (let g = 0; g < groups; g++) norms[g] = Math.sqrt(norms[g]);
  return norms;
}

/** Group of each alive entry along `dim` (which neuron, filter, channel or input it belongs to). */
export function groupOf(positions: ArrayLike<number>, shape: readonly number[], dim: number): Int32Array {
  const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const out = new Int32Array(positions.length);
  for (let i = 0; i < positions.length; i++) out[i] = Math.floor(positions[i] / stride) % shape[dim];
  return out;
}

/** The criteria a recipe or the CLI can name. */
export const criterionNames = ["magnitude", "random", "gradient", "taylor", "snip", "movement"] as const;
export type CriterionName = (typeof criterionNames)[number];

/** Whether a criterion needs the loss gradient of the weights (pruning then happens after a backward pass). */
export function needsGradient(criterion: CriterionName): boolean {
  return criterion !== "magnitude" && criterion !== "random";
}

/**
 * Scores of one weight by a named criterion. `grads` is required for gradient criteria; `rng` for
 * "random"; `movement` for "movement" (its accumulated sums are the scores).
 */
export function scoreWeights(
  criterion: CriterionName,
  input: { name: string; values: ArrayLike<number>; grads?: ArrayLike<number> | null; rng?: Rng; movement?: MovementAccumulator },
): Float32Array {
  const grads = () => {
    if (!input.grads) throw new Error(`criterion "${criterion}" needs the gradient of ${input.name}; prune after a backward pass`);
    return input.grads;
  };
  switch (criterion) {
    case "magnitude": return magnitudeScores(input.values);
    case "random":
      if (!input.rng) throw new Error(`criterion "random" needs a random stream for ${input.name}`);
      return randomScores(input.values.length, input.rng);
    case "gradient": return gradientScores(grads());
    case "taylor": return taylorScores(input.values, grads());
    case "snip": return snipScores(input.values, grads());
    case "movement":
      if (!input.movement) throw new Error(`criterion "movement" needs scores accumulated over training steps for ${input.name}`);
      return input.movement.scores();
  }
}

function checkAligned(values: ArrayLike<number>, grads: ArrayLike<number>, what: string): void {
  if (values.length !== grads.length) throw new RangeError(`${what}: ${values.length} weights but ${grads.length} gradients`);
}
