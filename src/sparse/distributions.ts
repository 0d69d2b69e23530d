// Per-layer non-zero budgets from one global density: uniform, Erdős–Rényi and Erdős–Rényi-Kernel (ERK), with an exact total.
//
// Every distribution gives layer l a density ε·s_l for a layer score s_l and one global factor ε
// chosen so that the non-zeros add up to the budget (Evci et al. 2020, RigL's
// `sparse_utils.get_sparsities`):
//   uniform      s = 1
//   erdos-renyi  s = (n_in + n_out) / (n_in · n_out)            (Mocanu et al. 2018)
//   erk          s = (Σ dims) / (∏ dims), kernel dims included  (Evci et al. 2020)
// A layer whose density would exceed 1 is made dense and ε is solved again for the rest.
//
// NOTE: the budget is exact. The total number of non-zeros is round(density · Σ layer sizes);
// each layer gets ⌊ε·s_l·n_l⌋ or one more (largest remainders, ties to the earlier layer), so a
// layer's count is within 1 of its real-valued share and the counts add up to the budget.
import type { WeightLayerShape } from "../nn/presets.js";

export type DistributionName = "uniform" | "erdos-renyi" | "erk";
export const distributionNames = ["uniform", "erdos-renyi", "erk"] as const;

export interface DistributionOptions {
  /** Global density over all weight layers in (0, 1]. */
  density: number;
  /** Keep the first weight layer dense (it still counts towards the budget). */
  denseFirst?: boolean;
  /** Keep the last weight layer dense (it still counts towards the budget). */
  denseLast?: boolean;
}

/** One weight layer's share of the budget. */
export interface LayerBudget {
  /** Layer index in the Sequential. */
  index: number;
  /** Weights of the dense layer. */
  size: number;
  /** Non-zeros it gets (= size for a dense layer). */
  count: number;
  /** count / size. */
  density: number;
}

const weightCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Score of a layer for a distribution (the density is proportional to it). */
export function layerScore(name: DistributionName, shape: readonly number[]): number {
  switch (name) {
    case "uniform":
      return 1;
    case "erdos-renyi": {
      // PyTorch weight shapes start with [out, in]: kernel dims do not count here.
      const [nOut, nIn] = shape;
      return (nIn + nOut) / (nIn * nOut);
    }
    case "erk":
      return shape.reduce((a, b) => a + b, 0) / weightCount(shape);
  }
}

/**
 * Splits `total` into integers proportional to `weights`, each at most its `cap`, by largest
 * remainders (ties to the lower index); the shares add up to `total` exactly. Throws when the caps
 * cannot hold `total`.
 */
export function apportion(total: number, weights: readonly number[], caps: readonly number[]): number[] {
  const counts = new Array<number>(weights.length).fill(0);
  const capTotal = caps.reduce((a, b) => a + b, 0);
  if (total > capTotal) throw new RangeError(`apportion: ${total} exceeds the capacity ${capTotal}`);
  let left = total;
  // Shares that hit their cap are fixed at it and the rest is split again among the others.
  const open = new Set(weights.map((_, i) => i).filter((i) => caps[i] > 0));
  while (left > 0 && open.size > 0) {
    let weightSum = 0;
    for (const i of open) weightSum += weights[i];
    const ideal = new Map<number, number>();
    for (const i of open) ideal.set(i, weightSum > 0 ? (left * weights[i]) / weightSum : left / open.size);
    const overfull = [...open].filter((i) => counts[i] + ideal.get(i)! >= caps[i]);
    if (overfull.length > 0) {
      for (const i of overfull) {
        left -= caps[i] - counts[i];
        counts[i] = caps[i];
        open.delete(i);
      }
      continue;
    }
    const order = [...open];
    let given = 0;
    for (const i of order) {
      const whole = Math.floor(ideal.get(i)!);
      counts[i] += whole;
      given += whole;
    }
    const remainder = (i: number) => ideal.get(i)! - Math.floor(ideal.get(i)!);
    order.sort((a, b) => remainder(b) - remainder(a) || a - b);
    for (let r = 0; r < left - given; r++) counts[order[r]]++;
    left = 0;
  }
  return counts;
}

/**
 * Non-zeros per weight layer for a global `density`. Errors name the option when the budget
 * cannot be met: the dense layers alone exceed it, or a sparse layer would get no weight at all.
 */
export function distributeDensity(name: DistributionName, layers: readonly WeightLayerShape[], options: DistributionOptions): LayerBudget[] {
  const { density } = options;
  if (!(density > 0 && density <= 1)) throw new RangeError(`sparsity.density must be in (0, 1], got ${density}`);
  if (layers.length === 0) throw new RangeError("sparsity: the model has no weight layers to make sparse");
  const sizes = layers.map((l) => weightCount(l.shape));
  const totalWeights = sizes.reduce((a, b) => a + b, 0);
  const budget = Math.round(density * totalWeights);
  const dense = new Set<number>();
  if (options.denseFirst) dense.add(0);
  if (options.denseLast) dense.add(layers.length - 1);
  const scores = layers.map((l) => layerScore(name, l.shape));

  for (;;) {
    const denseWeights = [...dense].reduce((a, i) => a + sizes[i], 0);
    const rest = budget - denseWeights;
    const sparse = layers.map((_, i) => i).filter((i) => !dense.has(i));
    if (rest < sparse.length) {
      const held = dense.size > 0 ? `the dense layers (${[...dense].map((i) => `layers.${layers[i].index}`).join(", ")}) hold ${denseWeights} weights and ` : "";
      throw new RangeError(
        `sparsity: a density of ${density} cannot be met: the budget is ${budget} of ${totalWeights} weights; ${held}` +
          `the ${sparse.length} sparse layer(s) need at least one weight each. Raise sparsity.density` +
          (dense.size > 0 ? " or set denseFirst/denseLast to false" : ""),
      );
    }
    if (sparse.length === 0) break;
    const divisor = sparse.reduce((a, i) => a + scores[i] * sizes[i], 0);
    const epsilon = rest / divisor;
    const maxScore = Math.max(...sparse.map((i) => scores[i]));
    if (maxScore * epsilon > 1) {
      // As in RigL: the layers with the largest score would exceed density 1, so they become dense.
      for (const i of sparse) if (scores[i] === maxScore) dense.add(i);
      continue;
    }
    const counts = apportion(rest, sparse.map((i) => scores[i] * sizes[i]), sparse.map((i) => sizes[i]));
    return layers.map((l, i) => {
      const count = dense.has(i) ? sizes[i] : counts[sparse.indexOf(i)];
      return { index: l.index, size: sizes[i], count, density: count / sizes[i] };
    });
  }
  return layers.map((l, i) => ({ index: l.index, size: sizes[i], count: sizes[i], density: 1 }));
}

/** The layers to build sparse (density < 1), as `ModelSpec.sparse` wants them: density by layer index. */
export function sparseLayerDensities(budgets: readonly LayerBudget[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const b of budgets) if (b.count < b.size) result[String(b.index)] = b.density;
  return result;
}
