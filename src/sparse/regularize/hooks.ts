// Trainer hooks that apply a regularizer or a gate penalty at each step, log progress per epoch, and fix the zeros before fine-tuning.
import type { Model } from "../../nn/presets.js";
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { EpochSummary, HookContext, TrainerHooks } from "../../train/hooks.js";
import { parameterStats } from "../../nn/layer-stats.js";
import type { StructureUpdate } from "../../train/run-log.js";
import { foldAllGates, formatSparsityReport, sparsifyLayers, type SparsifyOptions } from "./finalize.js";
import { GatedLayer } from "../../nn/gated-layer.js";
import type { LambdaSchedule } from "./lambda-schedules.js";
import type { Regularizer } from "./regularizers.js";

export interface PenaltyPlan {
  method: string;
  lambda: number;
  schedule: LambdaSchedule;
  /** Indices of the layers whose weights are regularized or gated. */
  layers: number[];
  /** After this many epochs the zeros are fixed and the penalty stops (fine-tuning); null: never. */
  fixAfterEpoch: number | null;
  sparsify: Omit<SparsifyOptions, "mask">;
  log: (line: string) => void;
  /** Receives the update line of the step that fixes the zeros (the run writes it to its metrics log). */
  record?: (update: StructureUpdate) => void;
}

/** The learning rate the optimizer currently uses for `tensor` (the proximal step is lr·λ). */
export function learningRateOf(optimizer: Optimizer, tensor: Tensor): number {
  const group = optimizer.groups.find((g) => g.params.includes(tensor));
  if (group === undefined) throw new Error(`${tensor.name ?? "a weight"} is not optimized, so it has no learning rate for a proximal step`);
  return group.options.lr;
}

function zeroFraction(params: NamedParameter[]): number {
  let zeros = 0, total = 0;
  for (const p of params) {
    const d = p.tensor.data;
    total += p.sparse ? p.sparse.rows * p.sparse.cols : d.length;
    zeros += p.sparse ? p.sparse.rows * p.sparse.cols - d.length : 0;
    for (let i = 0; i < d.length; i++) if (d[i] === 0) zeros++;
  }
  return zeros / Math.max(1, total);
}

/**
 * Whether the penalty still applies in the epoch `epoch` (0-based while training it, the count of
 * finished epochs at its end). Derived from the epoch rather than kept as a flag so that a run
 * resumed from a checkpoint written after fine-tuning began does not apply the penalty again.
 */
function penalizing(plan: PenaltyPlan, epoch: number): boolean {
  return plan.fixAfterEpoch === null || epoch < plan.fixAfterEpoch;
}

/** λ at the last step of the epoch `summary` reports (step index summary.step − 1); 0 once fine-tuning has begun. */
function lambdaAtEpochEnd(plan: PenaltyPlan, summary: EpochSummary): number {
  return penalizing(plan, summary.epoch - 1) ? plan.lambda * plan.schedule(summary.step - 1) : 0;
}

/** Entries stored by the weights of `layers` (a dense weight stores all), by name. */
function storedEntries(model: Model, layers: number[]): Map<string, number> {
  const weights = model.net.parameters().filter((p) => p.name.endsWith(".weight") && layers.includes(p.layerIndex));
  return new Map(weights.map((p) => [p.name, parameterStats(p).stored]));
}

/** Folds any gates, fixes the zeros (mask or CSR) for fine-tuning and logs the per-layer report. */
function fixZeros(plan: PenaltyPlan, model: Model, optimizer: Optimizer, ctx: HookContext): void {
  const before = storedEntries(model, plan.layers);
  const folded = foldAllGates(model);
  const report = sparsifyLayers(model, plan.layers, optimizer, { ...plan.sparsify, mask: true });
  if (plan.record) {
    // Follows the epoch's last step (ctx.epoch counts it): the checkpoint written after this epoch holds the fixed zeros.
    const after = storedEntries(model, plan.layers);
    const total = report.reduce((s, l) => s + l.total, 0), nonzero = report.reduce((s, l) => s + l.nonzero, 0);
    plan.record({
      step: ctx.step, epoch: ctx.epoch, method: plan.method, sparsity: 1 - nonzero / Math.max(1, total),
      layers: report.map((l) => ({ name: l.name, dropped: before.get(l.name)! - after.get(l.name)!, grown: 0, nnz: after.get(l.name)!, density: after.get(l.name)! / l.total })),
    });
  }
  plan.log(`${plan.method}: after epoch ${ctx.epoch}${folded.length ? ", gates folded" : ""}, zeros fixed; fine-tuning without the penalty:\n${formatSparsityReport(report)}`);
}

/** Hooks of a weight regularizer: gradient penalty after backward, or proximal step after the optimizer step. */
export function regularizerHooks(regularizer: Regularizer, plan: PenaltyPlan, model: Model): TrainerHooks {
  const targets = (ctx: HookContext) => ctx.parameters.filter((p) => p.name.endsWith(".weight") && plan.layers.includes(p.layerIndex));
  return {
    name: plan.method,
    afterBackward(ctx) {
      if (!penalizing(plan, ctx.epoch) || !regularizer.addGradient) return;
      const lambda = plan.lambda * plan.schedule(ctx.step);
      for (const p of targets(ctx)) regularizer.addGradient(p, lambda);
    },
    afterStep(ctx) {
      // ctx.step already counts the step just taken; ctx.epoch is still the step's epoch.
      if (!penalizing(plan, ctx.epoch) || !regularizer.proximalStep) return;
      const lambda = plan.lambda * plan.schedule(ctx.step - 1);
      for (const p of targets(ctx)) regularizer.proximalStep(p, learningRateOf(ctx.optimizer, p.tensor) * lambda);
    },
    endOfEpoch(ctx) {
      // ctx.epoch counts the epochs finished, this one included.
      if (!penalizing(plan, ctx.epoch - 1)) return;
      const params = targets(ctx);
      const penalty = params.reduce((s, p) => s + regularizer.penalty(p), 0);
      plan.log(`${plan.method}: epoch ${ctx.epoch}, λ ${(plan.lambda * plan.schedule(ctx.step)).toExponential(3)}, R(w) ${penalty.toFixed(2)}, exact zeros ${(100 * zeroFraction(params)).toFixed(2)}%`);
      if (ctx.epoch === plan.fixAfterEpoch) fixZeros(plan, model, ctx.optimizer, ctx);
    },
    epochMetrics(ctx, summary) {
      return { lambda: lambdaAtEpochEnd(plan, summary), zeroFraction: zeroFraction(targets(ctx)) };
    },
  };
}

/** Hooks of gated layers: the gate penalty's gradient after backward; fold and fix before fine-tuning. */
export function gateHooks(plan: PenaltyPlan, model: Model): TrainerHooks {
  const gated = () => model.net.layers.filter((l): l is GatedLayer => l instanceof GatedLayer);
  return {
    name: plan.method,
    afterBackward(ctx) {
      if (!penalizing(plan, ctx.epoch)) return;
      const lambda = plan.lambda * plan.schedule(ctx.step);
      for (const layer of gated()) {
        const gate = layer.gateParameter;
        if (gate.grad === null) continue;
        layer.gateKind.addPenaltyGradient(gate.data, gate.grad.data, lambda);
      }
    },
    endOfEpoch(ctx) {
      if (!penalizing(plan, ctx.epoch - 1)) return;
      const layers = gated();
      const penalty = layers.reduce((s, l) => s + l.gateKind.penalty(l.gateParameter.data), 0);
      const count = layers.reduce((s, l) => s + l.gateParameter.size, 0);
      const open = layers.reduce((s, l) => s + l.openFraction() * l.gateParameter.size, 0);
      plan.log(`${plan.method}: epoch ${ctx.epoch}, λ ${(plan.lambda * plan.schedule(ctx.step)).toExponential(3)}, gate penalty ${penalty.toFixed(1)}, open at test ${(100 * open / Math.max(1, count)).toFixed(2)}% of ${count} gates`);
      if (ctx.epoch === plan.fixAfterEpoch) fixZeros(plan, model, ctx.optimizer, ctx);
    },
    epochMetrics(ctx, summary) {
      const layers = gated();
      const weights = ctx.parameters.filter((p) => p.name.endsWith(".weight") && plan.layers.includes(p.layerIndex));
      const metrics: Record<string, number> = { lambda: lambdaAtEpochEnd(plan, summary), zeroFraction: zeroFraction(weights) };
      // Once folded (fine-tuning), the gates are gone.
      const count = layers.reduce((s, l) => s + l.gateParameter.size, 0);
      if (count > 0) metrics.gatesOpen = layers.reduce((s, l) => s + l.openFraction() * l.gateParameter.size, 0) / count;
      return metrics;
    },
  };
}
