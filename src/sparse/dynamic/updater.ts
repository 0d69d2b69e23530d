// Turns an update policy (SET, RigL, SNFS, DSR) into trainer hooks: when to update, with what drop fraction, and a log line per epoch.
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import type { TrainerHooks } from "../../train/hooks.js";
import { Rng } from "../../tensor/rng.js";
import type { SparsityContext } from "../method.js";
import type { DynamicConfig } from "./config.js";
import type { SwapResult } from "./drop-and-grow.js";
import { dropFractionAt, isUpdateStep, type DropSchedule } from "./drop-schedule.js";

/** What a policy sees at an update. */
export interface UpdateStep {
  /** The sparse (CSR) weights, current. */
  params: NamedParameter[];
  optimizer: Optimizer;
  /** Optimizer steps done once this update's step is taken (t). */
  step: number;
  /** f(t): the drop fraction at this update. */
  fraction: number;
  seed: number;
}

/** One dynamic method's scores and counts; the swap itself is `dropAndGrow`. */
export interface UpdatePolicy {
  /** Before the forward pass of an update step (RigL and SNFS arm their gradient probes here). */
  beforeUpdate?(update: UpdateStep): void;
  /** After the optimizer step of an update step: swap connections. */
  update(update: UpdateStep): SwapResult[];
  /** Extra words for the log line (e.g. DSR's threshold). */
  status?(): string;
}

/** The random stream of one parameter's growth at one update, tied to (seed, method, name, step) so that resumed runs repeat it. */
export function growthRng(seed: number, method: string, param: NamedParameter, step: number): Rng {
  return new Rng(seed, `${method}/${param.name}/grow/step-${step}`);
}

/** Connections a layer can swap at fraction f: round(f·nnz), at most the free positions (so the count is conserved). */
export function swapCount(param: NamedParameter, fraction: number): number {
  const m = param.sparse!;
  return Math.max(0, Math.min(Math.round(fraction * m.nnz), m.rows * m.cols - m.nnz, m.nnz));
}

export function dropSchedule(config: DynamicConfig, context: SparsityContext): DropSchedule {
  return {
    updateEvery: config.updateEvery,
    endStep: Math.max(1, Math.round(config.endFraction * context.totalSteps)),
    dropFraction: config.dropFraction,
    decay: config.dropDecay,
  };
}

const sparseWeights = (params: NamedParameter[]) => params.filter((p) => p.sparse !== undefined);

/**
 * Hooks that run `policy` at every update step of the schedule. `onUpdate` sees every swap (the
 * invariant tests check them).
 */
export function dynamicHooks(
  policy: UpdatePolicy,
  config: DynamicConfig,
  context: SparsityContext,
  onUpdate?: (results: SwapResult[], update: UpdateStep) => void,
): TrainerHooks {
  const schedule = dropSchedule(config, context);
  let updates = 0, moved = 0;
  const at = (params: NamedParameter[], optimizer: Optimizer, step: number): UpdateStep => ({
    params: sparseWeights(params), optimizer, step, fraction: dropFractionAt(schedule, step), seed: context.seed,
  });
  return {
    name: config.method,
    beforeStep(ctx) {
      if (policy.beforeUpdate && isUpdateStep(schedule, ctx.step + 1)) policy.beforeUpdate(at(ctx.parameters, ctx.optimizer, ctx.step + 1));
    },
    afterStep(ctx) {
      if (!isUpdateStep(schedule, ctx.step)) return;
      const update = at(ctx.parameters, ctx.optimizer, ctx.step);
      const sizes = new Map(update.params.map((p) => [p.name, p.sparse!.rows * p.sparse!.cols]));
      const results = policy.update(update);
      updates++;
      for (const r of results) moved += r.grown.length;
      onUpdate?.(results, update);
      // ctx.epoch is still the 0-based epoch of the step just taken.
      context.record?.({
        step: ctx.step, epoch: ctx.epoch + 1, method: config.method, dropFraction: update.fraction,
        layers: results.map((r) => ({ name: r.name, dropped: r.dropped.length, grown: r.grown.length, nnz: r.nnzAfter, density: r.nnzAfter / sizes.get(r.name)! })),
      });
    },
    endOfEpoch(ctx) {
      if (updates === 0) return;
      const nnz = sparseWeights(ctx.parameters).reduce((a, p) => a + p.sparse!.nnz, 0);
      context.log(`${config.method}: epoch ${ctx.epoch}: ${updates} structure update(s), ${moved} connections regrown; ${nnz} stored${policy.status ? `; ${policy.status()}` : ""}`);
      updates = 0;
      moved = 0;
    },
  };
}
