// Reference reduction, softmax, loss and layout kernels: the specification of assembly/reduce.ts.
//
// Pointers are byte offsets into the shared heap. Float arrays are float32; `labels` and `argmax`
// are int32. A reduced tensor is viewed as (outer, len, inner): the reduced axis has length `len`,
// `inner` is the product of the axes after it, `outer` the product of the axes before it.
// Sums accumulate in float64 here; the WASM versions accumulate in float32 lanes.
import { heapF32, heapI32 } from "../heap.js";

/** out[o][i] = Σ_l x[o][l][i]; len = 0 gives zeros. x: (outer, len, inner), out: (outer, inner). */
export function reduceSum(outer: number, len: number, inner: number, x: number, out: number): void {
  const h = heapF32();
  const ix = x >>> 2, io = out >>> 2;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let l = 0; l < len; l++) s += h[ix + (o * len + l) * inner + i];
      h[io + o * inner + i] = s;
    }
  }
}

/** True if (value, index) should replace (best, bestIndex) as the maximum: NaN wins, then larger, ties keep the first. */
function beats(value: number, best: number): boolean {
  if (Number.isNaN(best)) return false;
  return Number.isNaN(value) || value > best;
}

/**
 * out[o][i] = max_l x[o][l][i] and argmax[o][i] = the first l attaining it; a NaN propagates (the
 * first NaN is the maximum). Requires len >= 1. x: (outer, len, inner), out and argmax: (outer, inner).
 */
export function reduceMax(outer: number, len: number, inner: number, x: number, out: number, argmax: number): void {
  const h = heapF32(), hi = heapI32();
  const ix = x >>> 2, io = out >>> 2, ia = argmax >>> 2;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = h[ix + o * len * inner + i];
      let bestIndex = 0;
      for (let l = 1; l < len; l++) {
        const v = h[ix + (o * len + l) * inner + i];
        if (beats(v, best)) {
          best = v;
          bestIndex = l;
        }
      }
      h[io + o * inner + i] = best;
      hi[ia + o * inner + i] = bestIndex;
    }
  }
}

/** out[o][l][i] = x[o][i] (the gradient of reduceSum). x: (outer, inner), out: (outer, len, inner). */
export function broadcastAlong(outer: number, len: number, inner: number, x: number, out: number): void {
  const h = heapF32();
  const ix = x >>> 2, io = out >>> 2;
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (let i = 0; i < inner; i++) h[io + (o * len + l) * inner + i] = h[ix + o * inner + i];
    }
  }
}

/** gradIn[o][l][i] = gradOut[o][i] if l = argmax[o][i], else 0 (the gradient of reduceMax). */
export function reduceMaxBackward(
  outer: number, len: number, inner: number, gradOut: number, argmax: number, gradIn: number,
): void {
  const h = heapF32(), hi = heapI32();
  const ig = gradOut >>> 2, ia = argmax >>> 2, id = gradIn >>> 2;
  h.fill(0, id, id + outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const l = hi[ia + o * inner + i];
      h[id + (o * len + l) * inner + i] = h[ig + o * inner + i];
    }
  }
}

/** Maximum of a row; NaN if any element is NaN; -Infinity for an empty row. */
function rowMax(h: Float32Array, start: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) {
    const v = h[start + j];
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** out[r][j] = exp(x[r][j] − m) / Σ_k exp(x[r][k] − m), m = max_k x[r][k] (stable softmax). (rows, cols) */
export function softmaxRows(rows: number, cols: number, x: number, out: number): void {
  const h = heapF32();
  for (let r = 0; r < rows; r++) {
    const ix = (x >>> 2) + r * cols, io = (out >>> 2) + r * cols;
    const m = rowMax(h, ix, cols);
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.fround(Math.exp(h[ix + j] - m));
      h[io + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) h[io + j] /= s;
  }
}

/** dx = y ⊙ (dy − Σ_j dy_j·y_j) per row, y = softmax output. (rows, cols) */
export function softmaxRowsBackward(rows: number, cols: number, y: number, dy: number, dx: number): void {
  const h = heapF32();
  for (let r = 0; r < rows; r++) {
    const iy = (y >>> 2) + r * cols, ig = (dy >>> 2) + r * cols, id = (dx >>> 2) + r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += h[ig + j] * h[iy + j];
    for (let j = 0; j < cols; j++) h[id + j] = h[iy + j] * (h[ig + j] - dot);
  }
}

/** out[r][j] = (x[r][j] − m) − log Σ_k exp(x[r][k] − m), m = max_k x[r][k] (stable log-softmax). (rows, cols) */
export function logSoftmaxRows(rows: number, cols: number, x: number, out: number): void {
  const h = heapF32();
  for (let r = 0; r < rows; r++) {
    const ix = (x >>> 2) + r * cols, io = (out >>> 2) + r * cols;
    const m = rowMax(h, ix, cols);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(h[ix + j] - m);
    const logS = Math.log(s);
    for (let j = 0; j < cols; j++) h[io + j] = h[ix + j] - m - logS;
  }
}

/** dx = dy − exp(y)·Σ_j dy_j per row, y = log-softmax output. (rows, cols) */
export function logSoftmaxRowsBackward(rows: number, cols: number, y: number, dy: number, dx: number): void {
  const h = heapF32();
  for (let r = 0; r < rows; r++) {
    const iy = (y >>> 2) + r * cols, ig = (dy >>> 2) + r * cols, id = (dx >>> 2) + r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += h[ig + j];
    for (let j = 0; j < cols; j++) h[id + j] = h[ig + j] - Math.exp(h[iy + j]) * s;
  }
}

/**
 * Fused log-softmax + negative log-likelihood with label smoothing, as PyTorch's cross_entropy:
 * target = (1 − ε)·onehot(label) + ε/C, loss_r = −Σ_c target_c·log p_c
 *        = log S − (1 − ε)·(x_y − m) − (ε/C)·Σ_c (x_c − m), with m = max_c x_c, S = Σ_c exp(x_c − m).
 * Saves p = softmax(logits) in `probs` for the backward. Labels must be in [0, classes) (checked by the op).
 * logits, probs: (rows, classes); labels (int32), losses: (rows).
 */
export function crossEntropyForward(
  rows: number, classes: number, logits: number, labels: number, smoothing: number, probs: number, losses: number,
): void {
  const h = heapF32(), hi = heapI32();
  for (let r = 0; r < rows; r++) {
    const ix = (logits >>> 2) + r * classes, ip = (probs >>> 2) + r * classes;
    const m = rowMax(h, ix, classes);
    let s = 0, shiftedSum = 0;
    for (let c = 0; c < classes; c++) {
      const shifted = h[ix + c] - m;
      const e = Math.fround(Math.exp(shifted));
      h[ip + c] = e;
      s += e;
      shiftedSum += shifted;
    }
    for (let c = 0; c < classes; c++) h[ip + c] /= s;
    const label = hi[(labels >>> 2) + r];
    let loss = Math.log(s) - (1 - smoothing) * (h[ix + label] - m);
    // NOTE: skipped when ε = 0 so that a −∞ logit elsewhere does not turn the loss into 0·∞ = NaN.
    if (smoothing !== 0) loss -= (smoothing / classes) * shiftedSum;
    h[(losses >>> 2) + r] = loss;
  }
}

/** dlogits = scale·(probs − target), target = (1 − ε)·onehot(label) + ε/C. (rows, classes) */
export function crossEntropyBackward(
  rows: number, classes: number, probs: number, labels: number, smoothing: number, scale: number, dlogits: number,
): void {
  const h = heapF32(), hi = heapI32();
  const uniform = smoothing / classes;
  for (let r = 0; r < rows; r++) {
    const ip = (probs >>> 2) + r * classes, id = (dlogits >>> 2) + r * classes;
    for (let c = 0; c < classes; c++) h[id + c] = scale * (h[ip + c] - uniform);
    const label = hi[(labels >>> 2) + r];
    h[id + label] = scale * (h[ip + label] - uniform - (1 - smoothing));
  }
}

/** out[i] = (a[i] − b[i])² */
export function squaredError(n: number, a: number, b: number, out: number): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, io = out >>> 2;
  for (let i = 0; i < n; i++) {
    const d = Math.fround(h[ia + i] - h[ib + i]);
    h[io + i] = d * d;
  }
}

/** gradA[i] = scale·(a[i] − b[i])·gradOut[i·gradOutStride]; stride 0 broadcasts one output gradient. */
export function squaredErrorBackward(
  n: number, scale: number, a: number, b: number, gradOut: number, gradOutStride: number, gradA: number,
): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, ig = gradOut >>> 2, id = gradA >>> 2;
  for (let i = 0; i < n; i++) h[id + i] = scale * Math.fround(h[ia + i] - h[ib + i]) * h[ig + i * gradOutStride];
}

/** out[b][j][i] = x[b][i][j]: x is (batch, rows, cols), out is (batch, cols, rows). */
export function transpose2d(batch: number, rows: number, cols: number, x: number, out: number): void {
  const h = heapF32();
  for (let b = 0; b < batch; b++) {
    const ix = (x >>> 2) + b * rows * cols, io = (out >>> 2) + b * rows * cols;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) h[io + j * rows + i] = h[ix + i * cols + j];
    }
  }
}

/** dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < cols (strides in elements; no overlap). */
export function copyStrided2d(
  rows: number, cols: number, src: number, srcStride: number, dst: number, dstStride: number,
): void {
  const h = heapF32();
  for (let r = 0; r < rows; r++) {
    const is = (src >>> 2) + r * srcStride;
    h.copyWithin((dst >>> 2) + r * dstStride, is, is + cols);
  }
}

export const reduceKernels = {
  reduceSum,
  reduceMax,
  broadcastAlong,
  reduceMaxBackward,
  softmaxRows,
  softmaxRowsBackward,
  logSoftmaxRows,
  logSoftmaxRowsBackward,
  crossEntropyForward,
  crossEntropyBackward,
  squaredError,
  squaredErrorBackward,
  transpose2d,
  copyStrided2d,
};
