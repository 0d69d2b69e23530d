// Reference optimizer update kernels (PyTorch's update rules): the specification of assembly/optim.ts.
import { heapF32 } from "../heap.js";

/**
 * SGD with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD:
 *   g ← grad + weightDecay·w
 *   buf ← g (first step) or momentum·buf + (1 − dampening)·g
 *   g ← g + momentum·buf (Nesterov) or buf
 *   w ← w − lr·g
 * With momentum = 0 the buffer is not touched (it may be 0). `firstStep` is 1 on the first update.
 */
export function sgdStep(
  n: number, lr: number, momentum: number, dampening: number, weightDecay: number,
  nesterov: number, firstStep: number, w: number, grad: number, buf: number,
): void {
  const h = heapF32();
  const iw = w >>> 2, ig = grad >>> 2, ib = buf >>> 2;
  for (let i = 0; i < n; i++) {
    let g = Math.fround(h[ig + i] + Math.fround(weightDecay * h[iw + i]));
    if (momentum !== 0) {
      const b = firstStep ? g : Math.fround(Math.fround(momentum * h[ib + i]) + Math.fround((1 - dampening) * g));
      h[ib + i] = b;
      g = nesterov ? Math.fround(g + Math.fround(momentum * b)) : b;
    }
    h[iw + i] = Math.fround(h[iw + i] - Math.fround(lr * g));
  }
}

/**
 * Adam / AdamW, as torch.optim.Adam and AdamW (amsgrad off):
 *   AdamW: w ← w·(1 − lr·weightDecay); Adam: g ← grad + weightDecay·w
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   w ← w − (lr / bc1) · m / (√v / √bc2 + ε),   bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ
 */
export function adamStep(
  n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
  decoupled: number, bc1: number, bc2: number, w: number, grad: number, m: number, v: number,
): void {
  const h = heapF32();
  const iw = w >>> 2, ig = grad >>> 2, im = m >>> 2, iv = v >>> 2;
  const stepSize = Math.fround(lr / bc1);
  const sqrtBc2 = Math.fround(Math.sqrt(bc2));
  const decay = Math.fround(1 - lr * weightDecay);
  for (let i = 0; i < n; i++) {
    let wi = h[iw + i];
    let g = h[ig + i];
    if (decoupled) wi = Math.fround(wi * decay);
    else g = Math.fround(g + Math.fround(weightDecay * wi));
    const mi = Math.fround(Math.fround(beta1 * h[im + i]) + Math.fround((1 - beta1) * g));
    const vi = Math.fround(Math.fround(beta2 * h[iv + i]) + Math.fround(Math.fround((1 - beta2) * g) * g));
    h[im + i] = mi;
    h[iv + i] = vi;
    const denom = Math.fround(Math.fround(Math.fround(Math.sqrt(vi)) / sqrtBc2) + eps);
    h[iw + i] = Math.fround(wi - Math.fround(stepSize * Math.fround(mi / denom)));
  }
}

/** Σ x[i]² in float64 accumulation (for gradient-norm clipping). */
export function sumSquares(n: number, x: number): number {
  const h = heapF32();
  const ix = x >>> 2;
  let s = 0;
  for (let i = 0; i < n; i++) s += h[ix + i] * h[ix + i];
  return s;
}

/** x[i] ← min(max(x[i], low), high) */
export function clamp(n: number, low: number, high: number, x: number): void {
  const h = heapF32();
  const ix = x >>> 2;
  for (let i = 0; i < n; i++) h[ix + i] = Math.min(Math.max(h[ix + i], low), high);
}

export const optimKernels = { sgdStep, adamStep, sumSquares, clamp };
