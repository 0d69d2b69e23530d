// Quantized checkpoints: the layout (codes, scales, metadata), an exact round trip to the dequantized model, validation of every part, and the initFrom/resume rules.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { loadCheckpoint, loadWeightsInto, saveCheckpoint } from "../../src/io/checkpoint.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import { saveQuantizedCheckpoint } from "../../src/quantize/checkpoint-write.js";
import { quantizeModel } from "../../src/quantize/quantize-model.js";
import { unpackInt4, type QuantBits, type QuantGranularity } from "../../src/quantize/rows.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor } from "../../src/tensor/tensor.js";
import { editHeader, editMetadataJson, splitSafetensors, joinSafetensors, type HeaderObject } from "../fuzz/safetensors-bytes.js";
import { messageOf } from "../helpers/checkpoint-files.js";

const dir = mkdtempSync(join(tmpdir(), "quantized-checkpoint-"));
const info = { step: 12, epoch: 2, seed: 5, recipe: { data: { dataset: "mnist" } }, normalizer: { kind: "scale" as const, shift: [0], factor: [255] } };

/** An MLP with a CSR layer, a masked layer, a dense layer and batch norm. */
const mlpSpec: ModelSpec = { preset: "mlp", inputShape: [1, 4, 4], classes: 3, widths: [8, 6], batchNorm: true, sparse: { "0": 0.5 }, seed: 5 };
const lenetSpec: ModelSpec = { preset: "lenet-5", inputShape: [1, 16, 16], classes: 3, sparse: { "0": 0.4, "5": 0.1 }, seed: 3 };

function withMask(model: Model): Model {
  const masked = model.net.layers.find((l, i) => i > 0 && l instanceof Linear) as Linear | undefined;
  masked?.setMask(tensor(Float32Array.from({ length: masked.weight.size }, (_, i) => (i % 3 === 0 ? 0 : 1)), masked.weight.shape));
  return model;
}

function logits(model: Model): number[] {
  const rng = new Rng(2, "inputs");
  const x = tensor(Float32Array.from({ length: 3 * model.inputShape.reduce((a, b) => a * b, 1) }, () => rng.normal()), [3, ...model.inputShape]);
  return Array.from(noGrad(() => model.net.eval().forward(x).toArray()));
}

/** Writes a quantized checkpoint of `spec`; returns its path and the quantized model in memory. */
function quantizedFile(spec: ModelSpec, bits: QuantBits, granularity: QuantGranularity, name = `${spec.preset}-${bits}-${granularity}`) {
  const model = withMask(buildModel(spec));
  const quantization = quantizeModel(model, { bits, granularity });
  const path = join(dir, `${name}.safetensors`);
  saveQuantizedCheckpoint(path, model, quantization, info);
  return { path, model, quantization };
}

for (const spec of [mlpSpec, lenetSpec]) {
  for (const bits of [8, 4] as const) {
    for (const granularity of ["per-row", "per-tensor"] as const) {
      test(`${spec.preset} int${bits} ${granularity}: save → load gives exactly the dequantized model, structure and scales`, () => {
        const { path, model, quantization } = quantizedFile(spec, bits, granularity);
        const loaded = loadCheckpoint(path);
        const ours = model.net.parameters(), theirs = loaded.model.net.parameters();
        assert.deepEqual(theirs.map((p) => p.name), ours.map((p) => p.name));
        ours.forEach((p, i) => {
          const q = theirs[i];
          assert.deepEqual(q.tensor.toArray(), p.tensor.toArray(), p.name);
          assert.equal(Boolean(q.sparse), Boolean(p.sparse), p.name);
          if (p.sparse) {
            assert.deepEqual(Array.from(q.sparse!.rowPtr), Array.from(p.sparse.rowPtr), p.name);
            assert.deepEqual(Array.from(q.sparse!.colIdx), Array.from(p.sparse.colIdx), p.name);
          }
          assert.deepEqual(q.mask?.toArray(), p.mask?.toArray(), p.name);
        });
        assert.deepEqual(loaded.model.net.buffers().map((b) => b.tensor.toArray()), model.net.buffers().map((b) => b.tensor.toArray()));
        assert.deepEqual(logits(loaded.model), logits(model));
        assert.equal(loaded.quantization?.bits, bits);
        assert.equal(loaded.quantization?.granularity, granularity);
        assert.deepEqual(loaded.quantization?.layers.map((l) => [l.name, l.nonzeroBefore, l.nonzeroAfter, Array.from(l.scales)]),
          quantization.layers.map((l) => [l.name, l.nonzeroBefore, l.nonzeroAfter, Array.from(l.scales)]));
        assert.deepEqual(loaded.normalizer, info.normalizer);
        assert.equal(loaded.step, info.step);
      });
    }
  }
}

test("layout: codes as I8 in the weight's shape or packed U8, F32 <name>_scale, biases F32, quantization metadata", () => {
  for (const bits of [8, 4] as const) {
    const { path, quantization } = quantizedFile(mlpSpec, bits, "per-row", `layout-${bits}`);
    const { tensors, metadata } = readSafetensors(path);
    const meta = JSON.parse(metadata.quantization);
    assert.deepEqual(Object.keys(meta), ["scheme", "bits", "granularity", "zero_point", "layers"]);
    assert.deepEqual([meta.scheme, meta.bits, meta.granularity, meta.zero_point], ["symmetric", bits, "per-row", 0]);
    for (const layer of quantization.layers) {
      assert.deepEqual(meta.layers[layer.name], { shape: layer.shape, nnz_before: layer.nonzeroBefore, nnz_after: layer.nonzeroAfter });
      const codesName = layer.storage === "csr" ? `${layer.name}.values` : layer.name;
      const codes = tensors.get(codesName)!;
      const n = layer.codes.length;
      assert.equal(codes.dtype, bits === 8 ? "I8" : "U8", codesName);
      assert.deepEqual(codes.shape, bits === 8 ? (layer.storage === "csr" ? [n] : layer.shape) : [Math.ceil(n / 2)], codesName);
      const stored = bits === 8 ? Array.from(codes.values as Int8Array) : Array.from(unpackInt4(codes.values as Uint8Array, n));
      assert.deepEqual(stored, Array.from(layer.codes), codesName);
      const scale = tensors.get(`${layer.name}_scale`)!;
      assert.deepEqual([scale.dtype, scale.shape], ["F32", [layer.shape[0]]]);
      assert.deepEqual(scale.values, layer.scales);
    }
    for (const [name, t] of tensors) if (name.endsWith(".bias") || name.includes("running")) assert.equal(t.dtype, "F32", name);
  }
});

/** Rewrites the data bytes of tensor `name` through `edit`. */
function editData(bytes: Uint8Array, name: string, edit: (data: DataView, begin: number, end: number) => void): Uint8Array {
  const { headerText, data } = splitSafetensors(bytes);
  const [begin, end] = ((JSON.parse(headerText) as HeaderObject)[name] as { data_offsets: [number, number] }).data_offsets;
  edit(new DataView(data.buffer, data.byteOffset, data.byteLength), begin, end);
  return joinSafetensors(headerText, data);
}

test("corrupt quantized files fail with one line naming the file and the tensor or field", () => {
  const int8 = readFileSync(quantizedFile(mlpSpec, 8, "per-row", "bad-8").path);
  const int4 = readFileSync(quantizedFile(mlpSpec, 4, "per-row", "bad-4").path);
  const pertensor = readFileSync(quantizedFile(mlpSpec, 8, "per-tensor", "bad-t").path);
  const cases: [string, Uint8Array, RegExp][] = [
    ["int8 code -128", editData(int8, "layers.3.weight", (d, b) => d.setInt8(b + 1, -128)), /tensor "layers\.3\.weight": code -128 at index 1 is outside ±127 \(symmetric int8\)/],
    ["int4 code -8", editData(int4, "layers.0.weight.values", (d, b) => d.setUint8(b, 0x88)), /tensor "layers\.0\.weight\.values": code -8 at index 0 is outside ±7 \(symmetric int4\)/],
    ["zero scale", editData(int8, "layers.0.weight_scale", (d, b) => d.setFloat32(b + 4, 0, true)), /tensor "layers\.0\.weight_scale": scale 0 at index 1 is not a finite number > 0/],
    ["NaN scale", editData(int8, "layers.6.weight_scale", (d, b) => d.setFloat32(b, NaN, true)), /tensor "layers\.6\.weight_scale": scale NaN at index 0 is not a finite number > 0/],
    ["negative scale", editData(int4, "layers.3.weight_scale", (d, b) => d.setFloat32(b, -0.5, true)), /scale -0\.5 at index 0 is not a finite number > 0/],
    ["missing scale", editHeader(int8, (h) => {
      h["layers.3.weight_scales"] = h["layers.3.weight_scale"];
      delete h["layers.3.weight_scale"];
    }), /tensor "layers\.3\.weight_scale" is missing \(F32 \[6\], the per-row scales of layers\.3\.weight\)/],
    ["per-tensor file saying per-row", editMetadataJson(pertensor, "quantization", (q) => ({ ...q, granularity: "per-row" })), /tensor "layers\.0\.weight_scale" has shape \[1\], expected \[8\] \(one scale per row of the 8 rows\)/],
    ["float codes", editMetadataJson(readFileSync(join(dir, "mlp-8-per-row.safetensors")), "quantization", (q) => ({ ...q, bits: 4 })), /tensor "layers\.0\.weight\.values" is I8, expected U8 \(int4 codes, two per byte\)/],
    ["bits 3", editMetadataJson(int8, "quantization", (q) => ({ ...q, bits: 3 })), /metadata "quantization" field bits: expected 8 or 4/],
    ["zero point 1", editMetadataJson(int8, "quantization", (q) => ({ ...q, zero_point: 1 })), /metadata "quantization" field zero_point: expected 0/],
    ["wrong nnz_after", editMetadataJson(int8, "quantization", (q) => {
      const layers = q.layers as Record<string, { nnz_after: number }>;
      layers["layers.3.weight"].nnz_after -= 1;
    }), /metadata "quantization" layer layers\.3\.weight: nnz_after \d+, but tensor "layers\.3\.weight" holds \d+ non-zero codes/],
    ["not a weight", editMetadataJson(int8, "quantization", (q) => {
      (q.layers as Record<string, unknown>)["layers.1.weight"] = { shape: [8], nnz_before: 8, nnz_after: 8 };
    }), /metadata "quantization" names layers\.1\.weight, which is not a Linear or Conv2d weight of mlp \(weights: layers\.0\.weight, layers\.3\.weight, layers\.6\.weight\)/],
    ["code where the mask is 0", editData(int8, "layers.3.weight", (d, b) => d.setInt8(b, 5)), /tensor "layers\.3\.weight": code 5 at index 0 is non-zero where layers\.3\.weight_mask is 0/],
    ["scale of a float file", editMetadataJson(int8, "quantization", (q) => {
      delete (q.layers as Record<string, unknown>)["layers.6.weight"];
    }), /tensor "layers\.6\.weight" is I8, expected F32/],
  ];
  for (const [label, bytes, pattern] of cases) {
    const path = join(dir, "corrupt.safetensors");
    writeFileSync(path, bytes);
    const message = messageOf(() => loadCheckpoint(path));
    assert.match(message, pattern, label);
    assert.ok(message.startsWith(`${path}: `), `${label}: ${message}`);
    assert.ok(!message.includes("\n"), label);
  }
});

test("model.initFrom: a quantized checkpoint is refused unless allowed; a masked weight brings its mask, so pruned weights stay pruned", () => {
  const { path } = quantizedFile(mlpSpec, 8, "per-row", "init-from");
  const target = () => buildModel(mlpSpec, { sparseStructure: "empty" });
  assert.throws(() => loadWeightsInto(target(), path),
    (e: Error) => e.message === `${path}: a quantized (int8 per-row) checkpoint; model.initFrom needs float weights — add a quantize: section to fine-tune it with quantization-aware training, or start from the float checkpoint`);
  const allowed = target();
  loadWeightsInto(allowed, path, { allowQuantized: true });
  assert.deepEqual(allowed.net.parameters().map((p) => p.tensor.toArray()), loadCheckpoint(path).model.net.parameters().map((p) => p.tensor.toArray()));

  // A float checkpoint with a masked layer: the mask comes along (before, only the values did).
  const masked = withMask(buildModel(mlpSpec));
  const floatPath = join(dir, "masked-float.safetensors");
  saveCheckpoint(floatPath, masked, info);
  const model = target();
  loadWeightsInto(model, floatPath);
  const source = masked.net.parameters().find((p) => p.mask)!;
  const dest = model.net.parameters().find((p) => p.name === source.name)!;
  assert.ok(dest.mask, `${dest.name} has no mask after initFrom`);
  assert.deepEqual(dest.mask.toArray(), source.mask!.toArray());
});
