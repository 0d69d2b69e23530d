// Weight initializers (PyTorch conventions for fan-in and fan-out), all drawing from a seeded Rng.
import type { Rng } from "./rng.js";
import { empty, formatShape, type Shape, type Tensor } from "./tensor.js";

/**
 * Fan-in and fan-out of a weight shape, as torch.nn.init computes them: [out, in, ...kernel]
 * gives fanIn = in·∏kernel and fanOut = out·∏kernel.
 */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new RangeError(`fans: weight shape ${formatShape(shape)} needs at least 2 dimensions`);
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Fills `t` with uniform values in [low, high). */
export function fillUniform(t: Tensor, rng: Rng, low: number, high: number): Tensor {
  const d = t.data;
  rng.fillUniform(d, low, high - low);
  return t;
}

/** Fills `t` with normal values of the given mean and standard deviation. */
export function fillNormal(t: Tensor, rng: Rng, mean: number, std: number): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
  return t;
}

export function uniform(shape: Shape, rng: Rng, low = 0, high = 1): Tensor {
  return fillUniform(empty(shape), rng, low, high);
}

export function normal(shape: Shape, rng: Rng, mean = 0, std = 1): Tensor {
  return fillNormal(empty(shape), rng, mean, std);
}

/** Glorot/Xavier uniform: U(−a, a) with a = gain·√(6 / (fanIn + fanOut)). */
export function glorotUniform(shape: Shape, rng: Rng, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, rng, -a, a);
}

/** Glorot/Xavier normal: N(0, σ²) with σ = gain·√(2 / (fanIn + fanOut)). */
export function glorotNormal(shape: Shape, rng: Rng, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, rng, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/** Gain for ReLU-family nonlinearities (torch.nn.init.calculate_gain). */
export function reluGain(negativeSlope = 0): number {
  return Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
}

/** Kaiming/He uniform over fan-in: U(−b, b) with b = gain·√(3 / fanIn). */
export function kaimingUniform(shape: Shape, rng: Rng, gain = reluGain()): Tensor {
  const { fanIn } = fans(shape);
  const b = gain * Math.sqrt(3 / fanIn);
  return uniform(shape, rng, -b, b);
}

/** Kaiming/He normal over fan-in: N(0, σ²) with σ = gain / √fanIn. */
export function kaimingNormal(shape: Shape, rng: Rng, gain = reluGain()): Tensor {
  const { fanIn } = fans(shape);
  return normal(shape, rng, 0, gain / Math.sqrt(fanIn));
}
