// The regularize sparsity methods a recipe can name, by method name: L1, proximal L1, group lasso, sigmoid gates and L0 (hard-concrete) gates.
import type { Model } from "../../nn/presets.js";
import { Rng } from "../../tensor/rng.js";
import { defineMethod, type SparsityContext, type SparsityMethod } from "../method.js";
import { selectTargets } from "../prune/targets.js";
import { foldAllGates, formatSparsityReport, sparsifyLayers } from "./finalize.js";
import { GatedLayer, isGatableLayer, isStoredAsCsr } from "../../nn/gated-layer.js";
import { hardConcreteGates, sigmoidGates, type GateKind } from "../../nn/gates.js";
import { gateHooks, regularizerHooks, type PenaltyPlan } from "./hooks.js";
import { lambdaScheduleFrom } from "./lambda-schedules.js";
import { groupLasso, l1Penalty, proximalL1, type Regularizer } from "./regularizers.js";
import {
  groupLassoSchema, l0GatesSchema, l1Schema, proximalL1Schema, sigmoidGatesSchema,
  type GateConfig, type GroupLassoConfig, type L0GatesConfig, type RegularizeCommonConfig, type SigmoidGatesConfig,
} from "./schema.js";

type CommonConfig = RegularizeCommonConfig | GateConfig;

/** Layer indices of the weights the method works on (every Linear and Conv2d weight minus `exclude`). */
function targetLayers(config: CommonConfig, model: Model): number[] {
  return selectTargets(model.net.parameters(), { exclude: config.exclude, optionPrefix: "sparsity." }).map((t) => t.param.layerIndex);
}

/** The epoch after which fine-tuning starts, checked against the run's length. */
function fixAfterEpoch(config: CommonConfig, context: SparsityContext): number | null {
  if (config.fineTune === undefined) return null;
  const epochs = Math.ceil(context.totalSteps / context.stepsPerEpoch);
  const fixAt = epochs - config.fineTune.epochs;
  if (fixAt < 1) {
    throw new RangeError(`sparsity.fineTune.epochs: expected an integer < ${epochs} (the run's epochs), got ${config.fineTune.epochs}; the penalty needs at least one epoch before fine-tuning`);
  }
  return fixAt;
}

function plan(config: CommonConfig & { threshold?: number }, layers: number[], context: SparsityContext): PenaltyPlan {
  return {
    method: config.method,
    lambda: config.lambda,
    schedule: lambdaScheduleFrom(config.lambdaSchedule, context.stepsPerEpoch),
    layers,
    fixAfterEpoch: fixAfterEpoch(config, context),
    sparsify: { threshold: config.threshold ?? 0, csrBelow: config.csrBelow },
    log: context.log,
    record: context.record,
  };
}

/** Folds remaining gates, thresholds, converts sparse-enough layers to CSR and logs the per-layer sparsity. */
function finish(config: CommonConfig & { threshold?: number }, model: Model, context: SparsityContext): void {
  foldAllGates(model);
  const report = sparsifyLayers(model, targetLayers(config, model), null, { threshold: config.threshold ?? 0, csrBelow: config.csrBelow, mask: false });
  context.log(`${config.method}: per-layer sparsity\n${formatSparsityReport(report)}`);
}

function weightRegularizer<C extends RegularizeCommonConfig>(schema: SparsityMethod<C>["schema"], regularizer: (config: C) => Regularizer): SparsityMethod {
  return defineMethod<C>({
    schema,
    hooks: (config, model, _optimizer, context) => [regularizerHooks(regularizer(config), plan(config, targetLayers(config, model), context), model)],
    finish,
  });
}

/** Wraps each target layer in a GatedLayer whose gate parameter the optimizer (built next) will train. */
function gateMethod<C extends GateConfig>(schema: SparsityMethod<C>["schema"], gateKind: (config: C) => GateKind): SparsityMethod {
  return defineMethod<C>({
    schema,
    prepareModel(config, model, context) {
      const kind = gateKind(config);
      for (const index of targetLayers(config, model)) {
        const layer = model.net.layers[index];
        if (!isGatableLayer(layer)) throw new Error(`sparsity: layers.${index} (${layer.describe()}) cannot be gated`);
        if (config.granularity === "weight" && isStoredAsCsr(layer)) {
          throw new RangeError(`sparsity.granularity: per-weight gates need dense layers, but layers.${index} (${layer.describe()}) is stored as CSR; use granularity: neuron or exclude: [layers.${index}]`);
        }
        const rng = new Rng(context.seed, `layers.${index}.${kind.parameterName}/init`);
        model.net.layers[index] = new GatedLayer(layer, kind, config.granularity, rng, `layers.${index}`);
      }
    },
    hooks(config, model, _optimizer, context) {
      const layers = model.net.layers.flatMap((l, i) => (l instanceof GatedLayer ? [i] : []));
      return [gateHooks(plan(config, layers, context), model)];
    },
    finish,
  });
}

export const regularizeMethods: Record<string, SparsityMethod> = {
  l1: weightRegularizer(l1Schema, () => l1Penalty()),
  "prox-l1": weightRegularizer(proximalL1Schema, () => proximalL1()),
  "group-lasso": weightRegularizer(groupLassoSchema, (c: GroupLassoConfig) => groupLasso(c.structure, c.mode)),
  "sigmoid-gates": gateMethod(sigmoidGatesSchema, (c: SigmoidGatesConfig) => sigmoidGates({ initialGate: c.initialGate, pruneBelow: c.pruneBelow })),
  l0: gateMethod(l0GatesSchema, (c: L0GatesConfig) =>
    hardConcreteGates({ initialDropRate: c.initialDropRate, beta: c.temperature, gamma: c.stretch[0], zeta: c.stretch[1] })),
};
