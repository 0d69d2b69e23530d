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
  /**
   * Numbers the hook adds to the epoch's line of the run log (e.g. `lambda`, `zeroFraction`,
   * `gatesOpen`), read after `endOfEpoch`; must not change the model.
   */
  epochMetrics?(ctx: HookContext, summary: EpochSummary): Record<string, number>;
}

/**
 * Weights replaced in place for the passes that should see them (fake quantization) and restored
 * right after: the trainer calls `swapIn` after the beforeStep hooks and before a validation pass,
 * and `restore` right after backward (before the afterBackward hooks, so that they, gradient
 * clipping and the optimizer see the original weights) and after the validation pass.
 */
export interface WeightSwap {
  /** Swaps the weights if active at this position (`ctx.epoch` is the epoch being trained); returns whether it did. */
  swapIn(ctx: HookContext): boolean;
  restore(): void;
}
