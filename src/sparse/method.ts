// The contract of a sparsity method in a recipe: its schema, per-layer densities, model preparation, trainer hooks and finishing step.
import type { z } from "zod";
import type { Dataset } from "../data/dataset.js";
import type { Model, WeightLayerShape } from "../nn/presets.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { TrainerHooks } from "../train/hooks.js";
import type { StructureUpdate } from "../train/run-log.js";

/** What a method knows about the run it is part of. */
export interface SparsityContext {
  seed: number;
  train: Dataset;
  stepsPerEpoch: number;
  totalSteps: number;
  batchSize: number;
  /** Where the run writes (for methods that keep extra files, e.g. lottery-ticket initial weights). */
  runDir: string;
  /** The checkpoint a resumed run starts from (methods find their extra files beside it). */
  resumeFrom?: string;
  log: (line: string) => void;
  /** Records a structure change (dynamic update, pruning step) as an `update` line of the run's metrics log. */
  record?: (update: StructureUpdate) => void;
}

/**
 * One sparsity method (e.g. "rigl", "gmp", "prox-l1"). The run calls, in order: `layerDensities`
 * (before the model is built), `prepareModel` (after), then builds the optimizer, then `hooks`,
 * trains, and finally `finish`. Every part is optional except the schema.
 */
export interface SparsityMethod<C extends { method: string } = { method: string }> {
  /** A strict zod object with `method: z.literal(name)`. */
  schema: z.ZodType<C, any>;
  /** Densities by layer index for layers to be built sparse (CSR) from the start. */
  layerDensities?(config: C, layers: WeightLayerShape[], context: SparsityContext): Record<string, number>;
  /** Changes the model before the optimizer exists (initial masks, gates, …). */
  prepareModel?(config: C, model: Model, context: SparsityContext): void;
  /** Trainer hooks that do the method's work during training. */
  hooks?(config: C, model: Model, optimizer: Optimizer, context: SparsityContext): TrainerHooks[];
  /** After training: fold gates, threshold to exact zeros, convert to CSR, … */
  finish?(config: C, model: Model, context: SparsityContext): void;
}

/** Helper for registries: keeps each method's config type while storing them together. */
export function defineMethod<C extends { method: string }>(method: SparsityMethod<C>): SparsityMethod<{ method: string }> {
  return method as unknown as SparsityMethod<{ method: string }>;
}
