// The training recipe schema (zod 4): every section, its defaults, and what each field allows.
//
// Every object is strict, so a misspelt key is an error rather than a silently ignored setting.
// A new section (e.g. `sparsity`) is one more line in `recipeShape`.
import { z } from "zod";
import { distillSchema } from "../distill/recipe-section.js";
import { quantizeSchema } from "../quantize/qat-schema.js";
import { sparsitySchema } from "../sparse/registry.js";
import { density, expected, flag, fraction, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber, section, text, unitInterval } from "./fields.js";

// ---- data ----

const dataCommon = {
  validation: fraction().default(0.1).describe("Fraction of the training set held out for validation (seeded)."),
  limit: section({
    train: positiveInt().optional().describe("Use only the first N training examples (before the validation split)."),
    test: positiveInt().optional().describe("Use only the first N test examples."),
  }).prefault({}).describe("Subsets for quick runs."),
  normalize: oneOf(["none", "scale", "standardize", "standardize-features"]).default("standardize")
    .describe("scale: to [0, 1]; standardize: one mean/std over all features; standardize-features: per feature. Fitted on the training part."),
  batchSize: positiveInt().default(128),
  evalBatchSize: positiveInt().default(1000),
  dropLast: flag().default(false).describe("Drop a last training batch smaller than batchSize."),
  shuffle: flag().default(true).describe("Reshuffle the training set every epoch (seeded by seed and epoch)."),
};

const imageDataDir = text().optional().describe("Folder holding the four IDX files (raw or .gz); default: the bundled or installed copy.");

// MNIST is the default, so a data section that only sets e.g. batchSize needs no `dataset`.
const mnistDataset = section({ dataset: z.literal("mnist").default("mnist"), dataDir: imageDataDir, ...dataCommon });
const fashionMnistDataset = section({ dataset: z.literal("fashion-mnist"), dataDir: imageDataDir, ...dataCommon });

const csvDataset = section({
  dataset: z.literal("csv"),
  path: text().describe("CSV file with a header row; numeric features."),
  testPath: text().optional().describe("Separate test CSV; without it a seeded testFraction of `path` is held out."),
  testFraction: fraction().default(0.2),
  labelColumn: text().default("label"),
  delimiter: text().default(","),
  ...dataCommon,
});

export const dataSchema = z.discriminatedUnion("dataset", [mnistDataset, fashionMnistDataset, csvDataset]);

// ---- model ----

const layerKey = z.string().regex(/^(\d+|layers\.\d+)$/, { error: 'expected a layer index ("0") or name ("layers.0")' });

const modelCommon = {
  initFrom: text().optional().describe("Start from the weights of this checkpoint (same architecture), e.g. a dense model to prune."),
  activation: oneOf(["relu", "leaky-relu", "tanh", "sigmoid", "gelu"]).default("relu"),
  dropout: fraction().default(0),
  sparse: z.record(layerKey, section({ density: density() }))
    .default({})
    .describe('Layers built sparse (CSR), by index or name: {"0": {density: 0.1}, "layers.2": {density: 0.05}}.'),
};

export const modelSchema = z.discriminatedUnion("preset", [
  section({ preset: z.literal("lenet-300-100").default("lenet-300-100"), batchNorm: flag().default(false), ...modelCommon }),
  section({ preset: z.literal("lenet-5"), ...modelCommon }).describe("Caffe LeNet-5: conv 20@5×5, max-pool 2, conv 50@5×5, max-pool 2, fc 500, fc 10."),
  section({
    preset: z.literal("mlp"),
    widths: z.array(positiveInt(), { error: "expected a list of layer widths, e.g. [300, 100]" }).min(1, { error: "expected at least one hidden width" }),
    batchNorm: flag().default(false),
    ...modelCommon,
  }),
]);

// ---- optimizer ----

const paramGroup = section({
  pattern: text().describe('Glob over parameter names, e.g. "layers.0.*" or "*.bias".'),
  lr: positiveNumber().optional(),
  weightDecay: nonNegativeNumber().optional(),
});

const optimizerCommon = {
  weightDecay: nonNegativeNumber().default(0),
  paramGroups: z.array(paramGroup, { error: "expected a list of {pattern, lr, weightDecay}" }).default([])
    .describe("Per-parameter overrides; the first matching pattern wins."),
  gradClip: positiveNumber().optional().describe("Maximum global L2 norm of the gradients."),
  weightClip: positiveNumber().optional().describe("Clamp every weight into [-weightClip, weightClip] after each step."),
};

const adamShape = {
  betas: z.tuple([fraction(), fraction()], { error: "expected [beta1, beta2], each in [0, 1)" }).default([0.9, 0.999]),
  eps: positiveNumber().default(1e-8),
};

export const optimizerSchema = z.discriminatedUnion("name", [
  section({
    name: z.literal("sgd").default("sgd"),
    lr: positiveNumber().default(0.1),
    momentum: fraction().default(0),
    nesterov: flag().default(false),
    ...optimizerCommon,
  }).superRefine((o, context) => {
    if (o.nesterov === true && o.momentum === 0) {
      context.addIssue({ code: "custom", path: ["nesterov"], input: true, message: "expected false when momentum is 0 (Nesterov needs momentum > 0)" });
    }
  }, { when: alsoWithOtherIssues }),
  section({ name: z.literal("adam"), lr: positiveNumber().default(0.001), ...adamShape, ...optimizerCommon }),
  section({ name: z.literal("adamw"), lr: positiveNumber().default(0.001), ...adamShape, ...optimizerCommon, weightDecay: nonNegativeNumber().default(0.01) }),
]);

// ---- learning-rate schedule ----

const partLength = positiveInt().optional().describe("Length in schedule units: of this part in a sequence; for cosine, the annealing period (default: to the end of training).");

/** The primitive schedules, as torch names them; t counts epochs or steps (schedule.unit). */
const primitiveShapes = {
  constant: { name: z.literal("constant").default("constant"), factor: nonNegativeNumber().default(1), length: partLength },
  step: { name: z.literal("step"), stepSize: positiveInt(), gamma: positiveNumber().default(0.1), length: partLength },
  multistep: {
    name: z.literal("multistep"),
    milestones: z.array(positiveInt(), { error: "expected a list of integers >= 1" }).min(1, { error: "expected at least one milestone" }),
    gamma: positiveNumber().default(0.1),
    length: partLength,
  },
  exponential: { name: z.literal("exponential"), gamma: positiveNumber(), length: partLength },
  cosine: { name: z.literal("cosine"), minFactor: unitInterval().default(0), length: partLength },
  warmup: { name: z.literal("warmup"), startFactor: unitInterval().default(0), length: positiveInt() },
};

const sequencePart = z.discriminatedUnion("name", [
  section(primitiveShapes.constant),
  section(primitiveShapes.step),
  section(primitiveShapes.multistep),
  section(primitiveShapes.exponential),
  section(primitiveShapes.cosine),
  section(primitiveShapes.warmup),
]);

const scheduleTop = {
  unit: oneOf(["epoch", "step"]).default("epoch").describe("What t counts: epochs or optimizer steps."),
  warmup: section({ length: positiveInt(), startFactor: unitInterval().default(0) }).optional()
    .describe("Linear warm-up from startFactor to 1 over `length` units before the schedule."),
};

const sequenceSchedule = section({
  name: z.literal("sequence"),
  parts: z.array(sequencePart, { error: "expected a list of schedules" }).min(1, { error: "expected at least one part" })
    .describe("Schedules run one after another, each from its own t = 0; every part but the last needs a length."),
  ...scheduleTop,
}).superRefine((schedule, context) => {
  if (!Array.isArray(schedule.parts)) return;
  schedule.parts.slice(0, -1).forEach((part, i) => {
    if (typeof part === "object" && part !== null && part.length === undefined) {
      context.addIssue({ code: "custom", path: ["parts", i, "length"], input: undefined, message: "expected an integer >= 1 (every part but the last needs a length)" });
    }
  });
}, { when: alsoWithOtherIssues });

export const scheduleSchema = z.discriminatedUnion("name", [
  section({ ...primitiveShapes.constant, ...scheduleTop }),
  section({ ...primitiveShapes.step, ...scheduleTop }),
  section({ ...primitiveShapes.multistep, ...scheduleTop }),
  section({ ...primitiveShapes.exponential, ...scheduleTop }),
  section({ ...primitiveShapes.cosine, ...scheduleTop }),
  section({ ...primitiveShapes.warmup, ...scheduleTop }),
  sequenceSchedule,
]);

// ---- keys that exclude each other ----

/** Keys of one section that a recipe may not set together: a `--set` of one removes the others (overrides.ts). */
export interface ExclusiveKeys {
  /** Dotted path of the section, e.g. "train". */
  section: string;
  keys: readonly string[];
  /** Only while the section has these values, e.g. {method: "one-shot"}. */
  when?: Readonly<Record<string, unknown>>;
}

const epochsOrSteps: ExclusiveKeys = { section: "train", keys: ["epochs", "steps"] };

/** Every exclusive group of the recipe; the one-shot rule itself lives in src/sparse/prune/methods.ts. */
export const exclusiveRecipeKeys: readonly ExclusiveKeys[] = [
  epochsOrSteps,
  { section: "sparsity", keys: ["sparsity", "nm"], when: { method: "one-shot" } },
];

// ---- training loop and output ----

export const trainSchema = section({
  epochs: positiveInt().optional().describe("Train for this many epochs (default 10 when neither epochs nor steps is given)."),
  steps: positiveInt().optional().describe("Train for this many optimizer steps instead of epochs."),
  evalEvery: positiveInt().default(1).describe("Evaluate on the validation set every N epochs (every N steps with `steps`)."),
  threads: positiveInt().default(1).describe("Threads for data-parallel training steps (worker threads sharing the model's memory); 1 computes on the main thread only."),
  labelSmoothing: fraction().default(0).describe("Label smoothing ε of the training cross-entropy, in [0, 1): targets (1 − ε)·onehot + ε/classes."),
  earlyStopping: section({
    patience: positiveInt().describe("Evaluations without improvement before stopping."),
    metric: oneOf(["val_loss", "val_accuracy"]).default("val_loss"),
    minDelta: nonNegativeNumber().default(0),
  }).optional(),
})
  .superRefine((t, context) => {
    const [first, second] = epochsOrSteps.keys as ("epochs" | "steps")[];
    if (t[first] !== undefined && t[second] !== undefined) {
      context.addIssue({ code: "custom", path: [second], input: t[second], message: `expected either ${first} or ${second}, not both` });
    }
  }, { when: alsoWithOtherIssues })
  .transform((t) => ({ ...t, epochs: t.epochs ?? (t.steps === undefined ? 10 : undefined) }));

export const outputSchema = section({
  runDir: text().optional().describe("Folder for checkpoints and the metrics log; default runs/<recipe name>."),
  checkpointEvery: nonNegativeInt().default(1).describe("Write a checkpoint every N epochs (0: only at the end)."),
});

// ---- the recipe ----

const recipeShape = {
  name: text().optional().describe("Names the run; default: the recipe file's name."),
  description: z.string(expected("a string")).optional(),
  seed: nonNegativeInt().default(0).describe("Seeds every random stream (init, shuffling, splits, sparsity)."),
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  optimizer: optimizerSchema.prefault({}),
  schedule: scheduleSchema.prefault({}),
  train: trainSchema.prefault({}),
  output: outputSchema.prefault({}),
  sparsity: sparsitySchema().optional().describe("How the network becomes sparse: a method from src/sparse/ (see README)."),
  quantize: quantizeSchema.optional(),
  distill: distillSchema.optional(),
};

export const recipeSchema = section(recipeShape);

/** Cross-field checks read only plain fields, so they can run (and report) even when other fields failed. */
function alsoWithOtherIssues(payload: z.core.ParsePayload): boolean {
  return typeof payload.value === "object" && payload.value !== null;
}

export type Recipe = z.output<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;
export type DataConfig = z.output<typeof dataSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type OptimizerConfig = z.output<typeof optimizerSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type ScheduleStep = z.output<typeof sequencePart>;
export type TrainConfig = z.output<typeof trainSchema>;
export type OutputConfig = z.output<typeof outputSchema>;
