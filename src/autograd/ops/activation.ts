// Differentiable activations (relu, leakyRelu, tanh, sigmoid, gelu, exp, log) and the fused bias + activation used by linear layers.
import { kernels } from "../../backend/kernels.js";
import { Activation } from "../../backend/reference/activation.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";

/** Activations that fuse with a bias: their derivative is a function of their output. */
export type FusedActivationName = "identity" | "relu" | "leaky-relu" | "tanh" | "sigmoid";

/** Kernel codes of the fused activations (see `Activation` in the reference kernels). */
export const fusedActivationCodes: Readonly<Record<FusedActivationName, number>> = {
  identity: Activation.identity,
  relu: Activation.relu,
  "leaky-relu": Activation.leakyRelu,
  tanh: Activation.tanh,
  sigmoid: Activation.sigmoid,
};

/** Feature-major: x is (features, batch) and the bias runs down the rows; batch-major: (batch, features), bias along the columns. */
export type BiasLayout = "feature-major" | "batch-major";

/** An elementwise op: out = forward(x); the backward kernel gets (n, saved, g, dx) with saved = x or out. */
function unaryOp(
  name: string,
  x: Tensor,
  forward: (n: number, x: number, out: number) => void,
  backwardKernel: (n: number, saved: number, dy: number, dx: number) => void,
  savesOutput: boolean,
): Tensor {
  const out = empty(x.shape);
  forward(x.size, x.ptr, out.ptr);
  return record(name, out, [x], (g) => {
    const saved = savesOutput ? out : x;
    saved.assertAlive();
    const dx = empty(x.shape);
    backwardKernel(x.size, saved.ptr, g.ptr, dx.ptr);
    return [dx];
  });
}

/** max(x, 0); the gradient at 0 is 0, as in PyTorch. */
export function relu(x: Tensor): Tensor {
  return unaryOp("relu", x, kernels.relu, kernels.reluBackward, false);
}

/** x for x > 0, slope·x otherwise (PyTorch's negative_slope, default 0.01). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  if (!Number.isFinite(slope)) throw new RangeError(`leakyRelu: slope must be a finite number, got ${slope}`);
  return unaryOp(
    "leakyRelu", x,
    (n, xp, out) => kernels.leakyRelu(n, slope, xp, out),
    (n, xp, dy, dx) => kernels.leakyReluBackward(n, slope, xp, dy, dx),
    false,
  );
}

/** tanh(x); backward uses 1 − tanh² from the output. */
export function tanh(x: Tensor): Tensor {
  return unaryOp("tanh", x, kernels.tanh, kernels.tanhBackward, true);
}

/** σ(x) = 1/(1 + e^(−x)); backward uses σ(1 − σ) from the output. */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp("sigmoid", x, kernels.sigmoid, kernels.sigmoidBackward, true);
}

/** GELU x·Φ(x) (approximate "none", PyTorch's default) or its tanh approximation ("tanh"). */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  if (approximate === "tanh") return unaryOp("gelu", x, kernels.geluTanh, kernels.geluTanhBackward, false);
  if (approximate !== "none") throw new RangeError(`gelu: approximate must be "none" or "tanh", got "${String(approximate)}"`);
  return unaryOp("gelu", x, kernels.gelu, kernels.geluBackward, false);
}

/** e^x; the gradient is g·e^x from the output. */
export function exp(x: Tensor): Tensor {
  return unaryOp("exp", x, kernels.exp, kernels.mul, true);
}

/** ln x (NaN below 0, −∞ at 0); the gradient is g / x. */
export function log(x: Tensor): Tensor {
  return unaryOp("log", x, kernels.log, (n, xp, dy, dx) => kernels.div(n, dy, xp, dx), false);
}

function checkActivation(op: string, activation: FusedActivationName, slope: number): number {
  const code = fusedActivationCodes[activation];
  if (code === undefined) {
    throw new RangeError(`${op}: unknown activation "${String(activation)}" (expected one of ${Object.keys(fusedActivationCodes).join(", ")})`);
  }
  // The fused backward reads the derivative off the output: y > 0 ⇔ x > 0 needs slope ≥ 0.
  if (activation === "leaky-relu" && !(slope >= 0 && Number.isFinite(slope))) {
    throw new RangeError(`${op}: leaky-relu slope must be a finite number ≥ 0, got ${slope} (use leakyRelu for negative slopes)`);
  }
  return code;
}

/** A fused activation by name, without bias (identity returns x itself). */
export function activate(x: Tensor, activation: FusedActivationName, slope = 0.01): Tensor {
  checkActivation("activate", activation, slope);
  switch (activation) {
    case "identity": return x;
    case "relu": return relu(x);
    case "leaky-relu": return leakyRelu(x, slope);
    case "tanh": return tanh(x);
    default: return sigmoid(x);
  }
}

/**
 * act(x + bias) in one pass, with bias per feature: x (features, batch) for "feature-major",
 * (batch, features) for "batch-major"; bias (features). Backward is one pass too: dx = g·act'(out)
 * and dbias = the sum of dx over the batch.
 */
export function biasActivation(x: Tensor, bias: Tensor, activation: FusedActivationName, slope: number, layout: BiasLayout): Tensor {
  const act = checkActivation("biasActivation", activation, slope);
  if (layout !== "feature-major" && layout !== "batch-major") {
    throw new RangeError(`biasActivation: layout must be "feature-major" or "batch-major", got "${String(layout)}"`);
  }
  const featureAxis = layout === "feature-major" ? 0 : 1;
  if (x.rank !== 2 || bias.rank !== 1 || bias.shape[0] !== x.shape[featureAxis]) {
    const expected = layout === "feature-major" ? "x [features, batch] and bias [features]" : "x [batch, features] and bias [features]";
    throw new RangeError(`biasActivation (${layout}): shapes ${formatShape(x.shape)} and bias ${formatShape(bias.shape)} do not match; expected ${expected}`);
  }
  const [m, n] = x.shape;
  const out = empty(x.shape);
  if (layout === "feature-major") kernels.biasActivationRows(m, n, act, slope, x.ptr, bias.ptr, out.ptr);
  else kernels.biasActivationCols(m, n, act, slope, x.ptr, bias.ptr, out.ptr);
  return record("biasActivation", out, [x, bias], (g) => {
    out.assertAlive();
    const dx = empty(x.shape);
    const dbias = bias.requiresGrad ? empty(bias.shape) : null;
    const backward = layout === "feature-major" ? kernels.biasActivationRowsBackward : kernels.biasActivationColsBackward;
    backward(m, n, act, slope, out.ptr, g.ptr, dx.ptr, dbias?.ptr ?? 0);
    if (x.requiresGrad) return [dx, dbias];
    dx.dispose(); // computed only on the way to dbias
    return [null, dbias];
  });
}
