// The training loop: seeded batching, forward/backward/step with hook points, evaluation, early stopping, divergence checks.
import { backward, noGrad } from "../autograd/engine.js";
import { crossEntropy } from "../autograd/ops/loss.js";
import type { Model } from "../nn/presets.js";
import type { NamedParameter } from "../nn/sequential.js";
import { clipGradNorm, clipWeights } from "../optim/clip.js";
import type { Optimizer } from "../optim/optimizer.js";
import { applySchedule, type Schedule } from "../optim/schedules.js";
import { Rng, type RngState } from "../tensor/rng.js";
import { empty, keep, rowsView, tidy, viewAs, type Tensor } from "../tensor/tensor.js";
import type { EpochSummary, HookContext, TrainerHooks } from "./hooks.js";

/** Labeled examples in memory: features (count × featureSize, row-major) and integer labels. */
export interface LabeledData {
  features: Float32Array;
  labels: Int32Array;
  count: number;
  featureSize: number;
  classes: number;
}

export interface TrainerOptions {
  model: Model;
  optimizer: Optimizer;
  train: LabeledData;
  validation?: LabeledData;
  batchSize: number;
  /** Train for this many epochs, or (if set) stop after `steps` optimizer steps. */
  epochs: number;
  steps?: number;
  seed: number;
  /** Learning-rate schedule evaluated at every step (t = steps done). */
  schedule?: Schedule;
  labelSmoothing?: number;
  gradClipNorm?: number;
  weightClip?: number;
  earlyStopping?: { patience: number; metric: "val_loss" | "val_accuracy"; minDelta?: number };
  hooks?: TrainerHooks[];
  /** Called after every step with the running numbers (for progress bars). */
  onStep?: (info: { epoch: number; stepInEpoch: number; stepsPerEpoch: number; step: number; loss: number }) => void;
  /** Called after each epoch's evaluation (metrics log, checkpoints). */
  onEpochEnd?: (summary: EpochSummary) => void;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
  /** confusion[true][predicted] */
  confusion: number[][];
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
  readonly parameters: NamedParameter[];
  epoch = 0;
  step = 0;
  private bestMetric: number | null = null;
  private epochsWithoutImprovement = 0;
  private readonly batchX: Tensor;
  private readonly batchLabels: Int32Array;

  constructor(readonly options: TrainerOptions) {
    const { train, batchSize, model } = options;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`train: batchSize must be a positive integer, got ${batchSize}`);
    const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
    if (train.featureSize !== inputSize) {
      throw new RangeError(`train: the data has ${train.featureSize} features per example, the model expects ${inputSize} ([${model.inputShape}])`);
    }
    this.parameters = model.net.parameters();
    // One batch buffer for the whole run: no allocation per batch.
    this.batchX = keep(empty([batchSize, train.featureSize]));
    this.batchLabels = new Int32Array(batchSize);
  }

  private hookContext(loss?: number): HookContext {
    const { model, optimizer } = this.options;
    return { model, parameters: this.parameters, optimizer, step: this.step, epoch: this.epoch, loss };
  }

  /** Deterministic order of the training examples for an epoch (depends only on seed and epoch). */
  epochOrder(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.options.train.count }, (_, i) => i);
    return new Rng(this.options.seed, `data/shuffle/epoch-${epoch}`).shuffle(order);
  }

  private fillBatch(data: LabeledData, order: Int32Array | null, start: number, size: number): Tensor {
    const x = this.batchX.data;
    const f = data.featureSize;
    for (let r = 0; r < size; r++) {
      const i = order === null ? start + r : order[start + r];
      x.set(data.features.subarray(i * f, (i + 1) * f), r * f);
      this.batchLabels[r] = data.labels[i];
    }
    return size === this.options.batchSize ? this.batchX : rowsView(this.batchX, 0, size);
  }

  private modelInput(x: Tensor): Tensor {
    return viewAs(x, [x.shape[0], ...this.options.model.inputShape]);
  }

  /** One optimizer step on a batch; returns the loss and the number of correct predictions. */
  trainStep(x: Tensor, labels: Int32Array): { loss: number; correct: number } {
    const { model, optimizer, hooks = [], schedule, gradClipNorm, weightClip, labelSmoothing } = this.options;
    if (schedule) applySchedule(optimizer, schedule, this.step);
    for (const h of hooks) h.beforeStep?.(this.hookContext());
    model.net.train();
    const result = tidy(() => {
      const logits = model.net.forward(this.modelInput(x));
      const loss = crossEntropy(logits, labels, { labelSmoothing: labelSmoothing ?? 0, reduction: "mean" });
      const value = loss.item();
      if (!Number.isFinite(value)) {
        throw new TrainingDivergedError(`training stopped: the loss became ${value} at step ${this.step} (epoch ${this.epoch + 1}); lower the learning rate or clip gradients. Earlier checkpoints are kept.`);
      }
      backward(loss);
      return { loss: value, correct: countCorrect(logits, labels) };
    });
    for (const h of hooks) h.afterBackward?.(this.hookContext(result.loss));
    if (gradClipNorm !== undefined) clipGradNorm(optimizer.parameters(), gradClipNorm);
    optimizer.step();
    if (weightClip !== undefined) clipWeights(optimizer.parameters(), weightClip);
    optimizer.zeroGrad();
    this.step++;
    for (const h of hooks) h.afterStep?.(this.hookContext(result.loss));
    return result;
  }

  /** Loss, accuracy and confusion matrix over `data` (no gradients, eval mode). */
  evaluate(data: LabeledData): Evaluation {
    const { model, batchSize } = this.options;
    model.net.eval();
    const confusion = Array.from({ length: data.classes }, () => new Array<number>(data.classes).fill(0));
    let lossSum = 0;
    let correct = 0;
    noGrad(() => {
      for (let start = 0; start < data.count; start += batchSize) {
        const size = Math.min(batchSize, data.count - start);
        const x = this.fillBatch(data, null, start, size);
        const labels = this.batchLabels.subarray(0, size);
        tidy(() => {
          const logits = model.net.forward(this.modelInput(x));
          lossSum += crossEntropy(logits, labels, { reduction: "sum" }).item();
          const predicted = argmaxRows(logits);
          for (let r = 0; r < size; r++) {
            confusion[labels[r]][predicted[r]]++;
            if (predicted[r] === labels[r]) correct++;
          }
        });
        if (x !== this.batchX) x.dispose();
      }
    });
    model.net.train();
    return { loss: lossSum / Math.max(1, data.count), accuracy: correct / Math.max(1, data.count), count: data.count, confusion };
  }

  /** Trains from the current epoch to the end (or until early stopping); returns the epoch summaries. */
  fit(): EpochSummary[] {
    const { train, batchSize, epochs, steps, validation, hooks = [], onStep, onEpochEnd, earlyStopping, optimizer } = this.options;
    const stepsPerEpoch = Math.ceil(train.count / batchSize);
    const summaries: EpochSummary[] = [];
    while (this.epoch < epochs && (steps === undefined || this.step < steps)) {
      const started = performance.now();
      const order = this.epochOrder(this.epoch);
      let lossSum = 0, correct = 0, seen = 0;
      for (let b = 0; b < stepsPerEpoch && (steps === undefined || this.step < steps); b++) {
        const size = Math.min(batchSize, train.count - b * batchSize);
        const x = this.fillBatch(train, order, b * batchSize, size);
        const r = this.trainStep(x, this.batchLabels.subarray(0, size));
        if (x !== this.batchX) x.dispose();
        lossSum += r.loss * size;
        correct += r.correct;
        seen += size;
        onStep?.({ epoch: this.epoch, stepInEpoch: b + 1, stepsPerEpoch, step: this.step, loss: r.loss });
      }
      const seconds = (performance.now() - started) / 1000;
      const summary: EpochSummary = {
        epoch: this.epoch + 1, step: this.step, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
        seconds, lr: optimizer.groups[0]?.options.lr ?? 0,
      };
      if (validation) {
        const v = this.evaluate(validation);
        summary.valLoss = v.loss;
        summary.valAccuracy = v.accuracy;
      }
      this.epoch++;
      for (const h of hooks) h.endOfEpoch?.(this.hookContext(), summary);
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
    if (value === undefined) throw new Error("earlyStopping needs a validation split (data.validation > 0)");
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

/** Index of the largest logit in each row of a (N, C) tensor. */
export function argmaxRows(logits: Tensor): Int32Array {
  const [n, c] = logits.shape;
  const d = logits.data;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (d[r * c + j] > d[r * c + best]) best = j;
    out[r] = best;
  }
  return out;
}

function countCorrect(logits: Tensor, labels: Int32Array): number {
  const predicted = argmaxRows(logits);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}
