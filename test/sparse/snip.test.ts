// SNIP at initialization: global top-k of |g·w| keeps the budget, never picks connections from dead inputs, keeps initial values, leaves no gradient behind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Dataset } from "../../src/data/dataset.js";
import { buildModel } from "../../src/nn/presets.js";
import { snipPrune } from "../../src/sparse/snip.js";
import { fillUniform } from "../../src/tensor/init.js";
import { Rng } from "../../src/tensor/rng.js";
import { zeros } from "../../src/tensor/tensor.js";

// 12 features of which the last 6 are always 0: no gradient reaches connections from them.
function halfDeadInputs(count: number): Dataset {
  const rng = new Rng(7, "snip-data");
  const features = new Float32Array(count * 12), labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 3;
    for (let j = 0; j < 6; j++) features[i * 12 + j] = rng.normal() + (j % 3 === labels[i] ? 1.5 : 0);
  }
  return new Dataset(features, labels, [12], 3, "half-dead");
}

const columns = (m: { rows: number; rowPtr: Int32Array; colIdx: Int32Array }) => [...m.colIdx];

function snipModel() {
  const model = buildModel({ preset: "mlp", widths: [16], inputShape: [12], classes: 3, seed: 4, sparse: { "0": 0.25, "2": 0.5 } });
  const before = model.net.parameters().filter((p) => p.sparse).map((p) => ({ name: p.name, nnz: p.sparse!.nnz, cols: columns(p.sparse!) }));
  const counts = snipPrune(model, halfDeadInputs(96), { seed: 4, batches: 2, batchSize: 32 });
  return { model, before, counts };
}

test("SNIP keeps the total budget and never keeps a connection from an input that is always zero", () => {
  const { model, before, counts } = snipModel();
  assert.deepEqual(before.map((b) => b.nnz), [48, 24]);
  // Random positions (before SNIP) do use the dead inputs: the assertion below can fail.
  assert.ok(before[0].cols.some((c) => c >= 6));
  const sparse = model.net.parameters().filter((p) => p.sparse);
  assert.equal(sparse.reduce((a, p) => a + p.sparse!.nnz, 0), 72);
  assert.deepEqual(Object.values(counts).reduce((a, b) => a + b, 0), 72);
  for (const p of sparse) p.sparse!.validate();
  const first = sparse[0].sparse!;
  assert.ok(first.nnz > 0);
  assert.ok(columns(first).every((c) => c < 6), `columns ${columns(first)}`);
});

test("SNIP keeps the dense initial values at the chosen positions and leaves no gradients", () => {
  const { model } = snipModel();
  for (const p of model.net.parameters()) assert.equal(p.tensor.grad, null, `${p.name} has a gradient left`);
  const p = model.net.parameters().find((q) => q.name === "layers.0.weight")!;
  const m = p.sparse!;
  const dense = fillUniform(zeros([16 * 12]), new Rng(4, "snip/layers.0.weight/init"), -1 / Math.sqrt(12), 1 / Math.sqrt(12)).data;
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) assert.equal(m.values.data[k], dense[r * 12 + m.colIdx[k]]);
  }
  assert.ok(m.values.requiresGrad);
});

test("SNIP is deterministic", () => {
  const a = snipModel().model.net.parameters().filter((p) => p.sparse).map((p) => columns(p.sparse!));
  const b = snipModel().model.net.parameters().filter((p) => p.sparse).map((p) => columns(p.sparse!));
  assert.deepEqual(a, b);
});
