// Knowledge-distillation loss with its gradient: α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·cross-entropy (Hinton et al. 2015).
import { empty, formatShape, tensor, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";
import type { Reduction } from "./loss.js";

export interface DistillationLossOptions {
  /** T > 0: both distributions are softened as softmax(logits / T). */
  temperature: number;
  /** α in [0, 1]: the weight of the teacher's term; 1 − α weighs the cross-entropy with the labels. */
  alpha: number;
  /** ε in [0, 1] of the cross-entropy part, as in `crossEntropy`. Default 0. */
  labelSmoothing?: number;
  /** "mean" (default) and "sum" give a scalar; "none" gives one loss per row. */
  reduction?: Reduction;
}

/** log Σ exp(values[offset + c] · scale) over c < count, shifted by the maximum so large logits neither overflow nor underflow. */
function logSumExp(values: ArrayLike<number>, offset: number, count: number, scale: number): number {
  let max = -Infinity;
  for (let c = 0; c < count; c++) max = Math.max(max, values[offset + c] * scale);
  let sum = 0;
  for (let c = 0; c < count; c++) sum += Math.exp(values[offset + c] * scale - max);
  return max + Math.log(sum);
}

function checkOptions(student: Tensor, teacher: Tensor, labels: ArrayLike<number>, options: DistillationLossOptions): Reduction {
  const { temperature, alpha } = options;
  const smoothing = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? "mean";
  if (student.rank !== 2) throw new RangeError(`distillationLoss: student logits shape ${formatShape(student.shape)} must be 2-D [N, C] (rows, classes)`);
  if (teacher.rank !== 2 || teacher.shape[0] !== student.shape[0] || teacher.shape[1] !== student.shape[1]) {
    throw new RangeError(`distillationLoss: teacher logits shape ${formatShape(teacher.shape)} must equal the student's ${formatShape(student.shape)}`);
  }
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new RangeError(`distillationLoss: temperature ${temperature} must be a finite number > 0`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`distillationLoss: alpha ${alpha} must be in [0, 1]`);
  if (!(smoothing >= 0 && smoothing <= 1)) throw new RangeError(`distillationLoss: labelSmoothing ${smoothing} must be in [0, 1]`);
  if (!["mean", "sum", "none"].includes(reduction)) throw new RangeError(`distillationLoss: reduction ${JSON.stringify(reduction)} is not one of "mean", "sum", "none"`);
  const [rows, classes] = student.shape;
  if (labels.length !== rows) throw new RangeError(`distillationLoss: ${labels.length} labels for ${rows} rows of logits (expected one label per row)`);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(`distillationLoss: label ${label} in row ${r} is out of range for ${classes} classes (labels must be integers in [0, ${classes}))`);
    }
  }
  return reduction;
}

/**
 * Distillation loss of student logits (N, C) against fixed teacher logits (N, C) and class labels,
 * per row: α·T²·KL(p ‖ q) + (1 − α)·CE(student, label), where p = softmax(teacher/T) and
 * q = softmax(student/T) (Hinton et al. 2015, "Distilling the knowledge in a neural network"; the T²
 * keeps the soft term's gradient on the scale of the hard term's as T changes). The teacher is a
 * constant: it gets no gradient. The gradient with respect to the student's logits is
 * α·T·(q − p) + (1 − α)·(softmax(student) − target), target = (1 − ε)·onehot(label) + ε/C.
 * Computed in float64 from the float32 logits, with log-sum-exp, so logits of any magnitude are safe.
 */
export function distillationLoss(student: Tensor, teacher: Tensor, labels: Int32Array | readonly number[], options: DistillationLossOptions): Tensor {
  const reduction = checkOptions(student, teacher, labels, options);
  const { temperature: t, alpha } = options;
  const smoothing = options.labelSmoothing ?? 0;
  const [rows, classes] = student.shape;
  const s = student.data, z = teacher.data;
  const losses = new Float64Array(rows);
  // d loss_r / d student_rc, saved for backward (the output gradient scales it there).
  const gradient = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const studentLogZ = logSumExp(s, o, classes, 1);
    const softStudentLogZ = logSumExp(s, o, classes, 1 / t);
    const softTeacherLogZ = logSumExp(z, o, classes, 1 / t);
    let kl = 0, crossEntropy = 0;
    for (let c = 0; c < classes; c++) {
      const logP = z[o + c] / t - softTeacherLogZ;
      const logQ = s[o + c] / t - softStudentLogZ;
      const p = Math.exp(logP);
      kl += p * (logP - logQ);
      const target = (c === labels[r] ? 1 - smoothing : 0) + smoothing / classes;
      crossEntropy += target * (studentLogZ - s[o + c]);
      gradient[o + c] = alpha * t * (Math.exp(logQ) - p) + (1 - alpha) * (Math.exp(s[o + c] - studentLogZ) - target);
    }
    losses[r] = alpha * t * t * kl + (1 - alpha) * crossEntropy;
  }
  let out: Tensor;
  if (reduction === "none") {
    out = tensor(losses, [rows]);
  } else {
    const total = losses.reduce((a, b) => a + b, 0);
    out = tensor([reduction === "mean" ? total / rows : total], []);
  }
  return record("distillationLoss", out, [student], (g) => {
    const dStudent = empty([rows, classes]);
    const d = dStudent.data, outputGradient = g.data;
    for (let r = 0; r < rows; r++) {
      const scale = reduction === "none" ? outputGradient[r] : reduction === "mean" ? outputGradient[0] / rows : outputGradient[0];
      for (let c = r * classes; c < (r + 1) * classes; c++) d[c] = gradient[c] * scale;
    }
    return [dStudent];
  });
}
