// The reference forward pass over a compact model: plain TypeScript, float64 arithmetic throughout, the executable specification the fast runtime is tested against.
//
// Raw inputs (batch × inputSize float32, row-major, as the dataset files hold them) go in; logits
// (batch × outputSize) come out, rounded to float32 once at the end. Every sum, activation and
// intermediate value is a float64, so the result differs from an exact evaluation of the
// file's float32 weights only by float64 rounding and the final rounding to float32.
import type { CompactActivation, CompactLayer, CompactModel, CompactWeight } from "./compact-model.js";

/** Logits of `batchSize` examples given as raw features, one example after the other. */
export function referencePredict(model: CompactModel, inputs: ArrayLike<number>, batchSize: number): Float32Array {
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new RangeError(`referencePredict: batch size must be an integer >= 1, got ${batchSize}`);
  if (inputs.length !== batchSize * model.inputSize) {
    throw new RangeError(`referencePredict: ${inputs.length} input values for ${batchSize} examples of ${model.inputSize} features (shape [${model.inputShape.join(", ")}]); expected ${batchSize * model.inputSize}`);
  }
  let x: Float64Array = Float64Array.from(inputs);
  for (const layer of model.layers) x = forwardLayer(layer, x, batchSize);
  return Float32Array.from(x);
}

/** One layer on a batch stored example after example, each example in its (C, H, W) or (features) order. */
function forwardLayer(layer: CompactLayer, x: Float64Array, batch: number): Float64Array {
  switch (layer.kind) {
    case "normalize": return normalize(x, layer.shift, layer.factor);
    case "linear": return linear(x, batch, layer.weight, layer.bias, layer.activation, layer.negativeSlope);
    case "conv2d": return conv2d(x, batch, layer);
    case "maxpool": return maxPool(x, batch, layer);
    case "flatten": return x;
    case "activation": return x.map((v) => activate(layer.activation, layer.negativeSlope, v));
  }
}

/** (x − shift)·factor, with one shift and factor for all features or one per feature. */
function normalize(x: Float64Array, shift: Float32Array, factor: Float32Array): Float64Array {
  const n = Math.max(shift.length, factor.length);
  return x.map((v, i) => (v - shift[shift.length === 1 ? 0 : i % n]) * factor[factor.length === 1 ? 0 : i % n]);
}

/** y[b][r] = act(bias[r] + Σ_k W[r][col_k]·x[b][col_k]) over the stored entries of row r. */
function linear(x: Float64Array, batch: number, w: CompactWeight, bias: Float32Array, activation: CompactActivation, slope: number): Float64Array {
  const y = new Float64Array(batch * w.rows);
  for (let b = 0; b < batch; b++) {
    const xb = b * w.cols;
    for (let r = 0; r < w.rows; r++) {
      let sum = bias[r];
      for (let i = w.rowPtr[r]; i < w.rowPtr[r + 1]; i++) sum += w.values[i] * x[xb + w.colIdx[i]];
      y[b * w.rows + r] = activate(activation, slope, sum);
    }
  }
  return y;
}

/** Direct convolution (cross-correlation, as PyTorch) with zero padding; a weight column is (ci·k + ky)·k + kx. */
function conv2d(x: Float64Array, batch: number, layer: Extract<CompactLayer, { kind: "conv2d" }>): Float64Array {
  const [c, h, wIn] = layer.inputShape;
  const [co, ho, wo] = layer.outputShape;
  const { kernel: k, stride, padding, weight: w, bias } = layer;
  const y = new Float64Array(batch * co * ho * wo);
  for (let b = 0; b < batch; b++) {
    const xb = b * c * h * wIn;
    for (let o = 0; o < co; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let sum = bias[o];
          for (let i = w.rowPtr[o]; i < w.rowPtr[o + 1]; i++) {
            const col = w.colIdx[i];
            const ci = Math.floor(col / (k * k)), ky = Math.floor(col / k) % k, kx = col % k;
            const iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= wIn) continue;
            sum += w.values[i] * x[xb + (ci * h + iy) * wIn + ix];
          }
          y[((b * co + o) * ho + oy) * wo + ox] = activate(layer.activation, layer.negativeSlope, sum);
        }
      }
    }
  }
  return y;
}

/** Max over each window, padding ignored (PyTorch pads with −∞); a NaN wins, as in PyTorch. */
function maxPool(x: Float64Array, batch: number, layer: Extract<CompactLayer, { kind: "maxpool" }>): Float64Array {
  const [c, h, w] = layer.inputShape;
  const [, ho, wo] = layer.outputShape;
  const { kernel: k, stride, padding } = layer;
  const y = new Float64Array(batch * c * ho * wo);
  for (let plane = 0; plane < batch * c; plane++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let best = -Infinity;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * stride - padding + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < k; kx++) {
            const ix = ox * stride - padding + kx;
            if (ix < 0 || ix >= w) continue;
            const v = x[(plane * h + iy) * w + ix];
            if (v > best || (v !== v && best === best)) best = v;
          }
        }
        y[(plane * ho + oy) * wo + ox] = best;
      }
    }
  }
  return y;
}

/** The activation functions of the format, in float64 (GELU is the exact x·Φ(x), PyTorch's default). */
export function activate(activation: CompactActivation, slope: number, v: number): number {
  switch (activation) {
    case "identity": return v;
    case "relu": return v <= 0 ? 0 : v;
    case "leaky-relu": return v > 0 ? v : slope * v;
    case "tanh": return Math.tanh(v);
    case "sigmoid": return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    case "gelu": return v * normalCdf(v);
  }
}

/** Φ(x) through erfc's Chebyshev fit (Numerical Recipes' erfcc, relative error below 1.2e-7), without cancellation for either sign. */
function normalCdf(x: number): number {
  const z = Math.abs(x) * Math.SQRT1_2;
  const t = 1 / (1 + 0.5 * z);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const half = 0.5 * t * Math.exp(-z * z + p);
  return x >= 0 ? 1 - half : half;
}
