// Reference activation kernels (forward, backward, and fused bias + activation): the specification of assembly/activation.ts.
//
// Pointers are byte offsets into the shared heap; `n` counts float32 elements. Math runs in float64
// and each result is rounded to float32 once. Unless stated otherwise `out` (or `dx`) may alias
// the input of the same position (in-place use); other overlaps are not allowed.
import { heapF32 } from "../heap.js";

/**
 * Activation codes of the fused kernels. Each one's derivative is a function of its output, so the
 * backward pass needs only the stored activation, not the pre-activation.
 */
export const Activation = { identity: 0, relu: 1, leakyRelu: 2, tanh: 3, sigmoid: 4 } as const;
export type ActivationCode = (typeof Activation)[keyof typeof Activation];

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_CUBIC = 0.044715;

/**
 * erfc(z) for z ≥ 0 by the Chebyshev fit of Numerical Recipes (erfcc): relative error below 1.1e-7
 * on [0, 20] (checked against Python's math.erfc), i.e. within about one float32 ulp.
 */
export function erfcNonNegative(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(-z * z + p);
}

/** Φ(x), the standard normal CDF, without cancellation for either sign of x. */
function normalCdf(x: number): number {
  const half = 0.5 * erfcNonNegative(Math.abs(x) * SQRT1_2);
  return x >= 0 ? 1 - half : half;
}

function sigmoidOf(v: number): number {
  // e^v / (1 + e^v) for v < 0 keeps tiny results accurate (no 1 − almost-1).
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** GELU's tanh form 0.5·x·(1 + tanh(u)) written as x·σ(2u), which does not cancel for x ≪ 0. */
function geluTanhParts(x: number): { s: number; du: number } {
  const u = SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x);
  return { s: sigmoidOf(2 * u), du: SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_CUBIC * x * x) };
}

/** Applies the activation `code` to one pre-activation value. */
export function activateValue(code: number, slope: number, x: number): number {
  switch (code) {
    case Activation.relu: return x <= 0 ? 0 : x; // NaN passes through, as in PyTorch
    case Activation.leakyRelu: return x > 0 ? x : Math.fround(slope) * x;
    case Activation.tanh: return Math.tanh(x);
    case Activation.sigmoid: return sigmoidOf(x);
    default: return x;
  }
}

/** d act / d pre as a function of the output y (for leaky ReLU this needs slope ≥ 0). */
export function derivativeFromOutput(code: number, slope: number, y: number): number {
  switch (code) {
    case Activation.relu: return y > 0 ? 1 : 0;
    case Activation.leakyRelu: return y > 0 ? 1 : Math.fround(slope);
    case Activation.tanh: return 1 - y * y;
    case Activation.sigmoid: return y * (1 - y);
    default: return 1;
  }
}

function map(n: number, x: number, out: number, f: (v: number) => number): void {
  const h = heapF32();
  const ix = x >>> 2, io = out >>> 2;
  for (let i = 0; i < n; i++) h[io + i] = f(h[ix + i]);
}

function mapBackward(n: number, x: number, dy: number, dx: number, f: (v: number, g: number) => number): void {
  const h = heapF32();
  const ix = x >>> 2, iy = dy >>> 2, io = dx >>> 2;
  for (let i = 0; i < n; i++) h[io + i] = f(h[ix + i], h[iy + i]);
}

/** out = max(x, 0); NaN stays NaN (the WebAssembly version may keep the sign of −0) */
export function relu(n: number, x: number, out: number): void {
  map(n, x, out, (v) => (v <= 0 ? 0 : v));
}

/** dx = dy where x > 0, else 0 (x may be the input or the output; relu'(0) = 0 as in PyTorch) */
export function reluBackward(n: number, x: number, dy: number, dx: number): void {
  mapBackward(n, x, dy, dx, (v, g) => (v > 0 ? g : 0));
}

/** out = x for x > 0, slope·x otherwise */
export function leakyRelu(n: number, slope: number, x: number, out: number): void {
  const s = Math.fround(slope); // the WebAssembly kernels receive slope as float32
  map(n, x, out, (v) => (v > 0 ? v : s * v));
}

/** dx = dy for x > 0, slope·dy otherwise (x is the input; the output also works when slope ≥ 0) */
export function leakyReluBackward(n: number, slope: number, x: number, dy: number, dx: number): void {
  const s = Math.fround(slope);
  mapBackward(n, x, dy, dx, (v, g) => (v > 0 ? g : s * g));
}

/** out = tanh(x) */
export function tanh(n: number, x: number, out: number): void {
  map(n, x, out, Math.tanh);
}

/** dx = dy·(1 − y²) from the output y = tanh(x) */
export function tanhBackward(n: number, y: number, dy: number, dx: number): void {
  mapBackward(n, y, dy, dx, (v, g) => g * (1 - v * v));
}

/** out = 1 / (1 + e^(−x)) */
export function sigmoid(n: number, x: number, out: number): void {
  map(n, x, out, sigmoidOf);
}

/** dx = dy·y·(1 − y) from the output y = σ(x) */
export function sigmoidBackward(n: number, y: number, dy: number, dx: number): void {
  mapBackward(n, y, dy, dx, (v, g) => g * v * (1 - v));
}

/** out = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), the exact GELU (PyTorch's default) */
export function gelu(n: number, x: number, out: number): void {
  map(n, x, out, (v) => v * normalCdf(v));
}

/** dx = dy·(Φ(x) + x·φ(x)) from the input x */
export function geluBackward(n: number, x: number, dy: number, dx: number): void {
  mapBackward(n, x, dy, dx, (v, g) => g * (normalCdf(v) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v)));
}

/** out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), GELU's tanh approximation (approximate="tanh") */
export function geluTanh(n: number, x: number, out: number): void {
  map(n, x, out, (v) => v * geluTanhParts(v).s);
}

/** dx = dy·(s + 2x·s·(1 − s)·u'(x)) with s = σ(2u) from the input x */
export function geluTanhBackward(n: number, x: number, dy: number, dx: number): void {
  mapBackward(n, x, dy, dx, (v, g) => {
    const { s, du } = geluTanhParts(v);
    return g * (s + 2 * v * s * (1 - s) * du);
  });
}

/** out = e^x (overflows to +∞ above ≈ 88.72, underflows through subnormals to 0) */
export function exp(n: number, x: number, out: number): void {
  map(n, x, out, Math.exp);
}

/** out = ln x (−∞ at ±0, NaN below 0; subnormal inputs are exact) */
export function log(n: number, x: number, out: number): void {
  map(n, x, out, Math.log);
}

/**
 * Feature-major fused bias + activation: out[i][j] = act(x[i][j] + bias[i]) for x, out: (m, b),
 * bias: (m). The sum is rounded to float32 before the activation, as in the unfused ops.
 */
export function biasActivationRows(m: number, b: number, act: number, slope: number, x: number, bias: number, out: number): void {
  const h = heapF32();
  const ix = x >>> 2, ib = bias >>> 2, io = out >>> 2;
  for (let i = 0; i < m; i++) {
    const bi = h[ib + i];
    for (let j = 0; j < b; j++) h[io + i * b + j] = activateValue(act, slope, Math.fround(h[ix + i * b + j] + bi));
  }
}

/** Batch-major fused bias + activation: out[i][j] = act(x[i][j] + bias[j]) for x, out: (m, n), bias: (n). */
export function biasActivationCols(m: number, n: number, act: number, slope: number, x: number, bias: number, out: number): void {
  const h = heapF32();
  const ix = x >>> 2, ib = bias >>> 2, io = out >>> 2;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) h[io + i * n + j] = activateValue(act, slope, Math.fround(h[ix + i * n + j] + h[ib + j]));
  }
}

/**
 * Backward of biasActivationRows from its output: dx[i][j] = dout[i][j]·act'(out[i][j]) and
 * dbias[i] = Σ_j dx[i][j] (overwritten). dbias = 0 (the null pointer) skips the bias gradient,
 * which also makes this the backward of a bias-free activation. dx may alias out or dout.
 */
export function biasActivationRowsBackward(
  m: number, b: number, act: number, slope: number, out: number, dout: number, dx: number, dbias: number,
): void {
  const h = heapF32();
  const iy = out >>> 2, ig = dout >>> 2, io = dx >>> 2, ib = dbias >>> 2;
  for (let i = 0; i < m; i++) {
    let sum = 0;
    for (let j = 0; j < b; j++) {
      const k = i * b + j;
      const g = Math.fround(h[ig + k] * derivativeFromOutput(act, slope, h[iy + k]));
      h[io + k] = g;
      sum += g;
    }
    if (dbias !== 0) h[ib + i] = sum;
  }
}

/**
 * Backward of biasActivationCols from its output: dx[i][j] = dout[i][j]·act'(out[i][j]) and
 * dbias[j] = Σ_i dx[i][j] (overwritten; skipped when dbias = 0). dx may alias out or dout.
 */
export function biasActivationColsBackward(
  m: number, n: number, act: number, slope: number, out: number, dout: number, dx: number, dbias: number,
): void {
  const h = heapF32();
  const iy = out >>> 2, ig = dout >>> 2, io = dx >>> 2, ib = dbias >>> 2;
  // Column by column, so the bias sum accumulates in float64 without a workspace.
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let i = 0; i < m; i++) {
      const k = i * n + j;
      const g = Math.fround(h[ig + k] * derivativeFromOutput(act, slope, h[iy + k]));
      h[io + k] = g;
      sum += g;
    }
    if (dbias !== 0) h[ib + j] = sum;
  }
}

export const activationKernels = {
  relu, reluBackward, leakyRelu, leakyReluBackward, tanh, tanhBackward, sigmoid, sigmoidBackward,
  gelu, geluBackward, geluTanh, geluTanhBackward, exp, log,
  biasActivationRows, biasActivationCols, biasActivationRowsBackward, biasActivationColsBackward,
};
