// Batch normalization over the channel axis of (N, C) or (N, C, H, W), training (batch statistics) or eval (running statistics).
import { kernels } from "../../backend/kernels.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { needsGrad, record } from "../engine.js";

export interface BatchNormOptions {
  training: boolean;
  /** Running-statistics update rate: running ← (1 − momentum)·running + momentum·batch (PyTorch's convention). */
  momentum?: number;
  eps?: number;
}

/**
 * y = γ·(x − μ)/√(σ² + ε) + β per channel. In training μ, σ² are the batch's (biased variance) and
 * the running estimates are updated in place with the unbiased variance, as PyTorch does.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  if (x.rank !== 2 && x.rank !== 4) throw new RangeError(`batchNorm: input shape ${formatShape(x.shape)} must be [N, C] or [N, C, H, W]`);
  const [n, c] = x.shape;
  const hw = x.rank === 4 ? x.shape[2] * x.shape[3] : 1;
  for (const [name, t] of [["gamma", gamma], ["beta", beta], ["runningMean", runningMean], ["runningVar", runningVar]] as const) {
    if (t.size !== c) throw new RangeError(`batchNorm: ${name} has shape ${formatShape(t.shape)}, expected [${c}] for input ${formatShape(x.shape)}`);
  }
  const momentum = options.momentum ?? 0.1, eps = options.eps ?? 1e-5;
  const count = n * hw;
  if (options.training && count < 2) throw new RangeError(`batchNorm: training needs more than one value per channel, input ${formatShape(x.shape)}`);
  const mean = empty([c]), invstd = empty([c]);
  if (options.training) {
    const variance = empty([c]);
    kernels.batchNormStats(n, c, hw, x.ptr, mean.ptr, variance.ptr);
    const m = mean.data, v = variance.data, is = invstd.data, rm = runningMean.data, rv = runningVar.data;
    for (let i = 0; i < c; i++) {
      is[i] = 1 / Math.sqrt(v[i] + eps);
      rm[i] = (1 - momentum) * rm[i] + momentum * m[i];
      rv[i] = (1 - momentum) * rv[i] + (momentum * v[i] * count) / (count - 1);
    }
    variance.dispose();
  } else {
    mean.data.set(runningMean.data);
    const is = invstd.data, rv = runningVar.data;
    for (let i = 0; i < c; i++) is[i] = 1 / Math.sqrt(rv[i] + eps);
  }
  const out = empty(x.shape);
  kernels.batchNormForward(n, c, hw, x.ptr, mean.ptr, invstd.ptr, gamma.ptr, beta.ptr, out.ptr);
  if (!needsGrad([x, gamma, beta])) {
    mean.dispose();
    invstd.dispose();
    return out;
  }
  return record("batchNorm", out, [x, gamma, beta], (dy) => {
    const dx = empty(x.shape), dgamma = empty([c]), dbeta = empty([c]);
    kernels.batchNormBackward(n, c, hw, options.training ? 1 : 0, x.ptr, mean.ptr, invstd.ptr, gamma.ptr, dy.ptr, dx.ptr, dgamma.ptr, dbeta.ptr);
    return [x.requiresGrad ? dx : null, gamma.requiresGrad ? dgamma : null, beta.requiresGrad ? dbeta : null];
  });
}
