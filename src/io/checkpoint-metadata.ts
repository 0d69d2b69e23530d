// Validates a checkpoint's __metadata__ (model description, normalizer, metrics, step/epoch/seed, sparse shapes) before anything is built from it.
import { z } from "zod";
import type { Normalizer } from "../data/normalize.js";
import type { ModelSpec } from "../nn/presets.js";
import { density, expected, flag, fraction, nonNegativeInt, oneOf, positiveInt } from "../recipe/fields.js";
import { describeIssues, formatPath } from "../recipe/recipe-error.js";
import { findDuplicateKey } from "./json-duplicate-keys.js";

export const CHECKPOINT_FORMAT = "sparsetrain-checkpoint/1";

/** Dimensions are int32 in the CSR kernels (column indices, row pointers). */
const maxDimension = 2 ** 31 - 1;
const dimension = () => positiveInt().max(maxDimension, expected(`an integer in [1, ${maxDimension}]`));

// Loose objects: keys this version does not know are kept, so newer writers stay readable where they add fields.
const modelSpecSchema = z.looseObject({
  preset: oneOf(["lenet-300-100", "lenet-5", "mlp"]),
  inputShape: z.array(dimension(), expected("a list of integers >= 1")).min(1, expected("a non-empty list of integers >= 1")),
  classes: dimension(),
  widths: z.array(dimension(), expected("a list of integers >= 1")).min(1, expected("a non-empty list of integers >= 1")).optional(),
  activation: oneOf(["relu", "leaky-relu", "tanh", "sigmoid", "gelu"]).optional(),
  dropout: fraction().optional(),
  batchNorm: flag().optional(),
  sparse: z.record(z.string(), density(), expected("a mapping of layer index to density")).optional(),
  seed: z.int(expected("an integer")),
}, expected("an object describing the model"));

const finiteList = () => z.array(z.number(expected("a finite number")), expected("a list of numbers")).min(1, expected("a non-empty list of numbers"));
const normalizerSchema = z.strictObject({
  kind: oneOf(["none", "scale", "standardize", "standardize-features"]),
  shift: finiteList(),
  factor: finiteList(),
}, expected("an object {kind, shift, factor}")).refine((n) => n.shift.length === n.factor.length, {
  error: "expected shift and factor of the same length",
});

const metricsSchema = z.record(z.string(), z.number(expected("a number")), expected("a mapping of names to numbers"));
/** Dense [rows, cols] of every CSR weight, by parameter name. */
const sparseShapesSchema = z.record(z.string(), z.tuple([dimension(), dimension()], expected("[rows, cols]")), expected("a mapping of weight names to [rows, cols]"));
const recipeSchema = z.looseObject({}, expected("an object (the recipe)"));

const int32 = () => z.int(expected("a 32-bit integer")).min(-(2 ** 31), expected("a 32-bit integer")).max(2 ** 32 - 1, expected("a 32-bit integer"));
/** The state file's trainer position and random stream (TrainerState). */
export const trainerStateSchema = z.looseObject({
  epoch: nonNegativeInt(),
  step: nonNegativeInt(),
  bestMetric: z.number(expected("a number or null")).nullable(),
  epochsWithoutImprovement: nonNegativeInt(),
  modelRng: z.strictObject({ s: z.tuple([int32(), int32(), int32(), int32()]), spareNormal: z.number(expected("a number or null")).nullable() }, expected("an object {s, spareNormal}")),
}, expected("an object describing the trainer state"));
/** The state file's optimizer header (OptimizerState without buffers). */
export const optimizerHeaderSchema = z.looseObject({
  kind: z.string(expected("a string")),
  steps: z.record(z.string(), nonNegativeInt(), expected("a mapping of parameter names to step counts")),
  lrs: z.array(z.number(expected("a number")).min(0, expected("a number >= 0")), expected("a list of learning rates")),
}, expected("an object {kind, steps, lrs}"));

/** What the metadata of a checkpoint says, validated. */
export interface CheckpointMetadata {
  spec: ModelSpec;
  recipe?: unknown;
  normalizer?: Normalizer;
  metrics?: Record<string, number>;
  step: number;
  epoch: number;
  seed: number;
  /** [rows, cols] of each CSR weight, when the writer recorded them. */
  sparseShapes?: Record<string, [number, number]>;
}

/** Parses and validates a checkpoint's metadata; every error is one line starting with `path`. */
export function readCheckpointMetadata(metadata: Record<string, string>, path: string): CheckpointMetadata {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a sparsetrain checkpoint (format "${metadata.format ?? "missing"}", expected "${CHECKPOINT_FORMAT}")`);
  }
  const spec = parseMetadataJson(metadata, "model", path, modelSpecSchema, true) as ModelSpec;
  const step = readCount(metadata, "step", path);
  const epoch = readCount(metadata, "epoch", path);
  // Every completed epoch took at least one step.
  if (epoch > step) throw new Error(`${path}: metadata says epoch ${epoch} but step ${step}; an epoch takes at least one step`);
  const normalizer = parseMetadataJson(metadata, "normalizer", path, normalizerSchema, false);
  const features = spec.inputShape.reduce((a, b) => a * b, 1);
  if (normalizer !== undefined && normalizer.shift.length !== 1 && normalizer.shift.length !== features) {
    throw new Error(`${path}: metadata "normalizer" has ${normalizer.shift.length} features; the model takes ${features} (or give one shift and factor for all)`);
  }
  return {
    spec, step, epoch, normalizer,
    seed: readCount(metadata, "seed", path),
    recipe: parseMetadataJson(metadata, "recipe", path, recipeSchema, false),
    metrics: parseMetadataJson(metadata, "metrics", path, metricsSchema, false),
    sparseShapes: parseMetadataJson(metadata, "sparse", path, sparseShapesSchema, false),
  };
}

/** A decimal integer >= 0 stored as a metadata string (step, epoch, seed). */
export function readCount(metadata: Record<string, string>, key: string, path: string): number {
  const text = metadata[key];
  if (text === undefined) throw new Error(`${path}: metadata has no "${key}"`);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new Error(`${path}: metadata "${key}" must be an integer >= 0, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** The JSON value of metadata `key`, checked against `schema`; undefined when absent and not `required`. */
export function parseMetadataJson<S extends z.ZodType>(metadata: Record<string, string>, key: string, path: string, schema: S, required: true): z.output<S>;
export function parseMetadataJson<S extends z.ZodType>(metadata: Record<string, string>, key: string, path: string, schema: S, required: boolean): z.output<S> | undefined;
export function parseMetadataJson<S extends z.ZodType>(metadata: Record<string, string>, key: string, path: string, schema: S, required: boolean): z.output<S> | undefined {
  const text = metadata[key];
  if (text === undefined) {
    if (required) throw new Error(`${path}: not a sparsetrain checkpoint (metadata has no "${key}")`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${path}: metadata "${key}" is not valid JSON`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw new Error(`${path}: metadata "${key}" names ${duplicate} twice`);
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) {
    const [issue] = describeIssues(result.error.issues);
    const field = formatPath(issue.path);
    throw new Error(`${path}: metadata "${key}"${field ? ` field ${field}` : ""}: ${issue.message}`.replace(/\s*\n\s*/g, " "));
  }
  return result.data;
}
