// Malformed checkpoints found by fuzzing fail with one line naming the file and the problem: metadata, shapes, dtypes, duplicates, values, positions.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpoint, loadTrainingState, statePath } from "../../src/io/checkpoint.js";
import { Sgd } from "../../src/optim/sgd.js";
import { editHeader, editMetadataJson, setTensorValues, splitSafetensors, joinSafetensors, writeSmallCheckpoint } from "../fuzz/safetensors-bytes.js";

const dir = mkdtempSync(join(tmpdir(), "ckpt-validation-"));
const original = join(dir, "original.safetensors");
writeSmallCheckpoint(original, { state: true });
const bytes = readFileSync(original);
let counter = 0;

/** Writes `edited` as a checkpoint (with a copy of the original state file) and returns its path. */
function variant(edited: Uint8Array, state: Uint8Array = readFileSync(statePath(original))): string {
  const path = join(dir, `variant-${counter++}.safetensors`);
  writeFileSync(path, edited);
  writeFileSync(statePath(path), state);
  return path;
}

/** The load fails with one line that starts with the file's path and matches `problem`. */
function assertRefused(path: string, problem: RegExp, load: (path: string) => unknown = loadCheckpoint): void {
  assert.throws(() => load(path), (error: Error) => {
    assert.ok(error.message.startsWith(`${path}: `) || error.message.startsWith(`${statePath(path)}: `), `message does not name the file: ${error.message}`);
    assert.ok(!error.message.includes("\n"), `message is not one line: ${error.message}`);
    assert.match(error.message, problem);
    return true;
  });
}

test("the unmodified small checkpoint and its state load", () => {
  const loaded = loadCheckpoint(original);
  assert.equal(loaded.step, 12);
  assert.equal(loaded.epoch, 2);
  const optimizer = new Sgd([{ params: loaded.model.net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9 });
  assert.equal(loadTrainingState(original, loaded.step, optimizer, loaded.epoch).step, 12);
});

test("a model description that is not an object, or holds an unknown activation, is refused by field", () => {
  assertRefused(variant(editHeader(bytes, (h) => void (h.__metadata__.model = "3"))), /metadata "model": expected an object describing the model, got 3/);
  assertRefused(variant(editHeader(bytes, (h) => void (h.__metadata__.model = "[1, 2]"))), /metadata "model": expected an object/);
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.activation = "swish"))), /metadata "model" field activation: expected one of relu \| leaky-relu \| tanh \| sigmoid \| gelu, got "swish"/);
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.widths = "8"))), /metadata "model" field widths: expected a list/);
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.sparse = { "1": 0.5 }))), /layer "1" is not a weight layer of mlp/);
});

test("a normalizer missing its fields, or with fields of different lengths, is refused", () => {
  assertRefused(variant(editHeader(bytes, (h) => void (h.__metadata__.normalizer = JSON.stringify({ kind: "standardize" })))), /metadata "normalizer" field shift: expected a list of numbers, but it is missing/);
  assertRefused(variant(editMetadataJson(bytes, "normalizer", (n) => void (n.factor = [1, 2]))), /metadata "normalizer": expected shift and factor of the same length/);
});

test("absurd layer widths fail at once on the tensors' shapes, before anything is allocated", { timeout: 20_000 }, () => {
  const started = performance.now();
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.widths = [2_000_000_000, 6]))), /metadata "sparse" gives layers\.0\.weight as \[8, 16\], but the model needs \[2000000000, 16\]/);
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.widths = [8, 706_164_421]))), /tensor "layers\.4\.weight" has shape \[6, 8\], expected \[706164421, 8\]/);
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.widths = [8, 1e20]))), /field widths\[1\]: expected an integer >= 1, got 100000000000000000000/);
  assertRefused(variant(editMetadataJson(bytes, "model", (m) => void (m.classes = 70_616_442))), /tensor "layers\.8\.weight" has shape \[3, 6\], expected \[70616442, 6\]/);
  assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
});

test("a tensor name given twice in the JSON header is refused, not silently collapsed", () => {
  const { headerText, data } = splitSafetensors(bytes);
  const entry = headerText.match(/"layers\.0\.bias":\{[^}]*\}/)![0];
  const twice = joinSafetensors(headerText.replace(entry, `${entry},${entry}`), data);
  assertRefused(variant(twice), /the header names "layers\.0\.bias" twice/);
  // Also inside a metadata value that is JSON.
  const model = editHeader(bytes, (h) => void (h.__metadata__.model = h.__metadata__.model.replace('"classes":3', '"classes":3,"classes":3')));
  assertRefused(variant(model), /metadata "model" names "classes" twice/);
});

test("F32 data declared for an integer index tensor, and a U8 weight, are refused by dtype", () => {
  const asF32 = editHeader(bytes, (h) => {
    // Same byte count: 9 int64 row pointers are 18 float32 values.
    h["layers.0.weight.crow_indices"] = { ...h["layers.0.weight.crow_indices"], dtype: "F32", shape: [18] };
  });
  assertRefused(variant(asF32), /tensor "layers\.0\.weight\.crow_indices" is F32, expected I64 or I32/);
  const asU8 = editHeader(bytes, (h) => void (h["layers.0.bias"] = { ...h["layers.0.bias"], dtype: "U8", shape: [32] }));
  assertRefused(variant(asU8), /tensor "layers\.0\.bias" is U8, expected F32/);
});

test("a weight stored with the transposed shape is refused", () => {
  const transposed = editHeader(bytes, (h) => void (h["layers.4.weight"] = { ...h["layers.4.weight"], shape: [8, 6] }));
  assertRefused(variant(transposed), /tensor "layers\.4\.weight" has shape \[8, 6\], expected \[6, 8\] \(out × in features\)/);
  const flat = editHeader(bytes, (h) => void (h["layers.4.weight"] = { ...h["layers.4.weight"], shape: [48] }));
  assertRefused(variant(flat), /tensor "layers\.4\.weight" has shape \[48\], expected \[6, 8\]/);
});

test("NaN or infinite weights, a negative running variance and a mask that is not 0/1 are refused", () => {
  assertRefused(variant(setTensorValues(bytes, "layers.4.weight", { 5: NaN })), /tensor "layers\.4\.weight": value NaN at index 5 is not finite/);
  assertRefused(variant(setTensorValues(bytes, "layers.0.weight.values", { 0: Infinity })), /tensor "layers\.0\.weight\.values": value Infinity at index 0 is not finite/);
  assertRefused(variant(setTensorValues(bytes, "layers.1.running_var", { 2: -0.5 })), /tensor "layers\.1\.running_var": value -0\.5 at index 2 is not a variance/);
  const { headerText, data } = splitSafetensors(bytes);
  const [begin] = (JSON.parse(headerText)["layers.4.weight_mask"] as { data_offsets: number[] }).data_offsets;
  const badMask = new Uint8Array(data);
  badMask[begin + 1] = 7;
  assertRefused(variant(joinSafetensors(headerText, badMask)), /tensor "layers\.4\.weight_mask": value 7 at index 1 is not 0 or 1/);
});

test("step, epoch and seed must be integers >= 0, an epoch needs a step, and the state file must be at the same position", () => {
  assertRefused(variant(editHeader(bytes, (h) => void (h.__metadata__.epoch = "13"))), /metadata says epoch 13 but step 12; an epoch takes at least one step/);
  assertRefused(variant(editHeader(bytes, (h) => void (h.__metadata__.step = "twelve"))), /metadata "step" must be an integer >= 0, got "twelve"/);
  assertRefused(variant(editHeader(bytes, (h) => void (h.__metadata__.seed = "-1"))), /metadata "seed" must be an integer >= 0/);
  assertRefused(variant(editHeader(bytes, (h) => void delete (h.__metadata__ as Record<string, string>).epoch)), /metadata has no "epoch"/);
  // The state file's trainer state disagrees with the checkpoint about the epoch.
  const state = readFileSync(statePath(original));
  const wrongEpoch = editMetadataJson(state, "trainer", (t) => void (t.epoch = 1));
  const path = variant(bytes, wrongEpoch);
  const resume = (p: string) => {
    const loaded = loadCheckpoint(p);
    const optimizer = new Sgd([{ params: loaded.model.net.parameters().map((q) => q.tensor) }], { lr: 0.1, momentum: 0.9 });
    return loadTrainingState(p, loaded.step, optimizer, loaded.epoch);
  };
  assertRefused(path, /trainer state is at epoch 1, step 12, but the checkpoint is at epoch 2, step 12/, resume);
  assertRefused(variant(bytes, editMetadataJson(state, "trainer", (t) => void (t.modelRng = 5))), /metadata "trainer" field modelRng: expected an object \{s, spareNormal\}, got 5/, resume);
  assertRefused(variant(bytes, setTensorValues(state, "optimizer.layers.0.bias.momentum_buffer", { 0: NaN })), /value NaN at index 0 is not finite/, resume);
});
