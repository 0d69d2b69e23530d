// The WebAssembly runtime computes what referencePredict specifies, on awkward sizes, every layer kind and activation, every value type and structure, both kernel builds and both programs.
import { test } from "node:test";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Flatten, ReLU } from "../../src/nn/activations.js";
import { Linear } from "../../src/nn/linear.js";
import { Pool2d } from "../../src/nn/pool.js";
import { buildModel, type ActivationName, type Model, type ModelSpec } from "../../src/nn/presets.js";
import { Sequential } from "../../src/nn/sequential.js";
import { exportCompactModel } from "../../src/export/compact-writer.js";
import { WEIGHT_VALUE_TYPES } from "../../src/runtime/compact-model.js";
import { Rng } from "../../src/tensor/rng.js";
import { lenetDenseSpec, lenetSparseSpec, mlpModel, mnistScalar } from "../helpers/compact-models.js";
import { assertMatchesReference } from "../helpers/runtime-check.js";

/** 25 → 13 → 7 → 3: no width a multiple of 4. */
const oddSpec = (activation: ActivationName, sparse: Record<string, number>): ModelSpec => ({ preset: "mlp", inputShape: [25], classes: 3, widths: [13, 7], activation, sparse, seed: 21 });

test("runtime: MLP with batch norm folded, CSR + masked + dense layers, float32/float16/int8/int4", async () => {
  for (const values of WEIGHT_VALUE_TYPES) {
    await assertMatchesReference(exportCompactModel(mlpModel(), { normalizer: mnistScalar, values }), `mlp ${values}`);
  }
});

test("runtime: every activation, widths that are not multiples of 4", async () => {
  for (const activation of ["relu", "leaky-relu", "tanh", "sigmoid", "gelu"] as const) {
    await assertMatchesReference(exportCompactModel(buildModel(oddSpec(activation, { "0": 0.4 })), { normalizer: mnistScalar }), `mlp ${activation}`, [1, 5, 17]);
  }
});

test("runtime: an empty layer (0% dense, every row empty), 100% dense stored as CSR, bitmask and dense, and empty rows", async () => {
  // round(0.001·13·25) = 0 stored weights: the layer's output is its bias.
  await assertMatchesReference(exportCompactModel(buildModel(oddSpec("relu", { "0": 0.001 })), { structure: "csr" }), "empty first layer");
  for (const structure of ["csr", "bitmask", "dense"] as const) {
    await assertMatchesReference(exportCompactModel(buildModel(oddSpec("tanh", { "0": 1, "2": 1 })), { structure }), `100% dense as ${structure}`, [1, 5, 17]);
  }
  // 5% of 13×25: most rows of the first layer are empty, others hold one to three entries.
  await assertMatchesReference(exportCompactModel(buildModel(oddSpec("relu", { "0": 0.05, "2": 0.1 })), { structure: "csr", values: "int4" }), "empty rows");
});

test("runtime: LeNet-5 sparse and dense, and an explicit per-feature normalize step", async () => {
  await assertMatchesReference(exportCompactModel(buildModel(lenetSparseSpec), { normalizer: mnistScalar, values: "int8" }), "lenet-5 sparse int8");
  await assertMatchesReference(exportCompactModel(buildModel(lenetDenseSpec), { normalizer: mnistScalar }), "lenet-5 dense", [1, 5, 17]);
  const rng = new Rng(3, "test/normalizer");
  const perFeature = { kind: "standardize" as const, shift: Array.from({ length: 256 }, () => 100 * rng.uniform()), factor: Array.from({ length: 256 }, () => 0.005 + 0.01 * rng.uniform()) };
  await assertMatchesReference(exportCompactModel(buildModel(lenetSparseSpec), { normalizer: perFeature, values: "float16" }), "lenet-5 normalize step", [1, 5, 17]);
  await assertMatchesReference(exportCompactModel(buildModel(oddSpec("gelu", { "0": 0.3 })), { normalizer: { kind: "standardize", shift: perFeature.shift.slice(0, 25), factor: perFeature.factor.slice(0, 25) }, values: "int8" }), "mlp normalize step", [1, 5, 17]);
});

test("runtime: convolutions with stride 2 and padding on a non-square input, padded max pooling", async () => {
  const rng = new Rng(5, "test/conv");
  // (2, 11, 9) → conv 3×3 s2 p1 → (5, 6, 5) → pool 3 s2 p1 → (5, 3, 3) → sparse conv 3×3 p2 → (3, 5, 5) → 75 → 4
  const net = new Sequential([
    new Conv2d(2, 5, { kernel: 3, stride: 2, padding: 1, rng: rng.fork("c1") }), new ReLU(),
    new Pool2d("max", { kernel: 3, stride: 2, padding: 1 }),
    new Conv2d(5, 3, { kernel: 3, padding: 2, density: 0.5, rng: rng.fork("c2") }), new ReLU(),
    new Flatten(), new Linear(75, 4, { rng: rng.fork("fc") }),
  ]);
  const model: Model = { net, inputShape: [2, 11, 9], spec: { preset: "mlp", inputShape: [2, 11, 9], classes: 4, seed: 5 } };
  await assertMatchesReference(exportCompactModel(model, { normalizer: mnistScalar }), "strided padded conv");
});
