// The compact model file end to end: exported models on raw inputs equal our models on normalized inputs (float32, float16, int8, int4), for MLPs and LeNet-5.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Normalizer } from "../../src/data/normalize.js";
import { exportCompactModel } from "../../src/export/compact-writer.js";
import { Flatten } from "../../src/nn/activations.js";
import type { Conv2d } from "../../src/nn/conv2d.js";
import { Pool2d } from "../../src/nn/pool.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import { Sequential } from "../../src/nn/sequential.js";
import type { SparseLinear } from "../../src/nn/sparse-linear.js";
import { quantizeRows } from "../../src/quantize/rows.js";
import { readCompactModel } from "../../src/runtime/compact-reader.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { argmaxRows, fakeQuantizeModel, lenetDenseSpec, lenetSparseSpec, maxAbsDiff, mlpModel, mlpSpec, mnistScalar, modelLogits, normalized, rawInputs } from "../helpers/compact-models.js";

const COUNT = 24;

/** Reference logits of the exported file on raw inputs, and the model's on normalized inputs. */
function compare(model: Model, normalizer: Normalizer | undefined, values: "float32" | "float16" | "int8" | "int4", structure: "auto" | "dense" | "csr" | "bitmask" = "auto") {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const raw = rawInputs(COUNT, size);
  const bytes = exportCompactModel(model, { values, normalizer, structure });
  const compact = readCompactModel(bytes, "test.compact");
  const exported = referencePredict(compact, raw, COUNT);
  const ours = modelLogits(model, normalizer ? normalized(raw, normalizer, size) : raw, COUNT);
  return { compact, exported, ours, classes: compact.outputSize, bytes };
}

function assertClose(exported: Float32Array, ours: Float32Array, classes: number, tolerance: number): void {
  const diff = maxAbsDiff(exported, ours);
  assert.ok(diff <= tolerance, `max abs diff ${diff} > ${tolerance}`);
  assert.deepEqual(argmaxRows(exported, classes), argmaxRows(ours, classes));
  // The test must not pass on constant outputs: the logits differ between examples.
  assert.ok(maxAbsDiff(exported.subarray(0, classes), exported.subarray(classes, 2 * classes)) > 1e-3, "logits of two examples are equal");
}

test("compact float32: MLP (CSR, masked, dense, batch norm with a negative γ) on raw inputs equals the model on normalized inputs", () => {
  for (const structure of ["auto", "dense", "csr", "bitmask"] as const) {
    const { compact, exported, ours, classes } = compare(mlpModel(), mnistScalar, "float32", structure);
    assertClose(exported, ours, classes, 1e-4);
    // Scalar normalization and both batch norms are folded: only weight layers remain.
    assert.deepEqual(compact.layers.map((l) => l.kind), ["linear", "linear", "linear"], structure);
    assert.deepEqual(compact.layers.map((l) => (l.kind === "linear" ? l.activation : "")), ["relu", "relu", "identity"]);
  }
});

test("compact float32: the folded first layer keeps pruned weights pruned (zeros stay zero through folding)", () => {
  const model = mlpModel();
  const { compact } = compare(model, mnistScalar, "float32", "csr");
  const first = compact.layers[0];
  assert.ok(first.kind === "linear");
  const sparse = model.net.layers[0] as SparseLinear;
  assert.deepEqual([...first.weight.rowPtr], [...sparse.weight.rowPtr]);
  assert.deepEqual([...first.weight.colIdx], [...sparse.weight.colIdx]);
  // The masked second Linear stores exactly its unmasked non-zeros.
  const second = compact.layers[1];
  assert.ok(second.kind === "linear");
  assert.equal(second.weight.rowPtr[second.weight.rows], 8 * 12 - 8 * 4);
});

test("compact float32: per-feature standardization folds into the first Linear's columns; int8 keeps it as an explicit step", () => {
  const size = 16;
  const perFeature: Normalizer = { kind: "standardize-features", shift: Array.from({ length: size }, (_, j) => 10 + 7 * j), factor: Array.from({ length: size }, (_, j) => 1 / (20 + j)) };
  const folded = compare(mlpModel(), perFeature, "float32");
  assertClose(folded.exported, folded.ours, folded.classes, 1e-4);
  assert.equal(folded.compact.layers[0].kind, "linear");
  const model = mlpModel();
  fakeQuantizeModel(model, 8);
  const quantized = compare(model, perFeature, "int8");
  assert.equal(quantized.compact.layers[0].kind, "normalize");
  assertClose(quantized.exported, quantized.ours, quantized.classes, 1e-4);
});

test("compact float32: LeNet-5 sparse and dense (convolution, pooling, flatten) with the scalar normalization folded into the first convolution", () => {
  for (const spec of [lenetSparseSpec, lenetDenseSpec]) {
    const { compact, exported, ours, classes } = compare(buildModel(spec), mnistScalar, "float32");
    assertClose(exported, ours, classes, 1e-4);
    assert.deepEqual(compact.layers.map((l) => l.kind), ["conv2d", "maxpool", "conv2d", "maxpool", "flatten", "linear", "linear"]);
  }
});

test("compact float32: a convolution with padding keeps the normalization as an explicit step (padding is zero in normalized units)", () => {
  const model = buildModel(lenetSparseSpec);
  const conv = model.net.layers[0] as Conv2d;
  (conv as { padding: number }).padding = 2;
  // Padding 2 keeps 16×16 maps, which the later layers no longer fit: the test model ends after the first pooling.
  const flat: Model = { ...model, net: new Sequential([conv, model.net.layers[1], new Flatten()]) };
  const shape = flat.net.layers.slice(0, 2).reduce((s, l) => l.outputShape(s), flat.inputShape);
  assert.deepEqual(shape, [20, 8, 8]);
  const raw = rawInputs(3, 256);
  const compact = readCompactModel(exportCompactModel(flat, { normalizer: mnistScalar }), "padded.compact");
  assert.equal(compact.layers[0].kind, "normalize");
  const diff = maxAbsDiff(referencePredict(compact, raw, 3), modelLogits(flat, normalized(raw, mnistScalar, 256), 3));
  assert.ok(diff <= 1e-4, `diff ${diff}`);
});

test("compact int8/int4: equal to the model with fake-quantized weights (within float tolerance), same predictions", () => {
  for (const bits of [8, 4] as const) {
    for (const make of [() => mlpModel(), () => buildModel(lenetSparseSpec), () => buildModel(lenetDenseSpec)]) {
      const model = make();
      fakeQuantizeModel(model, bits);
      for (const structure of ["auto", "csr", "bitmask", "dense"] as const) {
        const { exported, ours, classes, compact } = compare(model, mnistScalar, bits === 8 ? "int8" : "int4", structure);
        assertClose(exported, ours, classes, 1e-4);
        for (const l of compact.layers) if (l.kind === "linear" || l.kind === "conv2d") assert.equal(l.weight.valueType, bits === 8 ? "int8" : "int4");
      }
    }
  }
});

test("compact int8: the file's codes are the model's own codes (folds only change row scales)", () => {
  const model = mlpModel();
  const { compact } = compare(model, mnistScalar, "int8", "csr");
  const first = compact.layers[0];
  assert.ok(first.kind === "linear" && first.weight.codes);
  const sparse = model.net.layers[0] as SparseLinear;
  const { codes } = quantizeRows(sparse.weight.values.toArray(), sparse.weight.rowPtr, 8);
  // BN's factor of row 1 is negative: its codes flip sign.
  const expected = Array.from(codes).map((c, i) => (i >= sparse.weight.rowPtr[1] && i < sparse.weight.rowPtr[2] ? -c : c)).filter((c) => c !== 0);
  assert.deepEqual(Array.from(first.weight.codes), expected.map((c) => c + 0));
});

test("compact float16: close to float32 and the same predictions", () => {
  const { exported, ours, classes } = compare(mlpModel(), mnistScalar, "float16");
  assertClose(exported, ours, classes, 2e-2);
});

test("compact: class names are stored, and a wrong count is refused", () => {
  const model = mlpModel();
  const compact = readCompactModel(exportCompactModel(model, { classNames: ["cat", "dog", "bird"] }), "named.compact");
  assert.deepEqual(compact.classNames, ["cat", "dog", "bird"]);
  assert.throws(() => exportCompactModel(model, { classNames: ["cat"] }), /1 class names for a model with 3 outputs/);
});

test("compact export: an unsupported layer is refused with its name", () => {
  const spec: ModelSpec = { ...mlpSpec, batchNorm: false, activation: "gelu" };
  const model = buildModel(spec);
  model.net.layers.splice(1, 0, new Pool2d("avg", { kernel: 2 }));
  assert.throws(() => exportCompactModel(model), /layers\.1 \(AvgPool2d.*cannot be exported to the compact format/);
});

