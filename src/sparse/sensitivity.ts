// Pruning sensitivity analysis: prune one weight at a time across a grid of sparsities, evaluate, and put the weights back bit for bit.
//
// A layer is "pruned" here by zeroing stored values only: masks and CSR structures stay as they
// are, which computes the same forward pass as a real pruning (a stored zero contributes nothing)
// and lets the original values be restored exactly, without rebuilding any structure. Selection
// follows the pruner's target mode (torch's l1_unstructured on the entries still alive): to reach
// sparsity s a weight of n entries gets round(s·n) zeros (Python's round), the alive entries with
// the lowest scores going first, so pruning an already pruned weight only removes more.
import type { Dataset } from "../data/dataset.js";
import type { Model } from "../nn/presets.js";
import type { NamedParameter } from "../nn/sequential.js";
import { Rng } from "../tensor/rng.js";
import { evaluate, type Evaluation } from "../train/evaluate.js";
import { criterionNames, needsGradient, scoreWeights, type CriterionName } from "./criteria.js";
import { readPrunable, weightShape, type WeightKind } from "./prune/prunable.js";
import { selectTargets } from "./prune/targets.js";
import { roundHalfEven, selectUnstructured } from "./selectors.js";

export interface SensitivityOptions {
  /** Sparsities to try, each in [0, 1] (a fraction of each weight's entries); sorted and deduplicated. */
  grid: number[];
  /** Score of a weight: "magnitude" (default) or "random"; criteria needing gradients are refused. */
  criterion?: CriterionName;
  /** Weights to scan by name pattern (default: every Linear and Conv2d weight). */
  include?: string[];
  exclude?: string[];
  /** Seeds the "random" criterion (stream named after the weight, so its prunings are nested across the grid). */
  seed?: number;
  batchSize?: number;
  /** How options are spelled where the user wrote them ("--" for the CLI), for messages. */
  optionPrefix?: string;
  /** Called while a weight is pruned, right before the model is evaluated in that state. */
  onPruned?: (event: { layer: string; sparsity: number; parameter: NamedParameter }) => void;
  /** Called with each row as soon as it is measured (for streaming output). */
  onRow?: (row: SensitivityRow) => void;
}

/** A scanned weight before pruning. */
export interface SensitivityLayer {
  layer: string;
  kind: WeightKind;
  /** Entries of the dense weight. */
  params: number;
  /** Entries that are already zero or not stored. */
  zeros: number;
}

/** One evaluation: `layer` alone pruned to `sparsity`, every other weight as it was. */
export interface SensitivityRow {
  layer: string;
  params: number;
  sparsity: number;
  /** Zero (or not stored) entries of the layer during the evaluation. */
  zeros: number;
  accuracy: number;
  loss: number;
  /** Baseline accuracy minus this accuracy (negative when pruning helped). */
  drop: number;
}

export interface SensitivityScan {
  criterion: CriterionName;
  grid: number[];
  baseline: { accuracy: number; loss: number; count: number };
  layers: SensitivityLayer[];
  /** layers × grid rows, layer by layer in model order, sparsities ascending. */
  rows: SensitivityRow[];
}

/** A weight to prune for a while, and how many of its entries must then be zero. */
export interface TemporaryPruning {
  parameter: NamedParameter;
  zeros: number;
}

/** Sorted, deduplicated grid; an error names the option and what is allowed. */
export function checkGrid(grid: readonly number[], option = "grid"): number[] {
  if (grid.length === 0) throw new RangeError(`${option} must list at least one sparsity in [0, 1]`);
  for (const s of grid) {
    if (!(typeof s === "number" && s >= 0 && s <= 1)) throw new RangeError(`${option}: every sparsity must be in [0, 1], got ${s}`);
  }
  return [...new Set(grid)].sort((a, b) => a - b);
}

/** The criterion, if it can score a weight without gradients; an error names the option otherwise. */
export function checkCriterion(name: string, option = "criterion"): CriterionName {
  if (!(criterionNames as readonly string[]).includes(name)) throw new RangeError(`${option} must be one of magnitude, random, got "${name}"`);
  const criterion = name as CriterionName;
  if (needsGradient(criterion)) {
    throw new RangeError(`${option} ${criterion} needs gradients, which sensitivity analysis does not compute; use magnitude or random`);
  }
  return criterion;
}

/** Entries of a weight that are zero or not stored. */
export function zeroCount(parameter: NamedParameter): number {
  const size = weightShape(parameter).reduce((a, b) => a * b, 1);
  let nonzero = 0;
  for (const v of parameter.tensor.data) if (v !== 0) nonzero++;
  return size - nonzero;
}

/** Zeroes the lowest-scoring alive entries of a weight until `zeros` of its entries are pruned (never fewer than already are). */
function zeroLowest(parameter: NamedParameter, zeros: number, criterion: CriterionName, seed: number): void {
  const w = readPrunable(parameter);
  const alive = w.positions.length;
  // The pruner's target mode: the already pruned entries count towards the target.
  const count = Math.max(0, Math.min(alive, zeros - (w.size - alive)));
  if (count === 0) return;
  const scores = scoreWeights(criterion, { name: w.name, values: w.values, rng: new Rng(seed, `sensitivity/${criterion}/${w.name}`) });
  const keep = selectUnstructured(scores, { count });
  // NOTE: read `data` after scoring: a heap view goes stale if the heap grows in between.
  const data = parameter.tensor.data;
  for (let i = 0; i < alive; i++) if (keep[i] === 0) data[w.storage === "csr" ? i : w.positions[i]] = 0;
}

/**
 * Runs `fn` with each listed weight pruned to its count of zeros, then restores every stored value
 * bit for bit (also when `fn` throws). Only values change, never masks or CSR structures.
 */
export function withPrunedWeights<T>(prunings: TemporaryPruning[], criterion: CriterionName, seed: number, fn: () => T): T {
  const saved = prunings.map(({ parameter }) => parameter.tensor.toArray());
  try {
    for (const { parameter, zeros } of prunings) zeroLowest(parameter, zeros, criterion, seed);
    return fn();
  } finally {
    prunings.forEach(({ parameter }, i) => parameter.tensor.data.set(saved[i]));
  }
}

/**
 * Prunes each selected weight alone to each sparsity of the grid and evaluates the model on `data`
 * (accuracy and mean loss), restoring the weights after every evaluation. A pruning that changes
 * nothing (the layer already has that many zeros) reuses the baseline evaluation.
 */
export function sensitivityScan(model: Model, data: Dataset, options: SensitivityOptions): SensitivityScan {
  const prefix = options.optionPrefix ?? "";
  const grid = checkGrid(options.grid, `${prefix}grid`);
  const criterion = checkCriterion(options.criterion ?? "magnitude", `${prefix}criterion`);
  const seed = options.seed ?? 0;
  const targets = selectTargets(model.net.parameters(), { include: options.include, exclude: options.exclude, optionPrefix: prefix })
    .map((t) => t.param);
  const evaluateNow = (): Evaluation => evaluate(model, data, options.batchSize);
  const base = evaluateNow();
  const baseline = { accuracy: base.accuracy, loss: base.loss, count: base.count };
  const layers: SensitivityLayer[] = targets.map((p) => {
    const w = readPrunable(p);
    return { layer: p.name, kind: w.kind, params: w.size, zeros: zeroCount(p) };
  });
  const rows: SensitivityRow[] = [];
  targets.forEach((parameter, l) => {
    const { layer, params, zeros: before } = layers[l];
    for (const sparsity of grid) {
      const measured = withPrunedWeights([{ parameter, zeros: roundHalfEven(sparsity * params) }], criterion, seed, () => {
        const zeros = zeroCount(parameter);
        options.onPruned?.({ layer, sparsity, parameter });
        return { zeros, result: zeros === before ? baseline : evaluateNow() };
      });
      const { accuracy, loss } = measured.result;
      const row = { layer, params, sparsity, zeros: measured.zeros, accuracy, loss, drop: baseline.accuracy - accuracy };
      rows.push(row);
      options.onRow?.(row);
    }
  });
  return { criterion, grid, baseline, layers, rows };
}

/**
 * Evaluates `model` with several weights pruned together (e.g. to budgets derived from a scan:
 * single-layer sensitivities do not simply add up), then restores them exactly.
 */
export function evaluatePruned(
  model: Model, data: Dataset, zerosByLayer: Record<string, number>, options: { criterion?: CriterionName; seed?: number; batchSize?: number } = {},
): Evaluation {
  const byName = new Map(model.net.parameters().map((p) => [p.name, p]));
  const prunings = Object.entries(zerosByLayer).map(([name, zeros]) => {
    const parameter = byName.get(name);
    if (parameter === undefined) throw new RangeError(`evaluatePruned: the model has no weight ${name}`);
    return { parameter, zeros };
  });
  return withPrunedWeights(prunings, options.criterion ?? "magnitude", options.seed ?? 0, () => evaluate(model, data, options.batchSize));
}
