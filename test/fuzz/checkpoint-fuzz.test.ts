// Property: a corrupted checkpoint (float or quantized) or state file either loads into a model that evaluates, or fails with one line naming the file; never an internal error, trap or hang.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { Dataset } from "../../src/data/dataset.js";
import { applyNormalizer } from "../../src/data/normalize.js";
import { loadCheckpoint, loadTrainingState, statePath } from "../../src/io/checkpoint.js";
import { Sgd } from "../../src/optim/sgd.js";
import { evaluate } from "../../src/train/evaluate.js";
import { safetensorsMutation } from "./mutations.js";
import { fuzzParameters, readsCleanly } from "./properties.js";
import { writeSmallCheckpoint } from "./safetensors-bytes.js";

const dir = mkdtempSync(join(tmpdir(), "fuzz-checkpoint-"));

/** What `eval` does with a loaded checkpoint, on four all-zero examples of the model's input shape. */
function evaluateLoaded(path: string): void {
  const checkpoint = loadCheckpoint(path);
  const { inputShape } = checkpoint.model;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const data = new Dataset(new Float32Array(4 * size), Int32Array.from([0, 1, 2, 0]), inputShape, checkpoint.spec.classes, "zeros");
  if (checkpoint.normalizer) applyNormalizer(checkpoint.normalizer, data);
  const result = evaluate(checkpoint.model, data);
  assert.equal(result.count, 4);
}

function fuzzCheckpoint(name: string, write: (path: string) => void, runs: number): void {
  const original = join(dir, `${name}.safetensors`);
  write(original);
  const bytes = readFileSync(original);
  const path = join(dir, `${name}-mutated.safetensors`);
  fc.assert(fc.property(safetensorsMutation(), (mutation) => {
    writeFileSync(path, mutation.apply(bytes));
    readsCleanly(() => evaluateLoaded(path), [path]);
  }), fuzzParameters(runs));
}

test("fuzz: a corrupted small MLP checkpoint (CSR, batch norm, mask, normalizer) loads and evaluates, or fails cleanly", () => {
  fuzzCheckpoint("mlp", (p) => writeSmallCheckpoint(p), 1500);
});

test("fuzz: a corrupted LeNet-5 checkpoint (sparse convolution) loads and evaluates, or fails cleanly", () => {
  fuzzCheckpoint("lenet5", (p) => writeSmallCheckpoint(p, { spec: { preset: "lenet-5", inputShape: [1, 16, 16], classes: 3, sparse: { "0": 0.4, "5": 0.1 }, seed: 3 } }), 250);
});

test("fuzz: a corrupted quantized checkpoint (int8 per-row codes of CSR, masked and dense weights; int4 per-tensor LeNet-5) loads and evaluates, or fails cleanly", () => {
  fuzzCheckpoint("mlp-int8", (p) => writeSmallCheckpoint(p, { quantize: { bits: 8 } }), 1000);
  fuzzCheckpoint("lenet5-int4", (p) => writeSmallCheckpoint(p, { spec: { preset: "lenet-5", inputShape: [1, 16, 16], classes: 3, sparse: { "0": 0.4, "5": 0.1 }, seed: 3 }, quantize: { bits: 4, granularity: "per-tensor" } }), 250);
});

test("fuzz: a corrupted state file resumes or fails cleanly, naming the state file", () => {
  const checkpoint = join(dir, "resumable.safetensors");
  writeSmallCheckpoint(checkpoint, { state: true });
  const loaded = loadCheckpoint(checkpoint);
  const state = readFileSync(statePath(checkpoint));
  fc.assert(fc.property(safetensorsMutation(), (mutation) => {
    writeFileSync(statePath(checkpoint), mutation.apply(state));
    const optimizer = new Sgd([{ params: loaded.model.net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9 });
    readsCleanly(() => loadTrainingState(checkpoint, loaded.step, optimizer, loaded.epoch), [statePath(checkpoint)]);
  }), fuzzParameters(500));
});
