// Losses with gradients: fused softmax cross-entropy with label smoothing, and mean squared error.
import { heapI32 } from "../../backend/heap.js";
import { kernels } from "../../backend/kernels.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";

export type Reduction = "mean" | "sum" | "none";

const REDUCTIONS: readonly Reduction[] = ["mean", "sum", "none"];

export interface CrossEntropyOptions {
  /** ε in [0, 1]: the target is (1 − ε)·onehot(label) + ε/C, as in PyTorch. Default 0. */
  labelSmoothing?: number;
  /** "mean" (default) and "sum" give a scalar; "none" gives one loss per row. */
  reduction?: Reduction;
}

function checkReduction(op: string, reduction: unknown): Reduction {
  if (!REDUCTIONS.includes(reduction as Reduction)) {
    throw new RangeError(`${op}: reduction ${JSON.stringify(reduction)} is not one of "mean", "sum", "none"`);
  }
  return reduction as Reduction;
}

/** Sums (and for "mean" averages) per-element losses into a scalar tensor of shape []. */
function reduceLosses(losses: Tensor, reduction: "mean" | "sum"): Tensor {
  const out = empty([]);
  kernels.reduceSum(1, losses.size, 1, losses.ptr, out.ptr);
  if (reduction === "mean") kernels.scale(1, 1 / losses.size, out.ptr);
  return out;
}

/** Copies validated class labels into the heap as int32 (in a float32-sized tensor). */
function labelTensor(labels: Int32Array | readonly number[], rows: number, classes: number): Tensor {
  if (labels.length !== rows) {
    throw new RangeError(`crossEntropy: ${labels.length} labels for ${rows} rows of logits (expected one label per row)`);
  }
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(
        `crossEntropy: label ${label} in row ${r} is out of range for ${classes} classes (labels must be integers in [0, ${classes}))`,
      );
    }
  }
  // NOTE: tensors are float32; the labels are int32 bits in a tensor of the same size.
  const t = empty([rows]);
  heapI32().set(labels, t.ptr >>> 2);
  return t;
}

/**
 * Cross-entropy of logits (N, C) against class labels, fused with the log-softmax (PyTorch's
 * F.cross_entropy with class-index targets): loss_r = −Σ_c target_c·log softmax(logits_r)_c with
 * target = (1 − ε)·onehot(label_r) + ε/C. The gradient is (softmax − target)·(output gradient).
 */
export function crossEntropy(logits: Tensor, labels: Int32Array | readonly number[], options: CrossEntropyOptions = {}): Tensor {
  const smoothing = options.labelSmoothing ?? 0;
  const reduction = checkReduction("crossEntropy", options.reduction ?? "mean");
  if (logits.rank !== 2) {
    throw new RangeError(`crossEntropy: logits shape ${formatShape(logits.shape)} must be 2-D [N, C] (rows, classes)`);
  }
  if (!(smoothing >= 0 && smoothing <= 1)) {
    throw new RangeError(`crossEntropy: labelSmoothing ${smoothing} must be in [0, 1]`);
  }
  const [rows, classes] = logits.shape;
  const labelsInHeap = labelTensor(labels, rows, classes);
  const probs = empty([rows, classes]);
  const losses = empty([rows]);
  kernels.crossEntropyForward(rows, classes, logits.ptr, labelsInHeap.ptr, smoothing, probs.ptr, losses.ptr);
  let out = losses;
  if (reduction !== "none") {
    out = reduceLosses(losses, reduction);
    losses.dispose();
  }
  record("crossEntropy", out, [logits], (g) => {
    const dlogits = empty([rows, classes]);
    if (reduction === "none") {
      // One output gradient per row: each row has its own scale.
      const gradients = g.data;
      for (let r = 0; r < rows; r++) {
        const offset = r * classes * 4;
        kernels.crossEntropyBackward(1, classes, probs.ptr + offset, labelsInHeap.ptr + r * 4, smoothing, gradients[r], dlogits.ptr + offset);
      }
    } else {
      const scale = reduction === "mean" ? g.data[0] / rows : g.data[0];
      kernels.crossEntropyBackward(rows, classes, probs.ptr, labelsInHeap.ptr, smoothing, scale, dlogits.ptr);
    }
    return [dlogits];
  });
  if (out.node === null) {
    probs.dispose();
    labelsInHeap.dispose();
  }
  return out;
}

/** Mean squared error (PyTorch's F.mse_loss): (pred − target)², reduced by mean (default), sum or none. */
export function mseLoss(pred: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  checkReduction("mseLoss", reduction);
  const sameShape = pred.rank === target.rank && pred.shape.every((d, i) => d === target.shape[i]);
  if (!sameShape) {
    throw new RangeError(`mseLoss: prediction shape ${formatShape(pred.shape)} and target shape ${formatShape(target.shape)} must be equal`);
  }
  const n = pred.size;
  const squared = empty(pred.shape);
  kernels.squaredError(n, pred.ptr, target.ptr, squared.ptr);
  let out = squared;
  if (reduction !== "none") {
    out = reduceLosses(squared, reduction);
    squared.dispose();
  }
  return record("mseLoss", out, [pred, target], (g) => {
    // d/dpred (pred − target)² = 2·(pred − target); the target gets the negation.
    const scale = reduction === "mean" ? 2 / n : 2;
    const stride = reduction === "none" ? 1 : 0;
    const gradient = (input: Tensor, sign: number): Tensor | null => {
      if (!input.requiresGrad) return null;
      const grad = empty(input.shape);
      kernels.squaredErrorBackward(n, sign * scale, pred.ptr, target.ptr, g.ptr, stride, grad.ptr);
      return grad;
    };
    return [gradient(pred, 1), gradient(target, -1)];
  });
}
