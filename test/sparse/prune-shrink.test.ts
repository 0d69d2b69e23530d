// Structured pruning physically shrinks layers: Linear→Linear, Conv→Conv and Conv→Flatten→Linear, with the function unchanged by the removal itself.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backward, noGrad } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import { convertSparseLayers } from "../../src/sparse/prune/convert.js";
import { pruneModel } from "../../src/sparse/prune/pruner.js";
import { shrinkStructures } from "../../src/sparse/prune/shrink.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

function outputs(model: Model, inputShape: number[]): Float32Array {
  const rng = new Rng(5, "test/inputs");
  const size = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: 3 * size }, () => rng.normal());
  return noGrad(() => tidy(() => model.net.eval().forward(tensor(x, [3, ...inputShape])).toArray()));
}

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `${what} ${i}: ${v} vs ${b[i]}`));
}

test("neurons: pruned rows leave both layers, their constant outputs fold into the next bias, and checkpoints rebuild the smaller MLP", () => {
  const model = buildModel({ preset: "lenet-300-100", inputShape: [1, 28, 28], classes: 10, seed: 2 });
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.01, momentum: 0.9 });
  const results = pruneModel(model, { criterion: "magnitude", amount: 0.5, structure: "neurons", norm: 1 }, optimizer);
  assert.deepEqual(results.map((r) => r.alive), [150 * 784, 50 * 300, 10 * 100]);
  const masked = outputs(model, [784]);
  const { results: shrunk, skipped } = shrinkStructures(model, optimizer);
  assert.equal(skipped, undefined);
  assert.deepEqual(shrunk.map((s) => [s.layer, s.kept]), [[0, 150], [2, 50]]);
  const [l0, l2, l4] = [model.net.layers[0], model.net.layers[2], model.net.layers[4]] as Linear[];
  assert.deepEqual([l0.outFeatures, l0.inFeatures, l2.outFeatures, l2.inFeatures, l4.outFeatures, l4.inFeatures], [150, 784, 50, 150, 10, 50]);
  assertClose(outputs(model, [784]), masked, "logit");
  assert.deepEqual([model.spec.preset, model.spec.widths], ["mlp", [150, 50]]);

  // The optimizer now steps the new, smaller tensors.
  model.net.train();
  const rng = new Rng(1, "test/batch");
  tidy(() => backward(crossEntropy(model.net.forward(tensor(Float32Array.from({ length: 4 * 784 }, () => rng.normal()), [4, 784])), [1, 2, 3, 4])));
  optimizer.step();
  assert.equal(optimizer.parameters().length, 6);
  assert.ok(optimizer.parameters().every((p) => !p.isDisposed));

  const path = join(mkdtempSync(join(tmpdir(), "shrink-")), "small.safetensors");
  saveCheckpoint(path, model, { step: 0, epoch: 0, seed: 2 });
  assertClose(outputs(loadCheckpoint(path).model, [784]), outputs(model, [784]), "reloaded logit");
});

test("inputs of the first layer cannot shrink the data: they stay masked columns", () => {
  const model = buildModel({ preset: "mlp", widths: [8], inputShape: [12], classes: 3, seed: 0 });
  pruneModel(model, { criterion: "magnitude", amount: 0.25, structure: "inputs", include: ["layers.0"] }, null);
  const { results } = shrinkStructures(model, null);
  assert.deepEqual(results, []);
  const mask = (model.net.layers[0] as Linear).mask!.data;
  const deadColumns = Array.from({ length: 12 }, (_, c) => c).filter((c) => Array.from({ length: 8 }, (_, r) => mask[r * 12 + c]).every((v) => v === 0));
  assert.equal(deadColumns.length, 3);
});

test("filters and channels: Conv→Conv and Conv→Flatten→Linear shrink (dense and CSR) with the same outputs", () => {
  const model = buildModel({ preset: "lenet-5", inputShape: [1, 28, 28], classes: 10, seed: 3 });
  pruneModel(model, { criterion: "magnitude", amount: 0.4, structure: "filters" }, null); // conv1 20 → 12, conv2 50 → 30
  pruneModel(model, { criterion: "magnitude", amount: 0.5, include: ["layers.5"] }, null); // unstructured fc1
  convertSparseLayers(model, 0.5, null); // fc1 becomes CSR
  const before = outputs(model, [1, 28, 28]);
  const blocked = shrinkStructures(model, null);
  assert.match(blocked.skipped ?? "", /lenet-5 preset has fixed widths/);
  const { results } = shrinkStructures(model, null, { requireLoadableSpec: false });
  assert.deepEqual(results.map((r) => [r.layer, r.next, r.kept]), [[0, 2, 12], [2, 5, 30]]);
  const conv1 = model.net.layers[0] as Conv2d, conv2 = model.net.layers[2] as Conv2d;
  assert.deepEqual([conv1.outChannels, conv2.inChannels, conv2.outChannels], [12, 12, 30]);
  const fc1 = model.net.parameters().find((p) => p.name === "layers.5.weight")!;
  assert.deepEqual([fc1.sparse!.rows, fc1.sparse!.cols], [500, 30 * 16]);
  assertClose(outputs(model, [1, 28, 28]), before, "logit");
});
