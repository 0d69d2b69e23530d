// The training loss of one batch (or one thread's share of it): cross-entropy, or the distillation loss when the batch has teacher logits.
import { distillationLoss } from "../autograd/ops/distill-loss.js";
import { crossEntropy } from "../autograd/ops/loss.js";
import type { Tensor } from "../tensor/tensor.js";

/** What the trainer needs to distill: the teacher's logits of every training example and the loss's T and α. */
export interface TeacherTargets {
  /** (examples, classes) row-major: row i holds the teacher's logits of training example i. */
  logits: Float32Array;
  classes: number;
  temperature: number;
  alpha: number;
}

/** The teacher's logits of a batch's rows (N, C), with the distillation loss's T and α. */
export interface BatchTeacher {
  logits: Tensor;
  temperature: number;
  alpha: number;
}

/** Mean loss over the rows of `logits`: distillation against `teacher` if given, else cross-entropy with the labels. */
export function trainingLoss(logits: Tensor, labels: Int32Array, labelSmoothing: number, teacher?: BatchTeacher): Tensor {
  if (teacher === undefined) return crossEntropy(logits, labels, { labelSmoothing, reduction: "mean" });
  return distillationLoss(logits, teacher.logits, labels, { temperature: teacher.temperature, alpha: teacher.alpha, labelSmoothing, reduction: "mean" });
}
