// The prune sparsity methods a recipe can name, by method name: one-shot, iterative, lottery, gmp.
//
//   one-shot  prune once at `step` (default 0: e.g. a trained dense model from model.initFrom) to
//             `sparsity` or to an N:M pattern, then fine-tune with the mask fixed.
//   iterative prune → retrain rounds (Han et al. 2015): `rounds` events `roundEpochs` apart, each
//             removing the same fraction of the weights still alive, ending at `sparsity`.
//   lottery   iterative magnitude pruning with rewinding (Frankle & Carbin 2019): after every event
//             the surviving weights go back to their values before step `rewindStep` (0 = init).
//   gmp       gradual magnitude pruning with the cubic schedule of Zhu & Gupta 2017.
import { z } from "zod";
import { flag, nonNegativeInt, oneOf, positiveInt, section, text, unitInterval } from "../../recipe/fields.js";
import { criterionNames } from "../criteria.js";
import { defineMethod, type SparsityContext, type SparsityMethod } from "../method.js";
import { cubicSchedule, iterativeSchedule, oneShotSchedule, type SparsitySchedule } from "../schedules.js";
import { parseNM } from "../selectors.js";
import type { Model } from "../../nn/presets.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { convertSparseLayers, DEFAULT_CSR_BELOW } from "./convert.js";
import { pruningHooks, type PruningFlow } from "./flows.js";
import { structureNames } from "./pruner.js";

const nmMessage = 'expected N:M with 1 <= N <= M, e.g. "2:4"';
const nmPattern = z.string({ error: nmMessage }).regex(/^\d+:\d+$/, { error: nmMessage }).refine((text) => {
  const [n, m] = text.split(":").map(Number);
  return n >= 1 && n <= m;
}, { error: nmMessage });

/** Fields every prune method shares: what to prune, how to score and select, when to go CSR. */
const common = {
  criterion: oneOf(criterionNames).default("magnitude").describe("Score of a weight: magnitude |w|, random, gradient |g|, taylor |w·g|, snip, movement."),
  scope: oneOf(["layer", "global"]).default("layer").describe("layer: each weight reaches the sparsity; global: one ranking over all selected weights."),
  structure: oneOf(structureNames).optional().describe("Remove whole neurons/inputs (Linear) or filters/channels (Conv2d) by the norm of their scores."),
  norm: z.union([z.literal(1), z.literal(2)], { error: "expected 1 or 2" }).default(2).describe("Group norm for structured pruning."),
  include: z.array(text()).optional().describe('Weights to prune, by name pattern ("layers.0.weight", "layers.2", "*"); default all.'),
  exclude: z.array(text()).default([]).describe("Weights to leave dense, by name pattern."),
  overrides: z.record(z.string(), unitInterval()).default({}).describe("Final sparsity per weight pattern, instead of the method's."),
  minKeep: nonNegativeInt().default(0).describe("Never keep fewer than this many weights (groups, when structured) in a layer."),
  csrBelow: unitInterval().default(DEFAULT_CSR_BELOW).describe("Store and compute a layer as CSR once its density is at or below this."),
  shrink: flag().default(true).describe("Physically remove pruned neurons, filters and channels (and the next layer's matching inputs)."),
};

const oneShotSchema = section({
  method: z.literal("one-shot"),
  sparsity: unitInterval().optional().describe("Fraction of the weights pruned (torch's amount)."),
  nm: nmPattern.optional().describe('Keep N of every M consecutive inputs of each output, e.g. "2:4".'),
  step: nonNegativeInt().default(0).describe("Optimizer step at which to prune."),
  ...common,
}).superRefine((c, context) => {
  if (c.sparsity !== undefined && c.nm !== undefined) {
    context.addIssue({ code: "custom", path: ["nm"], input: c.nm, message: "expected either sparsity or nm, not both" });
  } else if (c.sparsity === undefined && c.nm === undefined) {
    context.addIssue({ code: "custom", path: ["sparsity"], input: undefined, message: 'expected a number in [0, 1] (or nm: "N:M")' });
  }
});

const roundsFields = {
  sparsity: unitInterval().describe("Sparsity after the last round."),
  rounds: positiveInt().describe("Number of pruning events."),
  roundEpochs: positiveInt().describe("Epochs of (re)training between pruning events."),
  firstEpoch: nonNegativeInt().optional().describe("Epoch of the first pruning event (iterative: 0; lottery: roundEpochs)."),
};

const iterativeSchema = section({ method: z.literal("iterative"), ...roundsFields, ...common });
const lotterySchema = section({
  method: z.literal("lottery"),
  ...roundsFields,
  rewindStep: nonNegativeInt().default(0).describe("Reset survivors to their values before this step (0 = initialization)."),
  ...common,
});

const gmpSchema = section({
  method: z.literal("gmp"),
  initialSparsity: unitInterval().default(0),
  finalSparsity: unitInterval(),
  beginStep: nonNegativeInt().default(0),
  endStep: positiveInt(),
  frequency: positiveInt().default(100).describe("Steps between pruning events (Δt)."),
  ...common,
}).superRefine((c, context) => {
  if (c.endStep <= c.beginStep) context.addIssue({ code: "custom", path: ["endStep"], input: c.endStep, message: `expected an integer > beginStep (${c.beginStep})` });
});

type Common = z.infer<z.ZodObject<typeof common>>;

function flowFor(name: string, config: Common, schedule: SparsitySchedule, finalSparsity: number, context: SparsityContext, extra: { nm?: string; rewindStep?: number } = {}): PruningFlow {
  return {
    name,
    prune: {
      criterion: config.criterion, scope: config.scope, structure: config.structure, norm: config.norm,
      include: config.include, exclude: config.exclude, minKeep: config.minKeep, seed: context.seed,
      overrides: config.overrides, finalSparsity, optionPrefix: "sparsity.",
      ...(extra.nm ? { nm: parseNM(extra.nm, "sparsity.nm") } : {}),
    },
    schedule, rewindStep: extra.rewindStep, csrBelow: config.csrBelow, shrink: config.shrink, log: context.log, record: context.record,
    runDir: context.runDir, resumeFrom: context.resumeFrom,
  };
}

function finish(config: Common, model: Model, context: SparsityContext): void {
  const converted = convertSparseLayers(model, config.csrBelow, null);
  if (converted.length > 0) context.log(`prune: layers ${converted.join(", ")} stored as CSR`);
}

/** Lottery rewinding needs its values before the first event, and the shapes it saved them in. */
function checkRewind(config: Common, rewindStep: number, firstEpoch: number, stepsPerEpoch: number): void {
  const firstStep = firstEpoch * stepsPerEpoch;
  if (rewindStep > firstStep) {
    throw new RangeError(`sparsity.rewindStep: expected a step <= ${firstStep}, the first pruning event (firstEpoch ${firstEpoch} × ${stepsPerEpoch} steps per epoch), got ${rewindStep}`);
  }
  if (config.structure !== undefined && config.shrink) {
    throw new RangeError(`sparsity.shrink: lottery rewinding needs the shapes it saved; set shrink: false to prune ${config.structure} with rewinding`);
  }
}

function roundsMethod(name: "iterative" | "lottery", schema: typeof iterativeSchema | typeof lotterySchema): SparsityMethod {
  return defineMethod<z.output<typeof lotterySchema> | z.output<typeof iterativeSchema>>({
    schema,
    hooks(config, model: Model, optimizer: Optimizer, context) {
      const firstEpoch = config.firstEpoch ?? (name === "lottery" ? config.roundEpochs : 0);
      const schedule = iterativeSchedule({
        finalSparsity: config.sparsity, rounds: config.rounds,
        firstStep: firstEpoch * context.stepsPerEpoch, roundSteps: config.roundEpochs * context.stepsPerEpoch,
      });
      const rewindStep = "rewindStep" in config ? config.rewindStep : undefined;
      if (rewindStep !== undefined) checkRewind(config, rewindStep, firstEpoch, context.stepsPerEpoch);
      return [pruningHooks(model, optimizer, flowFor(name, config, schedule, config.sparsity, context, { rewindStep }))];
    },
    finish,
  });
}

export const pruneMethods: Record<string, SparsityMethod> = {
  "one-shot": defineMethod<z.output<typeof oneShotSchema>>({
    schema: oneShotSchema,
    hooks(config, model, optimizer, context) {
      const schedule = oneShotSchedule(config.sparsity ?? 0, config.step);
      return [pruningHooks(model, optimizer, flowFor("one-shot", config, schedule, config.sparsity ?? 0, context, { nm: config.nm }))];
    },
    finish,
  }),
  iterative: roundsMethod("iterative", iterativeSchema),
  lottery: roundsMethod("lottery", lotterySchema),
  gmp: defineMethod<z.output<typeof gmpSchema>>({
    schema: gmpSchema,
    hooks(config, model, optimizer, context) {
      const schedule = cubicSchedule(config);
      return [pruningHooks(model, optimizer, flowFor("gmp", config, schedule, config.finalSparsity, context))];
    },
    finish,
  }),
};
