// Builds the parts of a training run (model, optimizer with parameter groups, learning-rate schedule) from a validated recipe.
import type { Dataset } from "../data/dataset.js";
import { buildModel, type Model, type ModelSpec } from "../nn/presets.js";
import type { NamedParameter } from "../nn/sequential.js";
import { Adam, AdamW } from "../optim/adam.js";
import type { Optimizer } from "../optim/optimizer.js";
import {
  constantSchedule, cosineSchedule, exponentialSchedule, linearWarmupSchedule, multiStepSchedule,
  sequenceSchedule, stepSchedule, type Schedule,
} from "../optim/schedules.js";
import { Sgd } from "../optim/sgd.js";
import { firstMatchingPattern } from "../recipe/pattern.js";
import type { ModelConfig, OptimizerConfig, Recipe, ScheduleConfig, ScheduleStep } from "../recipe/schema.js";

/** The model a recipe describes for data of the given example shape and class count. */
export function modelFromRecipe(config: ModelConfig, seed: number, featureShape: number[], classes: number): Model {
  return buildModel(modelSpecFromRecipe(config, seed, featureShape, classes));
}

/** The model description of a recipe (layers to build sparse included), without building it. */
export function modelSpecFromRecipe(config: ModelConfig, seed: number, featureShape: number[], classes: number): ModelSpec {
  const sparse: Record<string, number> = {};
  for (const [key, value] of Object.entries(config.sparse)) sparse[key.replace(/^layers\./, "")] = value.density;
  const spec: ModelSpec = {
    preset: config.preset,
    inputShape: featureShape,
    classes,
    activation: config.activation,
    dropout: config.dropout || undefined,
    batchNorm: "batchNorm" in config ? config.batchNorm : false,
    widths: "widths" in config ? config.widths : undefined,
    sparse,
    seed,
  };
  return spec;
}

/** The optimizer of a recipe over the model's parameters, grouped by the first matching `paramGroups` pattern. */
export function optimizerFromRecipe(config: OptimizerConfig, parameters: NamedParameter[]): Optimizer {
  const patterns = config.paramGroups.map((g) => g.pattern);
  const groups = [{ params: [] as NamedParameter["tensor"][], options: {} as { lr?: number; weightDecay?: number } }];
  config.paramGroups.forEach((g) => groups.push({ params: [], options: { lr: g.lr, weightDecay: g.weightDecay } }));
  for (const p of parameters) groups[firstMatchingPattern(p.name, patterns) + 1].params.push(p.tensor);
  config.paramGroups.forEach((g, i) => {
    if (groups[i + 1].params.length === 0) throw new RangeError(`optimizer.paramGroups[${i}]: pattern "${g.pattern}" matches no parameter (parameters: ${parameters.map((p) => p.name).join(", ")})`);
  });
  const used = groups.filter((g) => g.params.length > 0);
  switch (config.name) {
    case "sgd":
      return new Sgd(used, { lr: config.lr, momentum: config.momentum, nesterov: config.nesterov, weightDecay: config.weightDecay });
    case "adam":
    case "adamw": {
      const defaults = { lr: config.lr, beta1: config.betas[0], beta2: config.betas[1], eps: config.eps, weightDecay: config.weightDecay };
      return config.name === "adam" ? new Adam(used, defaults) : new AdamW(used, defaults);
    }
  }
}

function primitive(part: ScheduleStep, defaultLength: number): Schedule {
  switch (part.name) {
    case "constant": return constantSchedule(part.factor);
    case "step": return stepSchedule(part.stepSize, part.gamma);
    case "multistep": return multiStepSchedule(part.milestones, part.gamma);
    case "exponential": return exponentialSchedule(part.gamma);
    case "cosine": return cosineSchedule(part.length ?? defaultLength, part.minFactor);
    case "warmup": return linearWarmupSchedule(part.length, part.startFactor);
  }
}

/**
 * The recipe's schedule as a function of optimizer steps. With unit "epoch" the schedule sees whole
 * epochs (as torch's per-epoch schedulers do); a cosine without a length spans the rest of training.
 */
export function scheduleFromRecipe(config: ScheduleConfig, totalSteps: number, stepsPerEpoch: number): Schedule {
  const perEpoch = config.unit === "epoch";
  const totalUnits = perEpoch ? Math.ceil(totalSteps / stepsPerEpoch) : totalSteps;
  const warmupLength = config.warmup?.length ?? 0;
  let main: Schedule;
  if (config.name === "sequence") {
    const fixed = config.parts.slice(0, -1).reduce((s, p) => s + (p.length ?? 0), 0);
    main = sequenceSchedule(config.parts.map((p) => ({
      schedule: primitive(p, Math.max(1, totalUnits - warmupLength - fixed)),
      steps: p.length,
    })));
  } else {
    main = primitive(config, Math.max(1, totalUnits - warmupLength));
  }
  const whole = config.warmup
    ? sequenceSchedule([{ schedule: linearWarmupSchedule(config.warmup.length, config.warmup.startFactor), steps: config.warmup.length }, { schedule: main }])
    : main;
  return perEpoch ? (step) => whole(Math.floor(step / stepsPerEpoch)) : whole;
}

/** Total optimizer steps of a recipe's training run on `train`. */
export function totalSteps(recipe: Recipe, train: Dataset): number {
  const { batchSize, dropLast } = recipe.data;
  const perEpoch = dropLast ? Math.floor(train.length / batchSize) : Math.ceil(train.length / batchSize);
  return recipe.train.steps ?? perEpoch * (recipe.train.epochs ?? 10);
}
