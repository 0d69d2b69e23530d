// Pruning during training as trainer hooks: prune to a schedule's targets, optionally rewind survivors (lottery tickets), shrink structures, convert sparse layers to CSR.
//
// When a step prunes: with a magnitude or random criterion, before the step's forward pass (the
// step then trains the pruned model); with a gradient criterion, right after its backward pass
// (the gradients are the scores), zeroing the gradient of what was pruned so the step cannot
// revive it. Layers that end at or below `csrBelow` density become CSR before the next step.
// Lottery rewind values and, when structures shrink, the shapes before shrinking are kept in the
// run folder (flow-state.ts) so a resumed run continues exactly.
import type { Model } from "../../nn/presets.js";
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import type { HookContext, TrainerHooks } from "../../train/hooks.js";
import { parameterStats } from "../../nn/layer-stats.js";
import type { StructureUpdate } from "../../train/run-log.js";
import { MovementAccumulator, needsGradient } from "../criteria.js";
import type { SparsitySchedule } from "../schedules.js";
import { convertSparseLayers } from "./convert.js";
import { findFlowState, FLOW_STATE_FILE, loadFlowState, saveFlowState, type FlowState, type SavedValues } from "./flow-state.js";
import { isPrunableWeight, readPrunable, weightShape } from "./prunable.js";
import { overallSparsity, pruneModel, pruneTargets, type LayerPruneResult, type PruneOptions } from "./pruner.js";
import { shrinkStructures } from "./shrink.js";
import { matchesWeight } from "./targets.js";

export interface PruningFlow {
  /** What to prune and how; the budget comes from `schedule` (a target sparsity) unless `nm` is set. */
  prune: Omit<PruneOptions, "amount" | "targetSparsity" | "movement" | "purpose"> & {
    /** The schedule's last target: per-layer `overrides` are final sparsities, scaled along with the schedule. */
    finalSparsity: number;
  };
  schedule: SparsitySchedule;
  /** Lottery tickets: after each pruning event, reset surviving weights to their values before this step (0 = initialization). */
  rewindStep?: number;
  /** Density at or below which a layer is converted to CSR after a pruning event. */
  csrBelow: number;
  /** Physically remove pruned neurons/filters/channels after a structured pruning event. */
  shrink: boolean;
  log: (line: string) => void;
  /** Receives one update per pruning event (the run writes it to its metrics log). */
  record?: (update: StructureUpdate) => void;
  name: string;
  /** Where the flow keeps its state file, and the checkpoint a resumed run starts from (where the file is looked for first). */
  runDir: string;
  resumeFrom?: string;
}

/** The trainer hooks that carry out a pruning flow on `model`. */
export function pruningHooks(model: Model, optimizer: Optimizer, flow: PruningFlow): TrainerHooks {
  const { finalSparsity, ...prune } = flow.prune;
  // Patterns, structure and N:M are checked against the model now, not at the first event.
  pruneTargets(model, prune);
  const gradientTime = needsGradient(prune.criterion);
  const movement = prune.criterion === "movement" ? new Map<string, MovementAccumulator>() : undefined;
  const shrinks = prune.structure !== undefined && flow.shrink;
  const keepsState = flow.rewindStep !== undefined || shrinks;
  let state: FlowState | null = null;
  let convertPending = false;
  let shrinkSkipLogged = false;

  // At the first step of the run, or of a resumed run (step > 0): the state to continue with.
  const begin = (step: number): FlowState => {
    const current: FlowState = { shapes: weightShapes(model), rewind: null };
    if (step > 0 && movement) flow.log(`${flow.name}: movement scores are not saved in checkpoints; the resumed run accumulates them from step ${step}`);
    if (!keepsState) return current;
    const next = step === 0 ? current : resumedState(step, current);
    saveFlowState(flow.runDir, flow.name, next);
    return next;
  };
  const resumedState = (step: number, current: FlowState): FlowState => {
    const needsRewind = flow.rewindStep !== undefined && step > flow.rewindStep;
    const path = findFlowState(flow.runDir, flow.resumeFrom);
    if (path === null) {
      if (!needsRewind && !shrinks) return current;
      const what = needsRewind ? `the values to rewind to (step ${flow.rewindStep})` : "the weight shapes before shrinking";
      throw new Error(`${flow.name}: resuming at step ${step} needs ${what} from ${FLOW_STATE_FILE}, which is neither beside ${flow.resumeFrom} nor in ${flow.runDir}`);
    }
    const saved = loadFlowState(path, flow.name);
    if (!needsRewind) return { shapes: saved.shapes, rewind: null };
    if (saved.rewind === null || saved.rewindStep !== flow.rewindStep) {
      throw new Error(`${path}: holds no values to rewind to at step ${flow.rewindStep}${saved.rewind ? ` (it holds step ${saved.rewindStep})` : ""}; was rewindStep changed?`);
    }
    return saved;
  };

  const pruneNow = (ctx: HookContext, target: number, flowState: FlowState) => {
    const before = flow.record ? storedByName(model) : null;
    const scale = finalSparsity > 0 ? target / finalSparsity : 1;
    const overrides = Object.fromEntries(Object.entries(prune.overrides ?? {}).map(([pattern, s]) => [pattern, Math.min(1, s * scale)]));
    const results = pruneModel(model, {
      ...prune,
      overrides,
      ...(prune.nm ? {} : { targetSparsity: target }),
      movement, purpose: `step-${ctx.step}`, originalShapes: flowState.shapes,
    }, optimizer);
    if (shrinks) {
      const { results: shrunk, skipped } = shrinkStructures(model, optimizer);
      if (skipped !== undefined && !shrinkSkipLogged) {
        flow.log(`${flow.name}: structures stay as zero rows/columns: ${skipped}`);
        shrinkSkipLogged = true;
      }
      if (shrunk.length > 0) flow.log(`${flow.name}: removed ${shrunk.map((s) => `${s.removed} units of layers.${s.layer}`).join(", ")}`);
    }
    const rewindTo = flowState.rewind;
    if (rewindTo !== null) rewind(model.net.parameters(), rewindTo, optimizer);
    const densities = results.map((r) => `${r.name} ${(100 * r.density).toFixed(1)}%`).join(", ");
    flow.log(`${flow.name} step ${ctx.step}: sparsity ${(100 * overallSparsity(results)).toFixed(2)}% (${densities})${rewindTo ? `; rewound to step ${flow.rewindStep}` : ""}`);
    if (before !== null) flow.record!(pruningUpdate(flow.name, ctx, results, before, storedByName(model)));
    convertPending = true;
  };
  const convert = () => {
    if (!convertPending) return;
    convertPending = false;
    const converted = convertSparseLayers(model, flow.csrBelow, optimizer);
    if (converted.length > 0) flow.log(`${flow.name}: layers ${converted.join(", ")} now stored and computed as CSR`);
  };

  return {
    name: flow.name,
    beforeStep(ctx) {
      state ??= begin(ctx.step);
      if (flow.rewindStep === ctx.step) {
        state.rewind = snapshot(ctx.parameters);
        state.rewindStep = ctx.step;
        saveFlowState(flow.runDir, flow.name, state);
      }
      const target = flow.schedule(ctx.step);
      if (target !== null && !gradientTime) {
        pruneNow(ctx, target, state);
        convert();
      }
    },
    afterBackward(ctx) {
      if (movement) accumulateMovement(movement, ctx.parameters, prune.include, prune.exclude);
      const target = flow.schedule(ctx.step);
      if (target !== null && gradientTime) pruneNow(ctx, target, state!);
    },
    afterStep() {
      convert();
    },
  };
}

/** Entries each prunable weight stores (CSR entries, mask ones, or all), by name. */
function storedByName(model: Model): Map<string, number> {
  return new Map(model.net.parameters().filter(isPrunableWeight).map((p) => [p.name, parameterStats(p).stored]));
}

/**
 * The update line of a pruning event during step ctx.step + 1 (it runs before that step's forward
 * pass or after its backward pass): per pruned weight, the entries it lost, shrinking included.
 */
function pruningUpdate(method: string, ctx: HookContext, results: LayerPruneResult[], before: Map<string, number>, after: Map<string, number>): StructureUpdate {
  return {
    step: ctx.step + 1, epoch: ctx.epoch + 1, method, sparsity: overallSparsity(results),
    layers: results.map((r) => {
      const nnz = after.get(r.name) ?? 0;
      return { name: r.name, dropped: (before.get(r.name) ?? 0) - nnz, grown: 0, nnz, density: nnz / r.size };
    }),
  };
}

/** PyTorch shapes of the model's prunable weights, by name. */
function weightShapes(model: Model): Record<string, number[]> {
  return Object.fromEntries(model.net.parameters().filter(isPrunableWeight).map((p) => [p.name, weightShape(p)]));
}

/** Adds −w·g of this step to each weight's movement scores (aligned to its alive entries). */
function accumulateMovement(movement: Map<string, MovementAccumulator>, parameters: NamedParameter[], include?: string[], exclude?: string[]): void {
  for (const p of parameters) {
    if (!isPrunableWeight(p) || p.tensor.grad === null) continue;
    if (include?.length && !include.some((pattern) => matchesWeight(p, pattern))) continue;
    if (exclude?.some((pattern) => matchesWeight(p, pattern))) continue;
    const w = readPrunable(p);
    let acc = movement.get(p.name);
    if (acc === undefined || acc.size !== w.values.length) movement.set(p.name, (acc = new MovementAccumulator(w.values.length)));
    acc.accumulate(w.values, w.grads!);
  }
}

/** Every parameter's values by name: a dense tensor whole, a CSR weight as its stored values with its structure (O(nnz)). */
export function snapshot(parameters: NamedParameter[]): Map<string, SavedValues> {
  const out = new Map<string, SavedValues>();
  for (const p of parameters) {
    out.set(p.name, p.sparse
      ? { values: p.sparse.values.toArray(), csr: { rowPtr: Int32Array.from(p.sparse.rowPtr), colIdx: Int32Array.from(p.sparse.colIdx) } }
      : { values: p.tensor.toArray() });
  }
  return out;
}

/**
 * Lottery-ticket rewinding (Frankle & Carbin 2019; to step k: Frankle et al. 2020): every surviving
 * weight and every bias takes its saved value, pruned weights stay 0, and the optimizer starts
 * again from zero (moments and, for Adam's bias correction, step counts). Shapes must be those of the
 * snapshot (no structural shrinking between).
 */
export function rewind(parameters: NamedParameter[], saved: Map<string, SavedValues>, optimizer: Optimizer | null): void {
  for (const p of parameters) {
    const entry = saved.get(p.name);
    if (entry === undefined) throw new Error(`rewind: no saved values for ${p.name}`);
    if (entry.csr) rewindFromCsr(p, entry.values, entry.csr);
    else rewindFromDense(p, entry.values);
  }
  if (optimizer) restartOptimizer(optimizer);
}

function rewindFromDense(p: NamedParameter, values: Float32Array): void {
  const w = isPrunableWeight(p) ? readPrunable(p) : null;
  const size = w ? w.size : p.tensor.size;
  if (values.length !== size) throw new Error(`rewind: ${p.name} has ${size} entries, the saved weights ${values.length} (was the model shrunk?)`);
  const data = p.tensor.data;
  if (p.sparse) w!.positions.forEach((pos, i) => (data[i] = values[pos]));
  else if (p.mask) {
    const m = p.mask.data;
    for (let i = 0; i < data.length; i++) data[i] = m[i] !== 0 ? values[i] : 0;
  } else data.set(values);
}

/** A CSR weight saved as CSR: each stored entry now was stored then (pruning only removes), found by walking both rows. */
function rewindFromCsr(p: NamedParameter, values: Float32Array, saved: { rowPtr: Int32Array; colIdx: Int32Array }): void {
  const m = p.sparse;
  if (m === undefined || saved.rowPtr.length !== m.rows + 1) {
    throw new Error(`rewind: ${p.name} was saved as a CSR weight with ${saved.rowPtr.length - 1} rows; it is now ${m ? `${m.rows} rows` : "dense"} (was the model shrunk?)`);
  }
  const rowPtr = m.rowPtr, colIdx = m.colIdx, data = m.values.data;
  for (let r = 0; r < m.rows; r++) {
    let q = saved.rowPtr[r];
    const end = saved.rowPtr[r + 1];
    for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
      while (q < end && saved.colIdx[q] < colIdx[k]) q++;
      if (q === end || saved.colIdx[q] !== colIdx[k]) throw new Error(`rewind: ${p.name} stores (${r}, ${colIdx[k]}), which was not stored when its values were saved`);
      data[k] = values[q];
    }
  }
}

/** Drops every parameter's optimizer state (a step count of 0 means none); learning rates stay. */
function restartOptimizer(optimizer: Optimizer): void {
  const state = optimizer.getState();
  optimizer.loadState({ ...state, steps: Object.fromEntries(Object.keys(state.steps).map((name) => [name, 0])), buffers: {} });
}
