// One pruning step over a model: choose weights, score them with a criterion, select by scope/structure/N:M, apply, report per-layer densities.
import { Conv2d } from "../../nn/conv2d.js";
import type { Model } from "../../nn/presets.js";
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { Rng } from "../../tensor/rng.js";
import { groupNorms, groupOf, needsGradient, scoreWeights, type CriterionName, type MovementAccumulator } from "../criteria.js";
import {
  expandGroups, prunedCount, roundHalfEven, selectGlobal, selectNM, selectStructured, selectUnstructured, validateAmount, type Amount,
} from "../selectors.js";
import { applyKeep, checkPruneInvariants } from "./apply.js";
import { isPrunableWeight, readPrunable, weightShape, type PrunableWeight, type WeightKind } from "./prunable.js";
import { selectTargets, type Target, type TargetOptions } from "./targets.js";

/** Structures a structured pruning removes: which weight kind has them and along which dimension of the PyTorch shape. */
export const structures = {
  neurons: { kind: "Linear", dim: 0 },
  inputs: { kind: "Linear", dim: 1 },
  filters: { kind: "Conv2d", dim: 0 },
  channels: { kind: "Conv2d", dim: 1 },
} as const satisfies Record<string, { kind: WeightKind; dim: number }>;
export type Structure = keyof typeof structures;
export const structureNames = Object.keys(structures) as [Structure, ...Structure[]];

export interface PruneOptions extends TargetOptions {
  criterion: CriterionName;
  /** Prune this much of the entries (or groups) still alive — torch's `amount`. */
  amount?: Amount;
  /** Or prune until this fraction of all entries (or groups) is pruned — what schedules ask for. Never regrows. */
  targetSparsity?: number;
  /** "layer": each weight on its own (l1_unstructured); "global": one budget over all (global_unstructured). */
  scope?: "layer" | "global";
  /** Remove whole neurons, inputs, filters or channels by the Ln norm of their scores (ln_structured). */
  structure?: Structure;
  norm?: 1 | 2;
  /** Keep N of every M consecutive inputs of each output (e.g. 2:4); replaces `amount`. */
  nm?: { n: number; m: number };
  /** Never prune a weight below this many alive entries (groups, when structured). */
  minKeep?: number;
  /** Seeds the "random" criterion; its stream is named after the parameter and `purpose`. */
  seed?: number;
  purpose?: string;
  /**
   * Weight shapes before any structure was shrunk away, by name: structured targets count the groups
   * of these (a removed neuron stays pruned), and results report sizes and densities against them.
   */
  originalShapes?: Record<string, number[]>;
  /** Accumulated movement scores by parameter name (criterion "movement"); pruned entries are dropped from them. */
  movement?: Map<string, MovementAccumulator>;
}

export interface LayerPruneResult {
  name: string;
  kind: WeightKind;
  storage: "dense" | "masked" | "csr";
  size: number;
  alive: number;
  removed: number;
  density: number;
}

function validateOptions(options: PruneOptions): void {
  const p = options.optionPrefix ?? "";
  const budgets = [options.amount !== undefined, options.targetSparsity !== undefined, options.nm !== undefined].filter(Boolean).length;
  if (budgets !== 1) throw new RangeError(`${p}amount: give exactly one of amount, a target sparsity or nm`);
  if (options.amount !== undefined) validateAmount(options.amount, `${p}amount`);
  if (options.targetSparsity !== undefined) validateAmount(options.targetSparsity, `${p}sparsity`);
  for (const [pattern, value] of Object.entries(options.overrides ?? {})) validateAmount(value, `${p}overrides["${pattern}"]`);
  if (options.scope === "global" && (options.structure !== undefined || options.nm !== undefined)) {
    throw new RangeError(`${p}scope: global applies to unstructured pruning only (torch's global_unstructured); use scope layer with ${options.structure ? "structure" : "nm"}`);
  }
  if (options.structure !== undefined && options.nm !== undefined) throw new RangeError(`${p}structure and ${p}nm cannot be combined`);
  if (options.norm !== undefined && options.norm !== 1 && options.norm !== 2) throw new RangeError(`${p}norm must be 1 or 2, got ${options.norm}`);
  if (options.minKeep !== undefined && !(Number.isInteger(options.minKeep) && options.minKeep >= 0)) {
    throw new RangeError(`${p}minKeep must be an integer >= 0, got ${options.minKeep}`);
  }
}

function structuresOf(kind: WeightKind): string {
  return structureNames.filter((s) => structures[s].kind === kind).join(", ");
}

function readKind(param: NamedParameter): WeightKind {
  return param.layer instanceof Conv2d ? "Conv2d" : "Linear";
}

/** Entries (or groups) to prune now for a layer, from an amount of the alive ones or a target over all. */
function countFor(value: number, alive: number, total: number, targetMode: boolean, option: string): number {
  if (!targetMode) return prunedCount(value, alive, option);
  return Math.max(0, Math.min(alive, roundHalfEven(value * total) - (total - alive)));
}

/**
 * The weights a pruning step works on: include/exclude/overrides applied, and with a structure only
 * the weights that have it (never the output layer's neurons or filters unless named). Checks what
 * only the model can refute — patterns that match nothing, a structure the weights lack, an M that
 * does not divide the inputs — and throws naming the option, so flows can check before training.
 */
export function pruneTargets(model: Model, options: PruneOptions): Target[] {
  const prefix = options.optionPrefix ?? "";
  const parameters = model.net.parameters();
  let targets = selectTargets(parameters, options);
  const structure = options.structure !== undefined ? structures[options.structure] : undefined;
  const kind = (t: Target) => readKind(t.param);
  if (structure !== undefined && options.include === undefined) {
    // Without `include`, a structure selects the weights that have it; named weights must all have it.
    if (!targets.some((t) => kind(t) === structure.kind)) {
      throw new RangeError(`${prefix}structure ${options.structure}: the model has no selected ${structure.kind} weights (structures of ${[...new Set(targets.map(kind))].map((k) => `${k}: ${structuresOf(k)}`).join("; ")})`);
    }
    targets = targets.filter((t) => kind(t) === structure.kind);
    if (structure.dim === 0) {
      // Removing neurons or filters of the output layer would remove classes: skip it unless named.
      const last = Math.max(...parameters.filter(isPrunableWeight).map((p) => p.layerIndex));
      targets = targets.filter((t) => t.param.layerIndex !== last);
    }
  }
  for (const t of targets) {
    const shape = weightShape(t.param);
    if (structure !== undefined && kind(t) !== structure.kind) {
      throw new RangeError(`${prefix}structure ${options.structure} applies to ${structure.kind} weights, but ${t.param.name} is ${kind(t)} (structures of ${kind(t)}: ${structuresOf(kind(t))}); exclude it or pick another structure`);
    }
    const rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
    if (options.nm !== undefined && rowLength % options.nm.m !== 0) {
      const { n, m } = options.nm;
      throw new RangeError(`${prefix}nm ${n}:${m}: M = ${m} does not divide the ${rowLength} inputs per output of ${t.param.name} (${kind(t)} [${shape}]); exclude it or pick M dividing ${rowLength}`);
    }
  }
  return targets;
}

/**
 * Prunes `model` in place and returns per-weight results. Gradient criteria read the gradients a
 * backward pass left in the parameters. Pruned weights and their optimizer state become zero
 * (`applyKeep`); structured pruning leaves zero rows/columns that `shrinkStructures` can then remove.
 */
export function pruneModel(model: Model, options: PruneOptions, optimizer: Optimizer | null): LayerPruneResult[] {
  validateOptions(options);
  const prefix = options.optionPrefix ?? "";
  const targets = pruneTargets(model, options);
  const structure = options.structure !== undefined ? structures[options.structure] : undefined;
  const targetMode = options.targetSparsity !== undefined;
  const defaultValue = (options.targetSparsity ?? options.amount ?? 0) as Amount;
  const weights = targets.map((t) => ({ weight: readPrunable(t.param), override: t.override }));
  const scoresOf = (w: PrunableWeight) => {
    if (needsGradient(options.criterion) && options.criterion !== "movement" && w.grads === null) {
      throw new Error(`criterion "${options.criterion}" needs gradients of ${w.name}: prune after a backward pass`);
    }
    return scoreWeights(options.criterion, {
      name: w.name, values: w.values, grads: w.grads, movement: options.movement?.get(w.name),
      rng: new Rng(options.seed ?? 0, `prune/${options.criterion}/${w.name}/${options.purpose ?? ""}`),
    });
  };
  const removed = new Map<string, number>();
  const apply = (w: PrunableWeight, keep: Uint8Array) => {
    removed.set(w.name, applyKeep(w, keep, optimizer));
    options.movement?.get(w.name)?.keepOnly(keep);
  };
  const minKeep = options.minKeep ?? 0;

  if (options.nm !== undefined) {
    const { n, m } = options.nm;
    for (const { weight } of weights) {
      apply(weight, selectNM(scoresOf(weight), weight.positions, weight.rowLength, n, m, `${prefix}nm`));
    }
  } else if (structure !== undefined) {
    for (const { weight, override } of weights) {
      const groups = weight.shape[structure.dim];
      // Groups a shrink already removed still count as pruned: targets refer to the shapes before it.
      const totalGroups = options.originalShapes?.[weight.name]?.[structure.dim] ?? groups;
      const groupIndex = groupOf(weight.positions, weight.shape, structure.dim);
      const alive = new Uint8Array(groups);
      for (const g of groupIndex) alive[g] = 1;
      const aliveCount = alive.reduce((s, v) => s + v, 0);
      const count = countFor(override ?? (defaultValue as number), aliveCount, totalGroups, targetMode, `${prefix}amount`);
      const norms = groupNorms(scoresOf(weight), weight.positions, weight.shape, structure.dim, options.norm ?? 2);
      const keepGroups = selectStructured(norms, alive, { count: Math.min(count, Math.max(0, aliveCount - minKeep)) }, 0, `${prefix}amount`);
      apply(weight, expandGroups(groupIndex, keepGroups));
    }
  } else {
    const perLayer = options.scope === "global" ? weights.filter((w) => w.override !== undefined) : weights;
    for (const { weight, override } of perLayer) {
      const value = override ?? defaultValue;
      const alive = weight.positions.length;
      const count = typeof value === "number" ? countFor(value, alive, weight.size, targetMode, `${prefix}amount`) : prunedCount(value, alive, `${prefix}amount`);
      apply(weight, selectUnstructured(scoresOf(weight), { count: Math.min(count, Math.max(0, alive - minKeep)) }));
    }
    if (options.scope === "global") {
      const pool = weights.filter((w) => w.override === undefined).map((w) => w.weight);
      if (pool.length > 0) {
        const alive = pool.reduce((s, w) => s + w.positions.length, 0);
        const total = pool.reduce((s, w) => s + w.size, 0);
        const amount: Amount = typeof defaultValue === "number" && targetMode
          ? { count: countFor(defaultValue, alive, total, true, `${prefix}sparsity`) }
          : defaultValue;
        const keeps = selectGlobal(pool.map(scoresOf), amount, pool.map(() => minKeep), `${prefix}amount`);
        pool.forEach((w, i) => apply(w, keeps[i]));
      }
    }
  }

  const after = model.net.parameters();
  checkPruneInvariants(after);
  return after.filter(isPrunableWeight).map((p) => {
    const w = readPrunable(p);
    const original = options.originalShapes?.[w.name];
    const size = original ? original.reduce((a, b) => a * b, 1) : w.size;
    return { name: w.name, kind: w.kind, storage: w.storage, size, alive: w.positions.length, removed: removed.get(w.name) ?? 0, density: w.positions.length / size };
  });
}

/** Fraction of pruned entries over the given per-weight results. */
export function overallSparsity(results: LayerPruneResult[]): number {
  const size = results.reduce((s, r) => s + r.size, 0);
  const alive = results.reduce((s, r) => s + r.alive, 0);
  return size === 0 ? 0 : 1 - alive / size;
}
