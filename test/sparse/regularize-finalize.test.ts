// Fixing a regularized model's zeros: Conv2d and Linear layers become CSR or masked, keep their function, and their zeros survive further training with momentum.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import { formatSparsityReport, sparsifyLayers } from "../../src/sparse/regularize/finalize.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

const BATCH = 6;

/** Sets the `fraction` smallest-magnitude weights of a dense layer to exactly 0; returns how many. */
function zeroSmallest(model: Model, index: number, fraction: number): number {
  const layer = model.net.layers[index] as Linear | Conv2d;
  const values = layer.weight!.toArray();
  const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[a]) - Math.abs(values[b]));
  const count = Math.round(fraction * values.length);
  for (const i of order.slice(0, count)) values[i] = 0;
  layer.weight!.data.set(values);
  return count;
}

/** Dense values of a layer's weight (CSR scattered) and its storage. */
function weightOf(model: Model, index: number): { dense: Float32Array; storage: string } {
  const p = model.net.parameters().find((q) => q.name === `layers.${index}.weight`)!;
  if (p.sparse) return { dense: p.sparse.toDense().toArray(), storage: "csr" };
  return { dense: p.tensor.toArray(), storage: p.mask ? "masked" : "dense" };
}

test("fixing zeros with a mask: Conv2d and Linear layers at or below csrBelow become CSR, the others masked; function kept; zeros stay zero while training", () => {
  // lenet-5 on 16×16: (0) conv 1→20, (2) conv 20→50, (5) linear 50→500, (7) linear 500→4.
  const model = buildModel({ preset: "lenet-5", inputShape: [1, 16, 16], classes: 4, seed: 3 });
  const rng = new Rng(5, "finalize/batch");
  const x = Float32Array.from({ length: BATCH * 256 }, () => rng.normal());
  const labels = Int32Array.from({ length: BATCH }, () => rng.int(4));
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 });
  const trainStep = () => {
    model.net.train();
    tidy(() => backward(crossEntropy(model.net.forward(tensor(x, [BATCH, 1, 16, 16])), labels)));
    optimizer.step();
    optimizer.zeroGrad();
  };
  const outputs = () => {
    model.net.eval();
    return tidy(() => model.net.forward(tensor(x, [BATCH, 1, 16, 16])).toArray());
  };
  // Momentum buffers are non-zero before the zeros appear: fixing them must reset that state too.
  trainStep();
  trainStep();
  const zeroed = { 0: zeroSmallest(model, 0, 0.7), 2: zeroSmallest(model, 2, 0.3), 5: zeroSmallest(model, 5, 0.9), 7: zeroSmallest(model, 7, 0.2) };
  const before = outputs();
  const report = sparsifyLayers(model, [0, 2, 5, 7], optimizer, { threshold: 0, csrBelow: 0.5, mask: true });
  assert.deepEqual(report.map((l) => l.storage), ["csr", "masked", "csr", "masked"], formatSparsityReport(report));
  report.forEach((l, k) => assert.equal(l.total - l.nonzero, Object.values(zeroed)[k], `${l.name}: ${l.total - l.nonzero} zeros`));
  assert.ok(model.net.layers[0] instanceof Conv2d && (model.net.layers[0] as Conv2d).sparseWeight !== null, "conv 0 is a sparse Conv2d");
  const after = outputs();
  before.forEach((v, i) => assert.ok(Math.abs(v - after[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `output ${i}: ${v} vs ${after[i]}`));

  const fixedAt = [0, 2, 5, 7].map((i) => weightOf(model, i).dense);
  for (let s = 0; s < 3; s++) trainStep();
  [0, 2, 5, 7].forEach((index, k) => {
    const { dense } = weightOf(model, index);
    let moved = 0;
    dense.forEach((v, i) => {
      if (fixedAt[k][i] === 0) assert.equal(v, 0, `layers.${index}.weight[${i}] left zero`);
      else if (v !== fixedAt[k][i]) moved++;
    });
    assert.ok(moved > 0, `layers.${index}.weight did not train`);
  });
});

test("the final sparsify without a mask thresholds |w| <= threshold and leaves dense layers above csrBelow unmasked", () => {
  const model = buildModel({ preset: "mlp", widths: [16], inputShape: [12], classes: 3, seed: 4 });
  const w0 = (model.net.layers[0] as Linear).weight.toArray();
  const threshold = 0.05;
  const small = w0.filter((v) => Math.abs(v) <= threshold).length;
  assert.ok(small > 10 && small < w0.length / 2, `${small} weights within the threshold`);
  const report = sparsifyLayers(model, [0], null, { threshold, csrBelow: 0.1, mask: false });
  assert.deepEqual(report.map((l) => [l.storage, l.nonzero]), [["dense", w0.length - small]]);
  const after = (model.net.layers[0] as Linear).weight.toArray();
  after.forEach((v, i) => assert.equal(v, Math.abs(w0[i]) <= threshold ? 0 : w0[i], `weight ${i}`));
  assert.equal((model.net.layers[0] as Linear).mask, null);
  // The output layer, not listed, is untouched.
  assert.equal(report.length, 1);
});
