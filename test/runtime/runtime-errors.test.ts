// Bad input to the runtime gets a one-line error naming the model and what was expected, never a WebAssembly trap or a wrong answer; memory grows for a larger batch only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { exportCompactModel } from "../../src/export/compact-writer.js";
import { loadModel } from "../../src/runtime/index.js";
import { mlpModel, mnistScalar, rawInputs } from "../helpers/compact-models.js";
import "../helpers/runtime-check.js";

const bytes = exportCompactModel(mlpModel(), { normalizer: mnistScalar, classNames: ["a", "b", "c"] });
const NAME = "digits.compact";

function refuses(call: () => unknown, pattern: RegExp): void {
  assert.throws(call, (error: Error) => {
    assert.ok(!(error instanceof WebAssembly.RuntimeError), `a trap: ${error.message}`);
    assert.ok(error.message.startsWith(`${NAME}: `), error.message);
    assert.equal(error.message.split("\n").length, 1);
    assert.match(error.message, pattern);
    return true;
  });
}

test("runtime: describes the model (input size and shape, classes, class names)", async () => {
  const model = await loadModel(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  assert.equal(model.inputSize, 16);
  assert.deepEqual(model.inputShape, [16]);
  assert.equal(model.classes, 3);
  assert.deepEqual(model.classNames, ["a", "b", "c"]);
});

test("runtime: inputs of the wrong length, a batch of 0 or not an integer, inputs that are not a Float32Array", async () => {
  const model = await loadModel(bytes, { source: NAME });
  refuses(() => model.predict(new Float32Array(17), 1), /predict: 17 input values \(not a multiple of the input size\) for 1 examples of 16 features \(shape \[16\]\); expected 16/);
  refuses(() => model.predict(new Float32Array(48), 2), /48 input values \(that is 3 examples\) for 2 examples of 16 features .*expected 32/);
  refuses(() => model.predict(new Float32Array(0), 0), /predict: batch size must be an integer >= 1, got 0/);
  refuses(() => model.classify(new Float32Array(16), 1.5), /classify: batch size must be an integer >= 1, got 1.5/);
  refuses(() => model.predict(Array.from({ length: 16 }, () => 0) as unknown as Float32Array, 1), /inputs must be a Float32Array of raw features, got Array/);
  // Still usable after the refusals.
  assert.equal(model.predict(rawInputs(2, 16), 2).length, 6);
});

test("runtime: a disposed model refuses every call", async () => {
  const model = await loadModel(bytes, { source: NAME });
  model.dispose();
  refuses(() => model.predict(rawInputs(1, 16), 1), /predict: the model was disposed; load it again/);
  refuses(() => model.classify(rawInputs(1, 16), 1), /classify: the model was disposed/);
});

test("runtime: a truncated file, and unknown options, are refused before any WebAssembly runs", async () => {
  await assert.rejects(loadModel(bytes.slice(0, bytes.length - 3), { source: NAME }), /^CompactFormatError: digits\.compact: /);
  await assert.rejects(loadModel(bytes, { source: NAME, kernels: "avx" as never }), /digits\.compact: kernels must be relaxed or simd, got "avx"/);
  await assert.rejects(loadModel(bytes, { source: NAME, strategy: "fast" as never }), /strategy must be auto, rows or lanes, got "fast"/);
  await assert.rejects(loadModel("model.compact" as never, { source: NAME }), /loadModel takes the file's bytes as a Uint8Array or ArrayBuffer/);
});

test("runtime: the same results whatever the call history (buffers grow for a larger batch, are reused otherwise)", async () => {
  const model = await loadModel(bytes, { source: NAME });
  const small = rawInputs(3, 16, 9);
  const first = model.predict(small, 3);
  model.predict(rawInputs(300, 16, 4), 300);
  assert.deepEqual(model.predict(small, 3), first);
  assert.deepEqual(model.predict(small.subarray(16, 32), 1), first.subarray(3, 6));
});
