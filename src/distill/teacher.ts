// The teacher of a distillation run: a checkpoint loaded and checked against the data, and its logits for every training example, computed once.
//
// The training data has no random augmentation, so a teacher's logits for an example never change
// during a run: they are computed once at the start (eval mode, no gradients) and looked up per
// batch by example index. That costs examples × classes float32 values of memory (MNIST: 54,000 ×
// 10 × 4 bytes = 2.2 MB) and one teacher forward pass over the training set, instead of one per
// example per epoch. A resumed run recomputes them from the same checkpoint: the same numbers.
import { noGrad } from "../autograd/engine.js";
import { BatchLoader } from "../data/batches.js";
import { Dataset } from "../data/dataset.js";
import type { Normalizer } from "../data/normalize.js";
import type { PreparedData } from "../data/prepare.js";
import { loadCheckpoint, type LoadedCheckpoint } from "../io/checkpoint.js";
import { tensor, tidy } from "../tensor/tensor.js";
import type { TeacherTargets } from "./training-loss.js";

export type { TeacherTargets };

/** The option or file named in a teacher's errors, e.g. "distill.teacher". */
const OPTION = "distill.teacher";

/**
 * Loads the teacher checkpoint at `path` and checks that it fits the student's data: its input size
 * is the data's feature count and its output size the data's class count. Errors name the option,
 * the file and what was expected.
 */
export function loadTeacher(path: string, data: { featureSize: number; classCount: number }): LoadedCheckpoint {
  let teacher: LoadedCheckpoint;
  try {
    teacher = loadCheckpoint(path);
  } catch (error) {
    const message = (error as Error).message;
    // Checkpoint errors start with the path already.
    throw new Error(`${OPTION}: ${message.startsWith(path) ? message : `${path}: ${message}`} (expected a sparsetrain checkpoint, e.g. runs/<name>/final.safetensors)`);
  }
  const inputSize = teacher.spec.inputShape.reduce((a, b) => a * b, 1);
  if (inputSize !== data.featureSize) {
    throw new Error(`${OPTION}: ${path} takes ${inputSize} input features ([${teacher.spec.inputShape}]), but the data has ${data.featureSize} per example; the teacher must be trained on the same kind of data`);
  }
  if (teacher.spec.classes !== data.classCount) {
    throw new Error(`${OPTION}: ${path} outputs ${teacher.spec.classes} classes, but the student has ${data.classCount} (the data's classes); the teacher must have the same classes`);
  }
  return teacher;
}

function sameNormalizer(a: Normalizer, b: Normalizer): boolean {
  const equal = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.kind === b.kind && equal(a.shift, b.shift) && equal(a.factor, b.factor);
}

/**
 * Features normalized by `from` (the student's normalizer) re-expressed as `to` (the teacher's)
 * would have normalized the raw data: raw = x / factor + shift, then (raw − shift') · factor', in
 * float64. A checkpoint without a normalizer saw raw features (as `sparsetrain eval` assumes).
 * Returns `features` itself when the two normalizers are the same.
 */
export function renormalize(features: Float32Array, featureSize: number, from: Normalizer, to: Normalizer | undefined): Float32Array {
  const target = to ?? { kind: "none", shift: [0], factor: [1] };
  if (sameNormalizer(from, target)) return features;
  for (const [which, n] of [["student", from], ["teacher", target]] as const) {
    if (n.shift.length !== 1 && n.shift.length !== featureSize) throw new RangeError(`${OPTION}: the ${which}'s normalizer has ${n.shift.length} features, the data ${featureSize}`);
  }
  const at = (values: number[], j: number, identity: number, kind: string) => (kind === "none" ? identity : values.length === 1 ? values[0] : values[j]);
  const out = new Float32Array(features.length);
  for (let j = 0; j < featureSize; j++) {
    const fromShift = at(from.shift, j, 0, from.kind), fromFactor = at(from.factor, j, 1, from.kind);
    const toShift = at(target.shift, j, 0, target.kind), toFactor = at(target.factor, j, 1, target.kind);
    for (let i = j; i < features.length; i += featureSize) out[i] = (features[i] / fromFactor + fromShift - toShift) * toFactor;
  }
  return out;
}

/**
 * The teacher's logits (examples, classes) for every example of `data` (normalized by
 * `dataNormalizer`), in eval mode without gradients, after re-normalizing the features the way the
 * teacher was trained.
 */
export function teacherLogits(teacher: LoadedCheckpoint, data: Dataset, dataNormalizer: Normalizer, batchSize = 1000): Float32Array {
  const { model } = teacher;
  const features = renormalize(data.features, data.featureSize, dataNormalizer, teacher.normalizer);
  const seen = features === data.features ? data : new Dataset(features, data.labels, data.featureShape, data.classCount, `${data.name} (teacher's normalization)`);
  const classes = teacher.spec.classes;
  const logits = new Float32Array(data.length * classes);
  const wasTraining = model.net.training;
  model.net.eval();
  try {
    noGrad(() => {
      let row = 0;
      for (const batch of new BatchLoader(seen, { batchSize }).epoch(0)) {
        tidy(() => {
          const out = model.net.forward(tensor(batch.features, [batch.size, ...model.inputShape]));
          logits.set(out.data, row * classes);
        });
        row += batch.size;
      }
    });
  } finally {
    model.net.train(wasTraining);
  }
  return logits;
}

/** A log line naming the teacher, its recorded test accuracy (if any), T and α. */
export function describeTeacher(teacher: LoadedCheckpoint, path: string, temperature: number, alpha: number, examples: number): string {
  const accuracy = teacher.metrics?.test_accuracy;
  const recorded = accuracy === undefined ? "no recorded test accuracy" : `test accuracy ${(100 * accuracy).toFixed(2)}%`;
  const megabytes = (examples * teacher.spec.classes * 4) / 2 ** 20;
  return `distill: teacher ${path} (${teacher.spec.preset}, ${recorded}), temperature ${temperature}, alpha ${alpha}; ` +
    `its logits for ${examples} training examples × ${teacher.spec.classes} classes computed once (${megabytes.toFixed(1)} MiB)`;
}

/**
 * The targets of a recipe's `distill:` section for the training set of `data`: loads and checks the
 * teacher, logs what it is, and computes its logits once.
 */
export function teacherTargets(config: { teacher: string; temperature: number; alpha: number }, data: PreparedData, log: (line: string) => void = () => {}): TeacherTargets {
  const teacher = loadTeacher(config.teacher, data.train);
  log(describeTeacher(teacher, config.teacher, config.temperature, config.alpha, data.train.length));
  return { logits: teacherLogits(teacher, data.train, data.normalizer), classes: teacher.spec.classes, temperature: config.temperature, alpha: config.alpha };
}
