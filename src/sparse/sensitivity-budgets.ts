// Per-layer sparsity budgets from a sensitivity scan: spend a global sparsity where pruning costs the least accuracy, with an exact total.
//
// Each layer's scan is a curve of accuracy drop against pruned count, from its current zeros (drop
// 0) through the grid points, linear in between. Its running maximum (the "envelope") makes the
// curve non-decreasing, so a layer is never pushed past a point that hurt more than the threshold.
// For a common threshold τ every layer takes the largest count whose envelope is ≤ τ (at most its
// count at the grid's largest sparsity); the total is non-decreasing in τ, and τ is bisected
// until the total reaches round(target·N) of the N scanned weights. Where the total jumps (a
// flat stretch of a curve), the last weights are shared in proportion to the jump of each layer.
// Real-valued counts then become integers by largest remainders, so they add up exactly.
import { roundHalfEven } from "./selectors.js";
import type { SensitivityScan } from "./sensitivity.js";

export interface BudgetOptions {
  /** Global sparsity over the scanned weights, in [0, 1). */
  target?: number;
  /** Largest accuracy drop (a fraction, e.g. 0.01) any single layer may cost; alone, it sets the threshold. */
  maxDrop?: number;
  /** How the options are spelled where the user wrote them, for messages. */
  optionNames?: { target?: string; maxDrop?: string; grid?: string };
}

export interface LayerSensitivityBudget {
  layer: string;
  params: number;
  /** Entries to prune (zero or not stored) in this layer. */
  zeros: number;
  /** zeros / params. */
  sparsity: number;
  /** The accuracy drop its scan predicts for this layer alone at that count (linear between grid points). */
  drop: number;
}

export interface SensitivityBudgets {
  target: number | null;
  maxDrop: number | null;
  /** The common per-layer accuracy-drop threshold τ the budgets use. */
  threshold: number;
  /** Weights of the scanned layers. */
  total: number;
  /** round(target·total), or null without a target. */
  requested: number | null;
  /** Entries the budgets prune over all scanned layers (= requested with a target). */
  pruned: number;
  sparsity: number;
  layers: LayerSensitivityBudget[];
}

/** One layer's drop curve over pruned counts, ascending. */
interface Curve {
  layer: string;
  params: number;
  zeros: number[];
  drops: number[];
  envelope: number[];
}

function curvesOf(scan: SensitivityScan): Curve[] {
  return scan.layers.map(({ layer, params, zeros: start }) => {
    const points = new Map<number, number>([[start, 0]]);
    for (const row of scan.rows) {
      // Equal counts (a small layer, or a sparsity below what it has) keep the worst drop seen.
      if (row.layer === layer && row.zeros > start) points.set(row.zeros, Math.max(points.get(row.zeros) ?? -Infinity, row.drop));
    }
    const zeros = [...points.keys()].sort((a, b) => a - b);
    const drops = zeros.map((z) => points.get(z)!);
    const envelope: number[] = [];
    drops.forEach((d, i) => envelope.push(i === 0 ? 0 : Math.max(envelope[i - 1], d)));
    return { layer, params, zeros, drops, envelope };
  });
}

/** The largest (real-valued) pruned count of a curve whose envelope stays ≤ τ. */
function countWithin(curve: Curve, tau: number): number {
  const { zeros, drops, envelope } = curve;
  if (tau < 0) return zeros[0];
  let i = 0;
  while (i + 1 < zeros.length && envelope[i + 1] <= tau) i++;
  if (i === zeros.length - 1) return zeros[i];
  // Here drops[i] ≤ envelope[i] ≤ τ < drops[i + 1]: the raw segment crosses τ.
  return zeros[i] + ((tau - drops[i]) / (drops[i + 1] - drops[i])) * (zeros[i + 1] - zeros[i]);
}

/** The scan's drop at a pruned count, linear between measured points. */
function dropAt(curve: Curve, count: number): number {
  const { zeros, drops } = curve;
  let i = 0;
  while (i + 1 < zeros.length && zeros[i + 1] < count) i++;
  if (i + 1 === zeros.length) return drops[i];
  return drops[i] + ((count - zeros[i]) / (zeros[i + 1] - zeros[i])) * (drops[i + 1] - drops[i]);
}

/** Integers within [low, high] of each real count that add up to `total`, by largest remainders (ties to the earlier layer). */
function roundToTotal(real: number[], total: number, low: number[], high: number[]): number[] {
  const counts = real.map((x, i) => Math.min(high[i], Math.max(low[i], Math.floor(x))));
  const remainder = (i: number) => real[i] - Math.floor(real[i]);
  const order = real.map((_, i) => i).sort((a, b) => remainder(b) - remainder(a) || a - b);
  let left = total - counts.reduce((a, b) => a + b, 0);
  // NOTE: float error can leave `left` a little off what the remainders hold: cycle until it is spent.
  for (let pass = 0; left !== 0 && pass < 4 * real.length + 4; pass++) {
    const step = left > 0 ? 1 : -1;
    for (const i of step > 0 ? order : [...order].reverse()) {
      if (left === 0) break;
      if (step > 0 ? counts[i] < high[i] : counts[i] > low[i]) {
        counts[i] += step;
        left -= step;
      }
    }
  }
  return counts;
}

/**
 * Per-layer budgets from `scan`. With `target`: sparsities whose parameter-weighted total is
 * exactly round(target·N) pruned entries, at the smallest common drop threshold (an error if that
 * threshold exceeds `maxDrop`). With only `maxDrop`: the largest counts within that threshold.
 */
export function budgetsFromSensitivity(scan: SensitivityScan, options: BudgetOptions): SensitivityBudgets {
  const names = { target: "target", maxDrop: "maxDrop", grid: "grid", ...options.optionNames };
  const { target, maxDrop } = options;
  if (target === undefined && maxDrop === undefined) throw new RangeError(`give ${names.target} (a global sparsity in [0, 1)) or ${names.maxDrop} (an accuracy drop in [0, 1])`);
  if (target !== undefined && !(target >= 0 && target < 1)) throw new RangeError(`${names.target} must be in [0, 1), got ${target}`);
  if (maxDrop !== undefined && !(maxDrop >= 0 && maxDrop <= 1)) throw new RangeError(`${names.maxDrop} must be in [0, 1], got ${maxDrop}`);
  const curves = curvesOf(scan);
  if (curves.length === 0) throw new RangeError("budgetsFromSensitivity: the scan holds no layers");
  const total = curves.reduce((s, c) => s + c.params, 0);
  const low = curves.map((c) => c.zeros[0]);
  const high = curves.map((c) => c.zeros.at(-1)!);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const countsAt = (tau: number) => curves.map((c) => countWithin(c, tau));
  const result = (counts: number[], threshold: number, requested: number | null): SensitivityBudgets => {
    const pruned = sum(counts);
    return {
      target: target ?? null, maxDrop: maxDrop ?? null, threshold, total, requested, pruned, sparsity: pruned / total,
      layers: curves.map((c, i) => ({ layer: c.layer, params: c.params, zeros: counts[i], sparsity: counts[i] / c.params, drop: counts[i] === low[i] ? 0 : dropAt(c, counts[i]) })),
    };
  };
  const withinMaxDrop = () => countsAt(maxDrop!).map((x, i) => Math.max(low[i], Math.floor(x + 1e-9)));
  if (target === undefined) return result(withinMaxDrop(), maxDrop!, null);

  const requested = roundHalfEven(target * total);
  const fmt = (x: number) => `${(100 * x).toFixed(2)}%`;
  if (requested < sum(low)) {
    throw new RangeError(`${names.target} ${target} is below the sparsity the scanned weights already have (${fmt(sum(low) / total)}): pruning only removes weights; raise ${names.target}`);
  }
  if (requested > sum(high)) {
    throw new RangeError(
      `${names.target} ${target} cannot be met within the grid: every scanned layer at the grid's largest sparsity (${Math.max(...scan.grid)}) ` +
        `gives ${fmt(sum(high) / total)} (${sum(high)} of ${total} weights); add larger sparsities to ${names.grid} or lower ${names.target}`,
    );
  }
  let counts: number[];
  let threshold = 0;
  if (requested === sum(low)) {
    counts = low;
  } else {
    // Invariant: the total at `lo` is below the request, at `hi` it reaches it.
    let lo = -1, hi = Math.max(...curves.map((c) => c.envelope.at(-1)!));
    for (let iteration = 0; iteration < 200 && hi - lo > 0; iteration++) {
      const mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (sum(countsAt(mid)) >= requested) hi = mid;
      else lo = mid;
    }
    const below = countsAt(lo), above = countsAt(hi);
    const jump = sum(above) - sum(below);
    const share = (requested - sum(below)) / jump;
    counts = roundToTotal(below.map((b, i) => b + share * (above[i] - b)), requested, low, high);
    // A jump happens exactly at a curve's level: report that level rather than the bisection's bound next to it.
    threshold = curves.flatMap((c) => c.envelope).find((level) => level > lo && level <= hi) ?? hi;
  }
  if (maxDrop !== undefined && threshold > maxDrop + 1e-12) {
    const reachable = sum(withinMaxDrop());
    throw new RangeError(
      `${names.target} ${target} needs layers that each lose up to ${fmt(threshold)} accuracy, more than ${names.maxDrop} ${maxDrop}; ` +
        `within ${names.maxDrop} the scanned weights reach a sparsity of ${fmt(reachable / total)} (lower ${names.target} or raise ${names.maxDrop})`,
    );
  }
  return result(counts, threshold, requested);
}

/**
 * The budgets as a prune recipe's `overrides` (final sparsity per weight): for each layer the
 * shortest decimal s with round(s·params) = its count, so the pruner's target mode prunes it exactly.
 */
export function budgetOverrides(budgets: SensitivityBudgets): Record<string, number> {
  const overrides: Record<string, number> = {};
  for (const { layer, params, zeros } of budgets.layers) {
    let value = zeros / params;
    for (let digits = 1; digits <= 17; digits++) {
      const candidate = Number(value.toPrecision(digits));
      if (candidate <= 1 && roundHalfEven(candidate * params) === zeros) {
        value = candidate;
        break;
      }
    }
    overrides[layer] = value;
  }
  return overrides;
}
