// ONNX export checked in onnxruntime-node: float32 graphs on raw inputs equal our models on normalized inputs; int8/int4 QDQ graphs predict as our fake-quantized models; MLPs (CSR, masked, dense, batch norm, every activation) and LeNet-5.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { Normalizer } from "../../src/data/normalize.js";
import { exportOnnxModel, ONNX_OPSET } from "../../src/export/onnx-export.js";
import { onnx } from "../../src/export/onnx-protos.js";
import { Sequential } from "../../src/nn/sequential.js";
import { Pool2d } from "../../src/nn/pool.js";
import { Flatten } from "../../src/nn/activations.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import type { QuantBits } from "../../src/quantize/rows.js";
import { argmaxRows, fakeQuantizeModel, lenetDenseSpec, lenetSparseSpec, maxAbsDiff, mlpModel, mlpSpec, mnistScalar, modelLogits, normalized, rawInputs } from "../helpers/compact-models.js";
import { loadOnnxRuntime, runOnnx } from "../helpers/onnx-runtime.js";
import { requireOrSkip } from "../helpers/requirements.js";

const COUNT = 24;

/** onnxruntime-node, or undefined after skipping (failing under CI=true) when it cannot be loaded. */
async function runtime(t: TestContext) {
  const { ort, reason } = await loadOnnxRuntime();
  return requireOrSkip(t, ort !== null, reason) ? ort! : undefined;
}

/** The exported model's logits in onnxruntime on raw inputs, and `reference`'s on normalized inputs. */
async function compare(ort: NonNullable<Awaited<ReturnType<typeof runtime>>>, model: Model, reference: Model, normalizer: Normalizer | undefined, bits: QuantBits | null) {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const raw = rawInputs(COUNT, size);
  const bytes = exportOnnxModel(model, { normalizer, quantize: bits === null ? null : { bits } });
  const exported = await runOnnx(ort, bytes, raw, COUNT);
  const ours = modelLogits(reference, normalizer ? normalized(raw, normalizer, size) : raw, COUNT);
  const classes = ours.length / COUNT;
  // The test must not pass on constant outputs: the logits differ between examples.
  assert.ok(maxAbsDiff(ours.subarray(0, classes), ours.subarray(classes, 2 * classes)) > 1e-3, "logits of two examples are equal");
  return { exported, ours, classes, bytes, graph: onnx.ModelProto.decode(bytes) };
}

function assertFloatClose(exported: Float32Array, ours: Float32Array, what: string): void {
  const diff = maxAbsDiff(exported, ours);
  assert.ok(diff <= 1e-4, `${what}: max abs diff ${diff} > 1e-4`);
}

function assertSamePredictions(exported: Float32Array, ours: Float32Array, classes: number, what: string): void {
  assert.deepEqual(argmaxRows(exported, classes), argmaxRows(ours, classes), what);
  const diff = maxAbsDiff(exported, ours);
  assert.ok(diff <= 1e-3, `${what}: max abs diff ${diff} > 1e-3`);
}

test("ONNX float32: MLP (CSR, masked, dense, batch norm with a negative γ) on raw inputs equals the model on normalized inputs, with the normalization folded", async (t) => {
  const ort = await runtime(t);
  if (!ort) return;
  const { exported, ours, graph } = await compare(ort, mlpModel(), mlpModel(), mnistScalar, null);
  assertFloatClose(exported, ours, "mlp");
  // Folded: three Gemm and two Relu, no Sub/Mul for the normalization, no BatchNormalization.
  assert.deepEqual(graph.graph!.node!.map((n) => n.opType), ["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Identity"]);
  assert.equal(Number(graph.opsetImport![0].version), ONNX_OPSET);
  assert.equal(graph.graph!.input![0].type!.tensorType!.shape!.dim![0].dimParam, "batch");
  assert.deepEqual(graph.graph!.input![0].type!.tensorType!.shape!.dim!.slice(1).map((d) => Number(d.dimValue)), [16]);
});

test("ONNX float32: per-feature standardization folds into the first Gemm's columns; without a normalizer the raw model is exported", async (t) => {
  const ort = await runtime(t);
  if (!ort) return;
  const perFeature: Normalizer = { kind: "standardize-features", shift: Array.from({ length: 16 }, (_, j) => 10 + 7 * j), factor: Array.from({ length: 16 }, (_, j) => 1 / (20 + j)) };
  for (const normalizer of [perFeature, undefined]) {
    const { exported, ours } = await compare(ort, mlpModel(), mlpModel(), normalizer, null);
    assertFloatClose(exported, ours, normalizer?.kind ?? "no normalizer");
  }
});

test("ONNX float32: every activation the trainer builds (LeakyReLU, Tanh, Sigmoid, GELU) and a batch of 1 (dynamic batch dimension)", async (t) => {
  const ort = await runtime(t);
  if (!ort) return;
  for (const activation of ["leaky-relu", "tanh", "sigmoid", "gelu"] as const) {
    const spec: ModelSpec = { ...mlpSpec, activation };
    const { exported, ours, bytes } = await compare(ort, mlpModel(spec), mlpModel(spec), mnistScalar, null);
    assertFloatClose(exported, ours, activation);
    const one = await runOnnx(ort, bytes, rawInputs(COUNT, 16).subarray(16, 32), 1);
    assertFloatClose(one, exported.subarray(3, 6), `${activation}, batch 1`);
  }
});

test("ONNX float32: LeNet-5 sparse and dense (Reshape, Conv, MaxPool, Flatten, Gemm) with the scalar normalization folded into the first convolution", async (t) => {
  const ort = await runtime(t);
  if (!ort) return;
  for (const spec of [lenetSparseSpec, lenetDenseSpec]) {
    const { exported, ours, graph } = await compare(ort, buildModel(spec), buildModel(spec), mnistScalar, null);
    assertFloatClose(exported, ours, `lenet-5 seed ${spec.seed}`);
    assert.deepEqual(graph.graph!.node!.map((n) => n.opType), ["Reshape", "Conv", "MaxPool", "Conv", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Identity"]);
  }
});

test("ONNX int8 and int4: QDQ weights (codes, one scale per output channel, zero point 0, axis 0) predict as our fake-quantized MLP and LeNet-5", async (t) => {
  const ort = await runtime(t);
  if (!ort) return;
  for (const bits of [8, 4] as const) {
    for (const make of [() => mlpModel(), () => buildModel(lenetSparseSpec)]) {
      const reference = make();
      fakeQuantizeModel(reference, bits);
      const { exported, ours, classes, graph } = await compare(ort, make(), reference, mnistScalar, bits);
      assertSamePredictions(exported, ours, classes, `int${bits} ${reference.spec.preset}`);
      const g = graph.graph!;
      const dequantize = g.node!.filter((n) => n.opType === "DequantizeLinear");
      assert.equal(dequantize.length, g.node!.filter((n) => n.opType === "Gemm" || n.opType === "Conv").length);
      for (const n of dequantize) {
        assert.deepEqual(n.attribute!.map((a) => [a.name, Number(a.i)]), [["axis", 0]]);
        const [codes, scale, zero] = n.input!.map((name) => g.initializer!.find((i) => i.name === name)!);
        assert.equal(codes.dataType, bits === 8 ? 3 : 22);
        assert.equal(zero.dataType, codes.dataType);
        assert.ok(zero.rawData!.every((b) => b === 0), "zero point is 0");
        assert.deepEqual(scale.dims!.map(Number), [Number(codes.dims![0])], "one scale per output channel");
      }
      // No float32 weight: only biases (and the reshape's shape) beside the codes and scales.
      assert.ok(g.initializer!.filter((i) => i.dataType === 1 && i.name!.endsWith(".weight")).length === 0);
    }
  }
});

test("ONNX int8: a per-feature normalization that cannot fold into int8 rows stays an explicit Sub and Mul before the graph", async (t) => {
  const ort = await runtime(t);
  if (!ort) return;
  const perFeature: Normalizer = { kind: "standardize-features", shift: Array.from({ length: 16 }, (_, j) => 10 + 7 * j), factor: Array.from({ length: 16 }, (_, j) => 1 / (20 + j)) };
  const reference = mlpModel();
  fakeQuantizeModel(reference, 8);
  const { exported, ours, classes, graph } = await compare(ort, mlpModel(), reference, perFeature, 8);
  assertSamePredictions(exported, ours, classes, "int8 per-feature");
  assert.deepEqual(graph.graph!.node!.slice(0, 2).map((n) => n.opType), ["Sub", "Mul"]);
});

test("ONNX export refuses a layer it cannot express, naming the layer and what is supported", () => {
  const model = buildModel(lenetDenseSpec);
  const avg = new Sequential([model.net.layers[0], new Pool2d("avg", { kernel: 2 }), new Flatten()]);
  assert.throws(() => exportOnnxModel({ ...model, net: avg }), /layers\.1 \(AvgPool2d.*cannot be exported to ONNX \(supported: Linear, Conv2d/);
});
