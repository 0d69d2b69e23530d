// Gradient checks for the activation ops and the fused bias + activation, on both kernel backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { activate, biasActivation, exp, gelu, leakyRelu, log, relu, sigmoid, tanh, type FusedActivationName } from "../../src/autograd/ops/activation.js";
import { backward } from "../../src/autograd/engine.js";
import { setKernelBackend, type KernelBackend } from "../../src/backend/kernels.js";
import { erfcNonNegative } from "../../src/backend/reference/activation.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy, type Tensor } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS: KernelBackend[] = ["wasm", "reference"];
const SHAPES = [[1], [7], [3, 5], [2, 3, 17]];
const rng = new Rng(3, "activation-ops");

function onEachBackend(body: () => void): void {
  try {
    for (const backend of BACKENDS) {
      setKernelBackend(backend);
      body();
    }
  } finally {
    setKernelBackend("wasm");
  }
}

/** n values in ±[gap, gap + 1): at least `gap` from the kink at 0, further than the finite-difference step. */
function awayFromZero(n: number, gap = 0.05): number[] {
  return Array.from({ length: n }, () => Math.fround((rng.uniform() < 0.5 ? -1 : 1) * (gap + rng.uniform())));
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const normalCdf = (x: number): number => (x >= 0 ? 1 - 0.5 * erfcNonNegative(x / Math.SQRT2) : 0.5 * erfcNonNegative(-x / Math.SQRT2));
const sigmoidOf = (x: number): number => 1 / (1 + Math.exp(-x));

const UNARY: { name: string; op: (x: Tensor) => Tensor; f: (x: number) => number; kink?: boolean; low?: number; high?: number }[] = [
  { name: "relu", op: relu, f: (x) => Math.max(x, 0), kink: true },
  { name: "leakyRelu 0.1", op: (x) => leakyRelu(x, 0.1), f: (x) => (x > 0 ? x : 0.1 * x), kink: true },
  { name: "leakyRelu −0.5", op: (x) => leakyRelu(x, -0.5), f: (x) => (x > 0 ? x : -0.5 * x), kink: true },
  { name: "tanh", op: tanh, f: Math.tanh, low: -3, high: 3 },
  { name: "sigmoid", op: sigmoid, f: sigmoidOf, low: -5, high: 5 },
  { name: "gelu", op: (x) => gelu(x), f: (x) => x * normalCdf(x), low: -4, high: 4 },
  {
    name: "gelu tanh",
    op: (x) => gelu(x, "tanh"),
    f: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    low: -4,
    high: 4,
  },
  { name: "exp", op: exp, f: Math.exp, low: -3, high: 3 },
  { name: "log", op: log, f: Math.log, low: 0.2, high: 5 },
];

for (const { name, op, f, kink, low, high } of UNARY) {
  test(`${name}: forward and gradient (both backends)`, () => {
    onEachBackend(() => {
      for (const shape of SHAPES) {
        gradcheck({
          shapes: [shape],
          ...(kink ? { inputs: [awayFromZero(size(shape))] } : { low: low ?? -1, high: high ?? 1 }),
          op: ([x]) => op(x),
          reference: ([x]) => Array.from(x, f),
        });
      }
    });
  });
}

const FUSED: { activation: FusedActivationName; f: (x: number) => number }[] = [
  { activation: "identity", f: (x) => x },
  { activation: "relu", f: (x) => Math.max(x, 0) },
  { activation: "leaky-relu", f: (x) => (x > 0 ? x : 0.2 * x) },
  { activation: "tanh", f: Math.tanh },
  { activation: "sigmoid", f: sigmoidOf },
];

for (const { activation, f } of FUSED) {
  test(`biasActivation ${activation}: feature-major and batch-major forward and gradients (both backends)`, () => {
    onEachBackend(() => {
      for (const [rows, cols] of [[1, 1], [3, 5], [4, 17], [2, 2]]) {
        for (const layout of ["feature-major", "batch-major"] as const) {
          const features = layout === "feature-major" ? rows : cols;
          // |x| ≥ 0.5 and |bias| < 0.3 keep x + bias away from the kinks of relu and leaky relu.
          const x = awayFromZero(rows * cols, 0.5);
          const bias = Array.from({ length: features }, () => Math.fround(0.3 * (rng.uniform() * 2 - 1)));
          gradcheck({
            shapes: [[rows, cols], [features]],
            inputs: [x, bias],
            op: ([xt, b]) => biasActivation(xt, b, activation, 0.2, layout),
            reference: ([xv, bv]) => Array.from(xv, (v, k) => f(v + bv[layout === "feature-major" ? Math.floor(k / cols) : k % cols])),
          });
        }
      }
    });
  });
}

test("biasActivation: only the bias takes a gradient", () => {
  tidy(() => {
    const x = tensor([1, -2, 3, -4, 5, -6], [2, 3]);
    const bias = tensor([0.5, -0.5], [2]);
    bias.requiresGrad = true;
    backward(biasActivation(x, bias, "relu", 0, "feature-major"), tensor([1, 1, 1, 1, 1, 1], [2, 3]));
    assert.deepEqual(Array.from(bias.grad!.data), [2, 1]); // rows [1.5, 0, 3.5] and [0, 4.5, 0]
    assert.equal(x.grad, null);
  });
});

test("activate: dispatches by name; identity returns its input", () => {
  tidy(() => {
    const x = tensor([-1, 0.5, 2]);
    assert.equal(activate(x, "identity"), x);
    assert.deepEqual(Array.from(activate(x, "relu").data), [0, 0.5, 2]);
    assert.deepEqual(Array.from(activate(x, "leaky-relu", 0.5).data), [-0.5, 0.5, 2]);
    assert.ok(Math.abs(activate(x, "sigmoid").data[0] - sigmoidOf(-1)) < 1e-6);
  });
});

test("shape, activation and slope errors name the op and what was expected", () => {
  tidy(() => {
    const x = tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => biasActivation(x, tensor([0, 0, 0]), "relu", 0, "feature-major"), /biasActivation \(feature-major\): shapes \[2, 3\] and bias \[3\] do not match; expected x \[features, batch\] and bias \[features\]/);
    assert.throws(() => biasActivation(x, tensor([0, 0]), "relu", 0, "batch-major"), /biasActivation \(batch-major\): shapes \[2, 3\] and bias \[2\]/);
    assert.throws(() => biasActivation(x, tensor([0, 0]), "leaky-relu", -0.1, "feature-major"), /slope must be a finite number ≥ 0, got -0.1/);
    assert.throws(() => biasActivation(x, tensor([0, 0]), "swish" as FusedActivationName, 0, "feature-major"), /unknown activation "swish"/);
    assert.throws(() => gelu(x, "fast" as "tanh"), /gelu: approximate must be "none" or "tanh"/);
  });
});
