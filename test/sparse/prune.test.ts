// Pruning a model: exact counts, masks agree with weights, pruned weights and optimizer state stay zero, CSR conversion keeps the function, checkpoints round-trip.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backward, noGrad } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Adam, AdamW } from "../../src/optim/adam.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { Sgd } from "../../src/optim/sgd.js";
import { checkPruneInvariants } from "../../src/sparse/prune/apply.js";
import { convertSparseLayers } from "../../src/sparse/prune/convert.js";
import { readPrunable } from "../../src/sparse/prune/prunable.js";
import { pruneModel } from "../../src/sparse/prune/pruner.js";
import { prunedCount } from "../../src/sparse/selectors.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

const mlp = (seed = 1) => buildModel({ preset: "mlp", widths: [24, 16], inputShape: [20], classes: 5, seed });
const weights = (m: Model) => m.net.parameters().filter((p) => p.name.endsWith("weight"));

function batch(seed: number) {
  const rng = new Rng(seed, "test/batch");
  return { x: Float32Array.from({ length: 8 * 20 }, () => rng.normal()), y: Int32Array.from({ length: 8 }, () => rng.int(5)) };
}

function trainSteps(model: Model, optimizer: Optimizer, steps: number, seed = 0): void {
  for (let s = 0; s < steps; s++) {
    const { x, y } = batch(seed + s);
    tidy(() => backward(crossEntropy(model.net.forward(tensor(x, [8, 20])), y)));
    optimizer.step();
    optimizer.zeroGrad();
  }
}

function logits(model: Model): Float32Array {
  const { x } = batch(99);
  return noGrad(() => tidy(() => model.net.eval().forward(tensor(x, [8, 20])).toArray()));
}

function assertMaskMatchesWeights(model: Model): void {
  checkPruneInvariants(model.net.parameters());
  for (const p of weights(model)) {
    if (!p.mask) continue;
    p.mask.data.forEach((m, i) => assert.equal(m, p.tensor.data[i] !== 0 ? 1 : 0, `${p.name}[${i}]: mask ${m}, weight ${p.tensor.data[i]}`));
  }
}

test("per-layer magnitude pruning keeps exactly n − round(amount·n) weights per layer, the largest ones", () => {
  const model = mlp();
  const before = weights(model).map((p) => p.tensor.toArray());
  const results = pruneModel(model, { criterion: "magnitude", amount: 0.7 }, null);
  assertMaskMatchesWeights(model);
  weights(model).forEach((p, l) => {
    const n = p.tensor.size;
    assert.equal(results[l].alive, n - prunedCount(0.7, n));
    const kept = before[l].filter((_, i) => p.mask!.data[i] === 1).map(Math.abs);
    const dropped = before[l].filter((_, i) => p.mask!.data[i] === 0).map(Math.abs);
    assert.ok(Math.min(...kept) >= Math.max(...dropped), `${p.name}: a dropped weight is larger than a kept one`);
  });
});

test("repeated pruning only removes: the new amount applies to the survivors", () => {
  const model = mlp();
  pruneModel(model, { criterion: "magnitude", amount: 0.5 }, null);
  const first = weights(model).map((p) => p.mask!.toArray());
  const alive = first.map((m) => m.reduce((s, v) => s + v, 0));
  const results = pruneModel(model, { criterion: "magnitude", amount: 0.5 }, null);
  assertMaskMatchesWeights(model);
  weights(model).forEach((p, l) => {
    assert.equal(results[l].alive, alive[l] - prunedCount(0.5, alive[l]));
    p.mask!.data.forEach((m, i) => assert.ok(m <= first[l][i], `${p.name}[${i}] revived`));
  });
});

test("global pruning: exact total over the selected weights; exclusions stay dense; a pattern matching nothing is an error", () => {
  const model = mlp();
  const results = pruneModel(model, { criterion: "magnitude", amount: 0.8, scope: "global", exclude: ["layers.4"] }, null);
  const pruned = results.filter((r) => r.name !== "layers.4.weight");
  const total = pruned.reduce((s, r) => s + r.size, 0);
  assert.equal(pruned.reduce((s, r) => s + r.alive, 0), total - prunedCount(0.8, total));
  assert.equal(results.find((r) => r.name === "layers.4.weight")!.storage, "dense");
  assert.throws(() => pruneModel(model, { criterion: "magnitude", amount: 0.5, exclude: ["layers.9"], optionPrefix: "--" }, null),
    /--exclude: "layers\.9" matches no prunable weight/);
  assert.throws(() => pruneModel(model, { criterion: "magnitude", amount: 0.5, structure: "filters", optionPrefix: "--" }, null),
    /--structure filters: the model has no selected Conv2d weights \(structures of Linear: neurons, inputs\)/);
  assert.throws(() => pruneModel(model, { criterion: "magnitude", amount: 0.5, structure: "filters", include: ["layers.2"], optionPrefix: "--" }, null),
    /--structure filters applies to Conv2d weights, but layers\.2\.weight is Linear/);
});

for (const [name, make] of [
  ["SGD with momentum and weight decay", (ps: any[]) => new Sgd([{ params: ps }], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })],
  ["Adam", (ps: any[]) => new Adam([{ params: ps }], { lr: 0.01, weightDecay: 0.01 })],
  ["AdamW", (ps: any[]) => new AdamW([{ params: ps }], { lr: 0.01, weightDecay: 0.1 })],
] as const) {
  test(`pruned weights and their optimizer state stay exactly zero through ${name}`, () => {
    const model = mlp();
    const optimizer = make(model.net.parameters().map((p) => p.tensor));
    trainSteps(model, optimizer, 3); // momentum buffers are non-zero everywhere now
    pruneModel(model, { criterion: "magnitude", amount: 0.6 }, optimizer);
    trainSteps(model, optimizer, 5, 10);
    assertMaskMatchesWeights(model);
    for (const p of weights(model)) {
      const buffers = optimizer.kind === "sgd" ? ["momentum_buffer"] : ["exp_avg", "exp_avg_sq"];
      for (const b of buffers) {
        const state = optimizer.buffer(p.tensor, b).data;
        p.mask!.data.forEach((m, i) => { if (m === 0) assert.equal(state[i], 0, `${p.name}.${b}[${i}]`); });
      }
    }
  });
}

test("a layer below csrBelow becomes CSR: same outputs, same names, optimizer state carried, checkpoint round-trips", () => {
  const model = mlp();
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.05, momentum: 0.9 });
  trainSteps(model, optimizer, 2);
  pruneModel(model, { criterion: "magnitude", amount: 0.8, exclude: ["layers.4"] }, optimizer);
  const masked = model.net.parameters().find((p) => p.name === "layers.0.weight")!;
  const momentum = optimizer.buffer(masked.tensor, "momentum_buffer").toArray();
  const maskData = masked.mask!.toArray();
  const expected = logits(model);
  model.net.train();
  assert.deepEqual(convertSparseLayers(model, 0.5, optimizer), [0, 2]);
  assert.ok(model.net.layers[0] instanceof SparseLinear && model.net.layers[4] instanceof Linear);
  logits(model).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `logit ${i}: ${v} vs ${expected[i]}`));
  const csr = model.net.parameters().find((p) => p.name === "layers.0.weight")!;
  const w = readPrunable(csr);
  assert.equal(w.positions.length, maskData.reduce((s, v) => s + v, 0));
  const carried = optimizer.buffer(csr.tensor, "momentum_buffer").data;
  w.positions.forEach((pos, i) => assert.equal(carried[i], momentum[pos]));
  model.net.train();
  trainSteps(model, optimizer, 2, 20);

  // Pruning the CSR weight again removes entries from its structure, exactly.
  const nnz = w.positions.length;
  pruneModel(model, { criterion: "magnitude", amount: 0.5, include: ["layers.0"] }, optimizer);
  const after = model.net.parameters().find((p) => p.name === "layers.0.weight")!;
  assert.equal(after.sparse!.nnz, nnz - prunedCount(0.5, nnz));
  trainSteps(model, optimizer, 1, 30);

  const path = join(mkdtempSync(join(tmpdir(), "prune-")), "pruned.safetensors");
  saveCheckpoint(path, model, { step: 0, epoch: 0, seed: 1 });
  const loaded = loadCheckpoint(path).model;
  const a = logits(model), b = logits(loaded);
  a.forEach((v, i) => assert.equal(b[i], v));
  assert.equal(loaded.net.parameters().find((p) => p.name === "layers.0.weight")!.sparse!.nnz, after.sparse!.nnz);
});

test("gradient criteria prune after a backward pass and zero the pruned gradients", () => {
  const model = mlp();
  assert.throws(() => pruneModel(model, { criterion: "taylor", amount: 0.5 }, null), /needs gradients of layers\.0\.weight/);
  const { x, y } = batch(3);
  tidy(() => backward(crossEntropy(model.net.forward(tensor(x, [8, 20])), y)));
  const results = pruneModel(model, { criterion: "taylor", amount: 0.5 }, null);
  for (const p of weights(model)) {
    const g = p.tensor.grad!.data;
    p.mask!.data.forEach((m, i) => { if (m === 0) assert.equal(g[i], 0); });
  }
  assert.equal(results[0].alive, 24 * 20 - prunedCount(0.5, 24 * 20));
});

test("2:4 pruning keeps exactly 2 of every 4 consecutive inputs of each neuron", () => {
  const model = mlp();
  pruneModel(model, { criterion: "magnitude", nm: { n: 2, m: 4 }, exclude: ["layers.4"] }, null);
  for (const p of weights(model).slice(0, 2)) {
    const m = p.mask!.data;
    for (let start = 0; start < m.length; start += 4) assert.equal(m[start] + m[start + 1] + m[start + 2] + m[start + 3], 2);
  }
  const odd = buildModel({ preset: "mlp", widths: [6], inputShape: [6], classes: 2, seed: 0 });
  assert.throws(() => pruneModel(odd, { criterion: "magnitude", nm: { n: 2, m: 4 }, optionPrefix: "--" }, null),
    /--nm 2:4: M = 4 does not divide the 6 inputs per output of layers\.0\.weight/);
});

test("a LeNet-5 with a masked convolution and CSR layers saves and loads with the same logits and masks", () => {
  const model = buildModel({ preset: "lenet-5", inputShape: [1, 28, 28], classes: 10, seed: 4 });
  pruneModel(model, { criterion: "magnitude", amount: 0.3, include: ["layers.0"] }, null);
  pruneModel(model, { criterion: "magnitude", amount: 0.9, include: ["layers.2", "layers.5"] }, null);
  convertSparseLayers(model, 0.5, null);
  const conv = model.net.parameters().find((p) => p.name === "layers.0.weight")!;
  assert.ok(conv.mask !== undefined, "conv1 stays dense with a mask");
  const rng = new Rng(8, "lenet-input");
  const x = Array.from({ length: 2 * 784 }, () => rng.normal());
  const out = (m: Model) => noGrad(() => tidy(() => { m.net.eval(); return m.net.forward(tensor(x, [2, 1, 28, 28])).toArray(); }));
  const path = join(mkdtempSync(join(tmpdir(), "prune-conv-")), "lenet.safetensors");
  saveCheckpoint(path, model, { step: 0, epoch: 0, seed: 4 });
  const loaded = loadCheckpoint(path).model;
  assert.deepEqual(out(loaded), out(model));
  const loadedConv = loaded.net.parameters().find((p) => p.name === "layers.0.weight")!;
  assert.deepEqual(loadedConv.mask!.toArray(), conv.mask!.toArray());
  assert.equal(loadedConv.mask!.toArray().filter((v) => v === 0).length, prunedCount(0.3, 500));
});
