// distillationLoss against Hinton et al.'s formula in float64 with finite-difference gradients, exact special cases, stability and errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { distillationLoss } from "../../src/autograd/ops/distill-loss.js";
import { crossEntropy, type Reduction } from "../../src/autograd/ops/loss.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const logSoftmax = (row: number[]): number[] => {
  const m = Math.max(...row);
  const logZ = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - logZ);
};

/**
 * The loss written out directly: α·T²·Σ_c p_c·(log p_c − log q_c) + (1 − α)·Σ_c −target_c·log softmax(s)_c,
 * p = softmax(teacher/T), q = softmax(student/T), target = (1 − ε)·onehot + ε/C.
 */
function reference(s: ArrayLike<number>, z: ArrayLike<number>, rows: number, classes: number, labels: number[], o: { temperature: number; alpha: number; labelSmoothing?: number; reduction?: Reduction }): number[] {
  const t = o.temperature, eps = o.labelSmoothing ?? 0;
  const losses: number[] = [];
  for (let r = 0; r < rows; r++) {
    const sr = Array.from({ length: classes }, (_, c) => s[r * classes + c]);
    const zr = Array.from({ length: classes }, (_, c) => z[r * classes + c]);
    const logP = logSoftmax(zr.map((v) => v / t)), logQ = logSoftmax(sr.map((v) => v / t)), logS = logSoftmax(sr);
    const kl = logP.reduce((sum, lp, c) => sum + Math.exp(lp) * (lp - logQ[c]), 0);
    const ce = logS.reduce((sum, ls, c) => sum - ((c === labels[r] ? 1 - eps : 0) + eps / classes) * ls, 0);
    losses.push(o.alpha * t * t * kl + (1 - o.alpha) * ce);
  }
  const total = losses.reduce((a, b) => a + b, 0);
  const reduction = o.reduction ?? "mean";
  return reduction === "none" ? losses : [reduction === "mean" ? total / rows : total];
}

const randomLabels = (rows: number, classes: number, seed: number) => {
  const rng = new Rng(seed, "labels");
  return Array.from({ length: rows }, () => rng.int(classes));
};

test("distillationLoss: value and student gradient match float64 finite differences (T, α, ε, reductions, awkward sizes)", () => {
  const settings = [
    { temperature: 2, alpha: 0.5 }, { temperature: 1, alpha: 1 }, { temperature: 4, alpha: 0.9, labelSmoothing: 0.1 },
    { temperature: 0.5, alpha: 0.3 }, { temperature: 3, alpha: 0 }, { temperature: 2, alpha: 0.7, labelSmoothing: 0.2 },
  ];
  for (const [rows, classes] of [[4, 3], [1, 1], [5, 10], [3, 17], [2, 2]]) {
    const labels = randomLabels(rows, classes, rows * 7 + classes);
    for (const setting of settings) {
      for (const reduction of ["mean", "sum", "none"] as Reduction[]) {
        const options = { ...setting, reduction };
        gradcheck({
          shapes: [[rows, classes], [rows, classes]],
          low: -4,
          high: 4,
          noGrad: [1],
          op: ([s, z]) => distillationLoss(s, z, labels, options),
          reference: ([s, z]) => reference(s, z, rows, classes, labels, options),
          seed: rows + classes,
        });
      }
    }
  }
});

test("distillationLoss: the teacher is a constant (no gradient even when its tensor requires one)", () => {
  const student = tensor([0.5, -1, 2, 0.1, 0.2, 0.3], [2, 3]);
  const teacher = tensor([1, 0, -1, 2, 2, 0], [2, 3]);
  student.requiresGrad = true;
  teacher.requiresGrad = true;
  backward(distillationLoss(student, teacher, [2, 0], { temperature: 2, alpha: 0.5 }));
  assert.ok(student.grad !== null);
  assert.equal(teacher.grad, null);
});

test("distillationLoss: α = 0 is crossEntropy (with label smoothing); teacher = student leaves only the (1 − α)·CE part", () => {
  const rng = new Rng(3, "distill/values");
  const rows = 6, classes = 5;
  const s = Array.from({ length: rows * classes }, () => 3 * rng.normal());
  const z = Array.from({ length: rows * classes }, () => 3 * rng.normal());
  const labels = randomLabels(rows, classes, 9);
  for (const labelSmoothing of [0, 0.1]) {
    const ce = crossEntropy(tensor(s, [rows, classes]), labels, { labelSmoothing, reduction: "none" }).toArray();
    const got = distillationLoss(tensor(s, [rows, classes]), tensor(z, [rows, classes]), labels, { temperature: 3, alpha: 0, labelSmoothing, reduction: "none" }).toArray();
    got.forEach((v, i) => assert.ok(Math.abs(v - ce[i]) <= 1e-6 * Math.max(1, ce[i]), `α = 0, row ${i}: ${v} vs crossEntropy ${ce[i]}`));
    const same = distillationLoss(tensor(s, [rows, classes]), tensor(s, [rows, classes]), labels, { temperature: 2, alpha: 0.25, labelSmoothing, reduction: "none" }).toArray();
    same.forEach((v, i) => assert.ok(Math.abs(v - 0.75 * ce[i]) <= 1e-6 * Math.max(1, ce[i]), `teacher = student, row ${i}: ${v} vs 0.75·CE ${0.75 * ce[i]}`));
  }
});

test("distillationLoss: a hand-computed case", () => {
  // Student [0, ln 3], teacher [ln 3, 0], label 1, T = 1, α = 0.5:
  // q = (1/4, 3/4), p = (3/4, 1/4); KL(p‖q) = 3/4·ln 3 + 1/4·ln(1/3) = ln 3 / 2; CE = −ln(3/4).
  // loss = 0.5·1·(ln 3)/2 + 0.5·ln(4/3).
  const ln3 = Math.log(3);
  const expectedT1 = 0.5 * (ln3 / 2) + 0.5 * Math.log(4 / 3);
  const got = distillationLoss(tensor([0, ln3], [1, 2]), tensor([ln3, 0], [1, 2]), [1], { temperature: 1, alpha: 0.5 }).item();
  assert.ok(Math.abs(got - expectedT1) < 1e-6, `${got} vs ${expectedT1}`);
  // T = 2 softens them to q = (a, b) = (1, √3)/(1 + √3) and p = (b, a): KL(p‖q) = (b − a)·ln(b/a) = (√3 − 1)/(√3 + 1)·(ln 3)/2, weighed by T² = 4.
  const a = 1 / (1 + Math.sqrt(3)), b = Math.sqrt(3) / (1 + Math.sqrt(3));
  const kl = b * Math.log(b / a) + a * Math.log(a / b);
  const expectedT2 = 0.5 * 4 * kl + 0.5 * Math.log(4 / 3);
  const gotT2 = distillationLoss(tensor([0, ln3], [1, 2]), tensor([ln3, 0], [1, 2]), [1], { temperature: 2, alpha: 0.5 }).item();
  assert.ok(Math.abs(gotT2 - expectedT2) < 1e-6, `${gotT2} vs ${expectedT2}`);
  // Its gradient: α·T·(q − p) + (1 − α)·(softmax(s) − onehot) = 0.5·2·(a − b, b − a) + 0.5·(1/4, −1/4).
  const student = tensor([0, ln3], [1, 2]);
  student.requiresGrad = true;
  backward(distillationLoss(student, tensor([ln3, 0], [1, 2]), [1], { temperature: 2, alpha: 0.5 }));
  const grad = student.grad!.toArray();
  [a - b + 0.125, b - a - 0.125].forEach((v, i) => assert.ok(Math.abs(grad[i] - v) < 1e-6, `gradient ${i}: ${grad[i]} vs ${v}`));
});

test("distillationLoss: stable for logits of magnitude 1e4 (finite, matching the float64 reference)", () => {
  const s = [1e4, -1e4, 0, -1e4, 1e4, 9999, 5e3, -5e3, 1e4];
  const z = [-1e4, 1e4, 3, 1e4, -1e4, 0, 1e4, 1e4, -1e4];
  const labels = [0, 2, 1];
  for (const temperature of [0.5, 2, 10]) {
    const options = { temperature, alpha: 0.5, labelSmoothing: 0.1, reduction: "none" as const };
    const student = tensor(s, [3, 3]);
    student.requiresGrad = true;
    const loss = distillationLoss(student, tensor(z, [3, 3]), labels, options);
    const got = loss.toArray(), expected = reference(s, z, 3, 3, labels, options);
    got.forEach((v, i) => assert.ok(Number.isFinite(v) && Math.abs(v - expected[i]) <= 1e-5 * Math.max(1, expected[i]), `T ${temperature}, row ${i}: ${v} vs ${expected[i]}`));
    backward(loss, tensor([1, 1, 1], [3]));
    assert.ok(student.grad!.toArray().every(Number.isFinite), `T ${temperature}: gradient not finite`);
  }
});

test("distillationLoss: errors name the option and what is allowed", () => {
  const s = zeros([3, 4]), z = zeros([3, 4]);
  const ok = { temperature: 2, alpha: 0.5 };
  assert.throws(() => distillationLoss(s, z, [0, 1, 2], { ...ok, temperature: 0 }), /distillationLoss: temperature 0 must be a finite number > 0/);
  assert.throws(() => distillationLoss(s, z, [0, 1, 2], { ...ok, temperature: -1 }), /temperature -1 must be/);
  assert.throws(() => distillationLoss(s, z, [0, 1, 2], { ...ok, alpha: 1.5 }), /distillationLoss: alpha 1.5 must be in \[0, 1\]/);
  assert.throws(() => distillationLoss(s, z, [0, 1, 2], { ...ok, alpha: -0.1 }), /alpha -0.1 must be in \[0, 1\]/);
  assert.throws(() => distillationLoss(s, zeros([3, 5]), [0, 1, 2], ok), /teacher logits shape \[3, 5\] must equal the student's \[3, 4\]/);
  assert.throws(() => distillationLoss(s, z, [0, 4, 1], ok), /label 4 in row 1 is out of range for 4 classes/);
  assert.throws(() => distillationLoss(s, z, [0, 1], ok), /2 labels for 3 rows/);
  assert.throws(() => distillationLoss(s, z, [0, 1, 2], { ...ok, labelSmoothing: 2 }), /labelSmoothing 2 must be in \[0, 1\]/);
  assert.throws(() => distillationLoss(zeros([3]), zeros([3]), [0, 1, 2], ok), /student logits shape \[3\] must be 2-D/);
});
