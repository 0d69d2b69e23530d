// The training loop: seeded batching, forward/backward/step with hook points, evaluation, early stopping, divergence checks.
import { backward } from "../autograd/engine.js";
import { argmax } from "../autograd/ops/reduce.js";
import type { Model } from "../nn/presets.js";
import { clipGradNorm, clipWeights } from "../optim/clip.js";
import type { Optimizer } from "../optim/optimizer.js";
import { applySchedule, type Schedule } from "../optim/schedules.js";
import { BatchLoader, type Batch } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import { trainingLoss, type BatchTeacher, type TeacherTargets } from "../distill/training-loss.js";
import { DataParallel } from "../parallel/data-parallel.js";
import type { RngState } from "../tensor/rng.js";
import { empty, keep, rowsView, tidy, viewAs, type Tensor } from "../tensor/tensor.js";
import { evaluate, type Evaluation } from "./evaluate.js";
import type { EpochSummary, HookContext, TrainerHooks, WeightSwap } from "./hooks.js";

export interface TrainerOptions {
  model: Model;
  optimizer: Optimizer;
  train: Dataset;
  validation?: Dataset;
  batchSize: number;
  /** Train for this many epochs, or (if set) stop after `steps` optimizer steps. */
  epochs: number;
  steps?: number;
  seed: number;
  /** Learning-rate schedule evaluated at every step (t = steps done). */
  schedule?: Schedule;
  labelSmoothing?: number;
  /** Knowledge distillation: the teacher's logits of every training example, T and α (src/distill); the training loss becomes the distillation loss. */
  distill?: TeacherTargets;
  /** Reshuffle every epoch (default true) and drop a short last batch (default false). */
  shuffle?: boolean;
  dropLast?: boolean;
  gradClipNorm?: number;
  weightClip?: number;
  /** Evaluate on the validation set every N epochs (and after the last). Default 1. */
  evalEvery?: number;
  earlyStopping?: { patience: number; metric: "val_loss" | "val_accuracy"; minDelta?: number };
  hooks?: TrainerHooks[];
  /** Weights swapped in for forward/backward and validation (quantization-aware training), see WeightSwap. */
  weightSwap?: WeightSwap;
  /** Threads for data-parallel steps (src/parallel): 1 (default) computes on the calling thread only. */
  threads?: number;
  /** Called after every step with the running numbers (for progress bars). */
  onStep?: (info: { epoch: number; stepInEpoch: number; stepsPerEpoch: number; step: number; loss: number }) => void;
  /** Called before each epoch with its index, the total (if known) and its number of steps. */
  onEpochStart?: (epoch: number, totalEpochs: number | null, stepsPerEpoch: number) => void;
  /** Called after each epoch's evaluation (metrics log, checkpoints). */
  onEpochEnd?: (summary: EpochSummary) => void;
}

/** Training state beyond parameters and optimizer, saved in checkpoints so a resumed run continues identically. */
export interface TrainerState {
  epoch: number;
  step: number;
  bestMetric: number | null;
  epochsWithoutImprovement: number;
  modelRng: RngState;
}

export class TrainingDivergedError extends Error {}

export class Trainer {
  epoch = 0;
  step = 0;
  private bestMetric: number | null = null;
  private epochsWithoutImprovement = 0;
  private readonly batchX: Tensor;
  /** The teacher's logits of the current batch's examples (distillation only), gathered by example index. */
  private readonly batchTeacherLogits: Tensor | null = null;
  private readonly trainBatches: BatchLoader;
  /** The worker threads of data-parallel steps (threads > 1), started at the first step and closed by `fit` or `close`. */
  private parallel: DataParallel | null = null;

  constructor(readonly options: TrainerOptions) {
    const { train, batchSize, model } = options;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`train: batchSize must be a positive integer, got ${batchSize}`);
    if (!(Number.isInteger(options.threads ?? 1) && (options.threads ?? 1) >= 1)) throw new RangeError(`train: threads must be a positive integer, got ${options.threads}`);
    const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
    if (train.featureSize !== inputSize) {
      throw new RangeError(`train: the data has ${train.featureSize} features per example, the model expects ${inputSize} ([${model.inputShape}])`);
    }
    // One batch tensor for the whole run: no allocation per batch.
    this.batchX = keep(empty([batchSize, train.featureSize]));
    if (options.distill !== undefined) {
      const { logits, classes } = options.distill;
      if (classes !== train.classCount || logits.length !== train.length * classes) {
        throw new RangeError(`train: the teacher's logits hold ${logits.length} values of ${classes} classes; the training data needs ${train.length} examples × ${train.classCount} classes`);
      }
      this.batchTeacherLogits = keep(empty([batchSize, classes]));
    }
    this.trainBatches = new BatchLoader(train, {
      batchSize,
      shuffleSeed: options.shuffle === false ? undefined : options.seed,
      dropLast: options.dropLast,
    });
  }

  // Parameters are listed afresh: a sparsity method may have replaced a sparse weight's structure.
  private hookContext(loss?: number): HookContext {
    const { model, optimizer } = this.options;
    return { model, parameters: model.net.parameters(), optimizer, step: this.step, epoch: this.epoch, loss };
  }

  /** Copies a batch into the heap tensor (a view of its first rows for a short last batch). */
  private batchTensor(batch: Batch): Tensor {
    const x = batch.size === this.options.batchSize ? this.batchX : rowsView(this.batchX, 0, batch.size);
    x.data.set(batch.features);
    return x;
  }

  /** The teacher's logits of the batch's examples (looked up by their dataset indices), with T and α; undefined without distillation. */
  private batchTeacher(batch: Batch): BatchTeacher | undefined {
    const distill = this.options.distill;
    if (distill === undefined || this.batchTeacherLogits === null) return undefined;
    const { logits, classes, temperature, alpha } = distill;
    const rows = batch.size === this.options.batchSize ? this.batchTeacherLogits : rowsView(this.batchTeacherLogits, 0, batch.size);
    const data = rows.data;
    for (let r = 0; r < batch.size; r++) {
      const example = batch.indices[r];
      data.set(logits.subarray(example * classes, (example + 1) * classes), r * classes);
    }
    return { logits: rows, temperature, alpha };
  }

  private modelInput(x: Tensor): Tensor {
    return viewAs(x, [x.shape[0], ...this.options.model.inputShape]);
  }

  /** One optimizer step on a batch (distilling from `teacher`'s logits of its rows, if given); returns the loss and the number of correct predictions. */
  trainStep(x: Tensor, labels: Int32Array, teacher?: BatchTeacher): { loss: number; correct: number } {
    const { model, optimizer, hooks = [], schedule, gradClipNorm, weightClip, labelSmoothing } = this.options;
    if (schedule) applySchedule(optimizer, schedule, this.step);
    for (const h of hooks) h.beforeStep?.(this.hookContext());
    model.net.train();
    const result = this.withSwappedWeights(() => (this.options.threads ?? 1) > 1 ? this.parallelForwardBackward(x, labels, teacher) : tidy(() => {
      const logits = model.net.forward(this.modelInput(x));
      const loss = trainingLoss(logits, labels, labelSmoothing ?? 0, teacher);
      const value = loss.item();
      if (!Number.isFinite(value)) throw this.divergedError(value);
      backward(loss);
      return { loss: value, correct: countCorrect(logits, labels) };
    }));
    for (const h of hooks) h.afterBackward?.(this.hookContext(result.loss));
    if (gradClipNorm !== undefined) clipGradNorm(optimizer.parameters(), gradClipNorm);
    optimizer.step();
    if (weightClip !== undefined) clipWeights(optimizer.parameters(), weightClip);
    optimizer.zeroGrad();
    this.step++;
    for (const h of hooks) h.afterStep?.(this.hookContext(result.loss));
    return result;
  }

  /** Runs `pass` with the weight swap applied (when it is active now), restoring the weights even if `pass` throws. */
  private withSwappedWeights<T>(pass: () => T): T {
    const swap = this.options.weightSwap;
    if (swap === undefined || !swap.swapIn(this.hookContext())) return pass();
    try {
      return pass();
    } finally {
      swap.restore();
    }
  }

  // The batch split over the threads; the loss is checked once the shares are combined.
  private parallelForwardBackward(x: Tensor, labels: Int32Array, teacher?: BatchTeacher): { loss: number; correct: number } {
    const { model, threads = 1, seed, batchSize, labelSmoothing } = this.options;
    this.parallel ??= DataParallel.start(model, { threads, seed, batchSize });
    const result = this.parallel.forwardBackward(x, labels, { step: this.step, labelSmoothing, teacher });
    if (!Number.isFinite(result.loss)) throw this.divergedError(result.loss);
    return result;
  }

  private divergedError(loss: number): TrainingDivergedError {
    return new TrainingDivergedError(`training stopped: the loss became ${loss} at step ${this.step} (epoch ${this.epoch + 1}); lower the learning rate or clip gradients. Earlier checkpoints are kept.`);
  }

  /** Stops the worker threads of data-parallel steps (`fit` does this when it returns or throws). */
  close(): void {
    this.parallel?.close();
    this.parallel = null;
  }

  /** Loss, accuracy and confusion matrix over `data` (no gradients, eval mode). */
  evaluate(data: Dataset): Evaluation {
    return evaluate(this.options.model, data, Math.max(this.options.batchSize, 1000));
  }

  /** Trains from the current epoch to the end (or until early stopping); returns the epoch summaries. */
  fit(): EpochSummary[] {
    try {
      return this.fitEpochs();
    } finally {
      this.close();
    }
  }

  private fitEpochs(): EpochSummary[] {
    const { epochs, steps, validation, hooks = [], onStep, onEpochEnd, earlyStopping, optimizer } = this.options;
    const stepsPerEpoch = this.trainBatches.batchesPerEpoch;
    const summaries: EpochSummary[] = [];
    while (this.epoch < epochs && (steps === undefined || this.step < steps)) {
      const started = performance.now();
      this.options.onEpochStart?.(this.epoch, Number.isFinite(epochs) ? epochs : null, stepsPerEpoch);
      let lossSum = 0, correct = 0, seen = 0;
      // A run stopped after `steps` mid-epoch and resumed continues with the next batch of that epoch.
      const firstBatch = Math.max(0, this.step - this.epoch * stepsPerEpoch);
      let b = firstBatch;
      for (; b < stepsPerEpoch && (steps === undefined || this.step < steps); b++) {
        const batch = this.trainBatches.fill(this.epoch, b);
        const x = this.batchTensor(batch);
        const teacher = this.batchTeacher(batch);
        const r = this.trainStep(x, batch.labels, teacher);
        if (x !== this.batchX) x.dispose();
        if (teacher !== undefined && teacher.logits !== this.batchTeacherLogits) teacher.logits.dispose();
        lossSum += r.loss * batch.size;
        correct += r.correct;
        seen += batch.size;
        onStep?.({ epoch: this.epoch, stepInEpoch: b + 1, stepsPerEpoch, step: this.step, loss: r.loss });
      }
      const seconds = (performance.now() - started) / 1000;
      const summary: EpochSummary = {
        epoch: this.epoch + 1, step: this.step, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
        seconds, lr: optimizer.groups[0]?.options.lr ?? 0,
      };
      const last = this.epoch + 1 >= epochs || (steps !== undefined && this.step >= steps);
      if (validation && ((this.epoch + 1) % (this.options.evalEvery ?? 1) === 0 || last)) {
        const v = this.withSwappedWeights(() => this.evaluate(validation));
        summary.valLoss = v.loss;
        summary.valAccuracy = v.accuracy;
      }
      // NOTE: an epoch cut short by `steps` is reported but not counted, so the trainer state
      // still points into it and a resumed run finishes it first.
      const completed = b === stepsPerEpoch;
      if (completed) {
        this.epoch++;
        for (const h of hooks) h.endOfEpoch?.(this.hookContext(), summary);
      }
      summaries.push(summary);
      const stop = earlyStopping !== undefined && this.updateEarlyStopping(summary, earlyStopping);
      onEpochEnd?.(summary);
      if (stop) break;
    }
    return summaries;
  }

  // Returns true when training should stop.
  private updateEarlyStopping(summary: EpochSummary, rule: NonNullable<TrainerOptions["earlyStopping"]>): boolean {
    const value = rule.metric === "val_loss" ? summary.valLoss : summary.valAccuracy;
    if (this.options.validation === undefined) throw new Error("earlyStopping needs a validation split (data.validation > 0)");
    if (value === undefined) return false; // not an evaluation epoch (evalEvery > 1)
    const better = (a: number, b: number) => (rule.metric === "val_loss" ? a < b - (rule.minDelta ?? 0) : a > b + (rule.minDelta ?? 0));
    if (this.bestMetric === null || better(value, this.bestMetric)) {
      this.bestMetric = value;
      this.epochsWithoutImprovement = 0;
      return false;
    }
    return ++this.epochsWithoutImprovement >= rule.patience;
  }

  getState(): TrainerState {
    return {
      epoch: this.epoch, step: this.step, bestMetric: this.bestMetric,
      epochsWithoutImprovement: this.epochsWithoutImprovement, modelRng: this.options.model.net.rng.getState(),
    };
  }

  setState(state: TrainerState): void {
    this.epoch = state.epoch;
    this.step = state.step;
    this.bestMetric = state.bestMetric;
    this.epochsWithoutImprovement = state.epochsWithoutImprovement;
    this.options.model.net.rng.setState(state.modelRng);
  }
}

function countCorrect(logits: Tensor, labels: Int32Array): number {
  const predicted = argmax(logits, -1);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}
