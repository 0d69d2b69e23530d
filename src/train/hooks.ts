// Hook points of the training loop: the interface sparsity methods and callbacks use.
import type { NamedParameter } from "../nn/sequential.js";
import type { Model } from "../nn/presets.js";
import type { Optimizer } from "../optim/optimizer.js";

/** What a hook sees: the model, its named parameters (with gradients), the optimizer and the position. */
export interface HookContext {
  model: Model;
  parameters: NamedParameter[];
  optimizer: Optimizer;
  /** Optimizer steps completed before this one (0 at the first step). */
  step: number;
  epoch: number;
  /** Loss of the current batch (after the forward pass), when known. */
  loss?: number;
}

export interface EpochSummary {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  lr: number;
}

/** Optional callbacks; any may be omitted. A hook that changes parameters must keep them valid. */
export interface TrainerHooks {
  name?: string;
  beforeStep?(ctx: HookContext): void;
  afterBackward?(ctx: HookContext): void;
  afterStep?(ctx: HookContext): void;
  endOfEpoch?(ctx: HookContext, summary: EpochSummary): void;
}
