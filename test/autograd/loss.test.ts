// crossEntropy (with label smoothing) and mseLoss against PyTorch's formulas in float64, with gradients.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setKernelBackend } from "../../src/backend/kernels.js";
import { crossEntropy, mseLoss, type Reduction } from "../../src/autograd/ops/loss.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS = ["wasm", "reference"] as const;
const REDUCTIONS: Reduction[] = ["mean", "sum", "none"];

function reduce(losses: number[], reduction: Reduction): number[] {
  const total = losses.reduce((a, b) => a + b, 0);
  return reduction === "none" ? losses : [reduction === "mean" ? total / losses.length : total];
}

/**
 * PyTorch's F.cross_entropy with class-index targets and label_smoothing ε:
 * loss_r = (1 − ε)·(−log p_{r,y}) + ε·mean_c(−log p_{r,c}).
 */
function crossEntropyReference(x: ArrayLike<number>, rows: number, classes: number, labels: number[], smoothing: number, reduction: Reduction): number[] {
  const losses: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: classes }, (_, c) => x[r * classes + c]);
    const m = Math.max(...row);
    const logZ = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const nll = logZ - row[labels[r]];
    const smooth = row.reduce((s, v) => s + (logZ - v), 0) / classes;
    losses.push((1 - smoothing) * nll + smoothing * smooth);
  }
  return reduce(losses, reduction);
}

function randomLabels(rows: number, classes: number, seed: number): number[] {
  const rng = new Rng(seed, "labels");
  return Array.from({ length: rows }, () => rng.int(classes));
}

for (const backend of BACKENDS) {
  test(`crossEntropy: PyTorch's formula and gradients, smoothing 0 and 0.1, every reduction (${backend})`, () => {
    setKernelBackend(backend);
    for (const [rows, classes] of [[4, 3], [1, 1], [5, 10], [3, 17], [2, 2]]) {
      const labels = randomLabels(rows, classes, rows * 31 + classes);
      for (const labelSmoothing of [0, 0.1]) {
        for (const reduction of REDUCTIONS) {
          gradcheck({
            shapes: [[rows, classes]],
            low: -4,
            high: 4,
            op: ([x]) => crossEntropy(x, Int32Array.from(labels), { labelSmoothing, reduction }),
            reference: ([x]) => crossEntropyReference(x, rows, classes, labels, labelSmoothing, reduction),
          });
        }
      }
    }
  });

  test(`crossEntropy: known values and stability for logits of magnitude 1e4 (${backend})`, () => {
    setKernelBackend(backend);
    // torch.nn.functional.cross_entropy(torch.tensor([[1., 2., 3.]]), torch.tensor([2])) = 0.4076059644
    assert.ok(Math.abs(crossEntropy(tensor([1, 2, 3], [1, 3]), [2]).item() - 0.4076059644) < 1e-6);
    // ... with label_smoothing=0.1: 0.9·0.4076 + 0.1·(2.4076 + 1.4076 + 0.4076)/3 = 0.5076059644
    assert.ok(Math.abs(crossEntropy(tensor([1, 2, 3], [1, 3]), [2], { labelSmoothing: 0.1 }).item() - 0.5076059644) < 1e-6);
    const logits = [1e4, -1e4, 0, -1e4, 1e4, 9999, 5e3, -5e3, 1e4];
    const labels = [0, 2, 1];
    for (const labelSmoothing of [0, 0.1]) {
      const got = crossEntropy(tensor(logits, [3, 3]), labels, { labelSmoothing, reduction: "none" }).toArray();
      const expected = crossEntropyReference(logits, 3, 3, labels, labelSmoothing, "none");
      got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-5 * Math.max(1, expected[i]), `row ${i}: ${v}, expected ${expected[i]}`));
    }
  });

  test(`mseLoss: every reduction, gradients for prediction and target (${backend})`, () => {
    setKernelBackend(backend);
    for (const shape of [[3, 4], [7], [1], [2, 3, 5]]) {
      for (const reduction of REDUCTIONS) {
        gradcheck({
          shapes: [shape, shape],
          op: ([p, t]) => mseLoss(p, t, reduction),
          reference: ([p, t]) => reduce(Array.from(p, (v, i) => (v - t[i]) ** 2), reduction),
        });
      }
      gradcheck({ shapes: [shape, shape], noGrad: [1], op: ([p, t]) => mseLoss(p, t), reference: ([p, t]) => reduce(Array.from(p, (v, i) => (v - t[i]) ** 2), "mean") });
    }
  });
}

test("losses: scalar shape [] for mean and sum, [N] for none; empty batches as in PyTorch", () => {
  assert.deepEqual(crossEntropy(zeros([4, 3]), [0, 1, 2, 0]).shape, []);
  assert.deepEqual(crossEntropy(zeros([4, 3]), [0, 1, 2, 0], { reduction: "none" }).shape, [4]);
  assert.deepEqual(mseLoss(zeros([2, 2]), zeros([2, 2]), "sum").shape, []);
  assert.ok(Number.isNaN(crossEntropy(zeros([0, 3]), []).item()));
  assert.equal(crossEntropy(zeros([0, 3]), [], { reduction: "sum" }).item(), 0);
});

test("losses: errors name the op, the row, the label and what is allowed", () => {
  const logits = zeros([3, 4]);
  assert.throws(() => crossEntropy(logits, [0, 4, 1]), /crossEntropy: label 4 in row 1 is out of range for 4 classes \(labels must be integers in \[0, 4\)\)/);
  assert.throws(() => crossEntropy(logits, [0, 1, -1]), /label -1 in row 2 is out of range/);
  assert.throws(() => crossEntropy(logits, [0, 1.5, 1]), /label 1.5 in row 1/);
  assert.throws(() => crossEntropy(logits, [0, 1]), /crossEntropy: 2 labels for 3 rows of logits/);
  assert.throws(() => crossEntropy(zeros([3]), [0, 1, 2]), /crossEntropy: logits shape \[3\] must be 2-D \[N, C\]/);
  assert.throws(() => crossEntropy(logits, [0, 1, 2], { labelSmoothing: 1.5 }), /crossEntropy: labelSmoothing 1.5 must be in \[0, 1\]/);
  assert.throws(() => crossEntropy(logits, [0, 1, 2], { reduction: "avg" as Reduction }), /crossEntropy: reduction "avg" is not one of "mean", "sum", "none"/);
  assert.throws(() => mseLoss(zeros([2, 3]), zeros([3, 2])), /mseLoss: prediction shape \[2, 3\] and target shape \[3, 2\] must be equal/);
});
