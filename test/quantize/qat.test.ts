// Fake-quantized training: the straight-through gradient, zeros and structures kept through training, validation of the quantized model, the start epoch.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { Dataset } from "../../src/data/dataset.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Flatten, ReLU } from "../../src/nn/activations.js";
import { Linear } from "../../src/nn/linear.js";
import type { Model, ModelSpec } from "../../src/nn/presets.js";
import { Sequential, type NamedParameter } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Sgd } from "../../src/optim/sgd.js";
import { FakeQuantizer, quantizedWeights } from "../../src/quantize/qat.js";
import { denseRowOffsets, fakeQuantizeRows, type QuantBits } from "../../src/quantize/rows.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";
import { evaluate } from "../../src/train/evaluate.js";
import { Trainer } from "../../src/train/trainer.js";

const INPUT = [1, 6, 6];
const CLASSES = 4;

/**
 * One weight of every kind: a masked dense convolution, a CSR convolution, a dense linear layer, a
 * masked linear layer and a CSR linear layer. Masks zero about a third of their weights.
 */
function everyKindModel(seed = 1): Model {
  const rng = new Rng(seed, "qat-model");
  const conv0 = new Conv2d(1, 3, { kernel: 3, rng: rng.fork("conv0") }); // (3, 4, 4)
  conv0.setMask(randomMask(conv0.weight!.shape, rng.fork("mask0")));
  const conv1 = new Conv2d(3, 4, { kernel: 3, density: 0.5, rng: rng.fork("conv1") }); // (4, 2, 2) CSR
  const dense = new Linear(16, 12, { rng: rng.fork("dense") });
  const masked = new Linear(12, 10, { rng: rng.fork("masked") });
  masked.setMask(randomMask(masked.weight.shape, rng.fork("mask3")));
  const csr = SparseLinear.random(10, CLASSES, 0.5, { rng: rng.fork("csr") });
  const net = new Sequential([conv0, new ReLU(), conv1, new ReLU(), new Flatten(), dense, new ReLU(), masked, new ReLU(), csr], seed);
  const spec: ModelSpec = { preset: "mlp", inputShape: INPUT, classes: CLASSES, seed };
  return { net, inputShape: INPUT, spec };
}

function randomMask(shape: readonly number[], rng: Rng) {
  const size = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: size }, () => (rng.uniform() < 0.35 ? 0 : 1)), [...shape]);
}

function randomData(count: number, seed: number): Dataset {
  const rng = new Rng(seed, "qat-data");
  const features = new Float32Array(count * 36), labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % CLASSES;
    for (let j = 0; j < 36; j++) features[i * 36 + j] = rng.normal() + (j % CLASSES === labels[i] ? 1 : 0);
  }
  return new Dataset(features, labels, INPUT, CLASSES, "qat-data");
}

const weightsOf = (model: Model) => quantizedWeights(model.net.parameters(), "per-row").map((w) => w.param);

/** Gradients of every weight after one forward and backward pass on the first `n` examples. */
function weightGradients(model: Model, data: Dataset, n: number): Float32Array[] {
  for (const p of model.net.parameters()) p.tensor.grad = null;
  tidy(() => {
    const x = tensor(data.features.subarray(0, n * 36), [n, ...INPUT]);
    backward(crossEntropy(model.net.forward(x), data.labels.subarray(0, n)));
  });
  return weightsOf(model).map((p) => p.tensor.grad!.toArray());
}

/** The fake-quantized values of a weight, with its row offsets computed here from the layer's shape. */
function expectedQuantized(p: NamedParameter, bits: QuantBits): Float32Array {
  const values = p.tensor.toArray();
  const rows = p.sparse ? p.sparse.rows : p.tensor.shape[0];
  const offsets = p.sparse ? p.sparse.rowPtr.slice() : denseRowOffsets(rows, values.length / rows);
  return fakeQuantizeRows(values, offsets, bits, new Float32Array(values.length));
}

test("the straight-through gradient is the gradient at the quantized weights, and the float weights come back bit for bit", () => {
  const data = randomData(16, 2);
  for (const bits of [8, 4] as const) {
    const model = everyKindModel();
    const weights = weightsOf(model);
    assert.deepEqual(weights.map((p) => (p.sparse ? "csr" : p.mask ? "masked" : "dense")), ["masked", "csr", "dense", "masked", "csr"]);
    const floats = weights.map((p) => p.tensor.toArray());
    const atFloat = weightGradients(model, data, 16);

    const quantizer = new FakeQuantizer({ bits, granularity: "per-row", startEpoch: 0 });
    assert.equal(quantizer.swapIn({ parameters: model.net.parameters(), epoch: 0 }), true);
    const swappedIn = weights.map((p) => p.tensor.toArray());
    const straightThrough = weightGradients(model, data, 16);
    quantizer.restore();
    weights.forEach((p, i) => assert.deepEqual(p.tensor.toArray(), floats[i], `${p.name}: the float master is restored`));

    // The reference: the same model with its weights set to their quantized values by hand.
    const quantized = weights.map((p) => expectedQuantized(p, bits));
    weights.forEach((p, i) => assert.deepEqual(swappedIn[i], quantized[i], `${p.name}: the forward pass saw the quantized weights`));
    weights.forEach((p, i) => p.tensor.data.set(quantized[i]));
    const atQuantized = weightGradients(model, data, 16);
    weights.forEach((p, i) => {
      assert.deepEqual(straightThrough[i], atQuantized[i], `int${bits} ${p.name}: the gradient is the one at the quantized weights`);
      assert.notDeepEqual(straightThrough[i], atFloat[i], `int${bits} ${p.name}: quantization changes the gradient (else this test proves nothing)`);
    });
  }
});

test("per-tensor granularity uses one scale for the whole weight", () => {
  const model = everyKindModel();
  const quantizer = new FakeQuantizer({ bits: 4, granularity: "per-tensor", startEpoch: 0 });
  const weights = weightsOf(model);
  const expected = weights.map((p) => fakeQuantizeRows(p.tensor.toArray(), [0, p.tensor.size], 4));
  quantizer.swapIn({ parameters: model.net.parameters(), epoch: 0 });
  weights.forEach((p, i) => assert.deepEqual(p.tensor.toArray(), expected[i], p.name));
  quantizer.restore();
});

interface Structure {
  masks: (Float32Array | null)[];
  rowPtr: (Int32Array | null)[];
  colIdx: (Int32Array | null)[];
  zeros: number[][];
  nonZeros: number;
}

function structureOf(model: Model): Structure {
  const weights = weightsOf(model);
  const zeros = weights.map((p) => [...p.tensor.data].flatMap((v, i) => (v === 0 ? [i] : [])));
  return {
    masks: weights.map((p) => p.mask?.toArray() ?? null),
    rowPtr: weights.map((p) => p.sparse?.rowPtr.slice() ?? null),
    colIdx: weights.map((p) => p.sparse?.colIdx.slice() ?? null),
    zeros,
    nonZeros: weights.reduce((s, p, i) => s + p.tensor.size - zeros[i].length, 0),
  };
}

function trainer(model: Model, quantizer: FakeQuantizer | undefined, epochs: number, onLoss?: (loss: number) => void): Trainer {
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 });
  return new Trainer({
    model, optimizer, train: randomData(96, 3), validation: randomData(40, 4), batchSize: 16, epochs, seed: 5, shuffle: false,
    weightSwap: quantizer, onStep: ({ loss }) => onLoss?.(loss),
  });
}

test("through fake-quantized training the masks, the CSR structures, the zeros and the non-zero count never change", () => {
  for (const bits of [8, 4] as const) {
    const model = everyKindModel();
    const before = structureOf(model);
    const floats = weightsOf(model).map((p) => p.tensor.toArray());
    const quantizer = new FakeQuantizer({ bits, granularity: "per-row", startEpoch: 0 });
    const steps: number[] = [];
    trainer(model, quantizer, 2, (loss) => steps.push(loss)).fit();
    assert.equal(steps.length, 12);
    const after = structureOf(model);
    assert.deepEqual(after.masks, before.masks, "masks");
    assert.deepEqual(after.rowPtr, before.rowPtr, "CSR row pointers");
    assert.deepEqual(after.colIdx, before.colIdx, "CSR column indices");
    assert.deepEqual(after.zeros, before.zeros, "the positions of the zeros");
    assert.equal(after.nonZeros, before.nonZeros);
    // Training moved the float weights, and they are floats, not quantized values.
    weightsOf(model).forEach((p, i) => {
      assert.notDeepEqual(p.tensor.toArray(), floats[i], `${p.name} trained`);
      assert.notDeepEqual(p.tensor.toArray(), expectedQuantized(p, bits), `${p.name} holds its float master between steps`);
    });
  }
});

test("training sees the quantized weights from startEpoch on, and validation measures the quantized model", () => {
  const float: number[] = [], quantizedLater: number[] = [], quantizedAll: number[] = [];
  trainer(everyKindModel(), undefined, 2, (l) => float.push(l)).fit();
  const model = everyKindModel();
  const quantizer = new FakeQuantizer({ bits: 4, granularity: "per-row", startEpoch: 1 });
  const t = trainer(model, quantizer, 2, (l) => quantizedLater.push(l));
  const summaries = t.fit();
  trainer(everyKindModel(), new FakeQuantizer({ bits: 4, granularity: "per-row", startEpoch: 0 }), 2, (l) => quantizedAll.push(l)).fit();
  // Epoch 1 (6 steps) trains in float; epoch 2 at the quantized weights.
  assert.deepEqual(quantizedLater.slice(0, 6), float.slice(0, 6));
  assert.notEqual(quantizedLater[6], float[6]);
  assert.notEqual(quantizedAll[0], float[0]);
  // The first step of a run quantized from the start has the loss of the quantized initial model.
  const fresh = everyKindModel();
  weightsOf(fresh).forEach((p) => p.tensor.data.set(expectedQuantized(p, 4)));
  const data = randomData(96, 3);
  const firstLoss = tidy(() => crossEntropy(fresh.net.forward(tensor(data.features.subarray(0, 16 * 36), [16, ...INPUT])), data.labels.subarray(0, 16)).item());
  assert.equal(quantizedAll[0], firstLoss);
  // Validation after epoch 2 evaluated the quantized weights, then restored the floats.
  const validation = randomData(40, 4);
  const atFloat = evaluate(model, validation, 1000);
  quantizer.swapIn({ parameters: model.net.parameters(), epoch: 1 });
  const atQuantized = evaluate(model, validation, 1000);
  quantizer.restore();
  assert.equal(summaries[1].valLoss, atQuantized.loss);
  assert.notEqual(summaries[1].valLoss, atFloat.loss);
});

test("quantizing for good puts every weight on the grid: quantizing again changes nothing", () => {
  const model = everyKindModel();
  trainer(model, new FakeQuantizer({ bits: 8, granularity: "per-row", startEpoch: 0 }), 1).fit();
  const quantizer = new FakeQuantizer({ bits: 8, granularity: "per-row", startEpoch: 0 });
  const nonZeroBefore = structureOf(model).nonZeros;
  const report = quantizer.quantizeInPlace(model.net.parameters());
  assert.equal(report.weights, 5);
  assert.equal(structureOf(model).nonZeros, nonZeroBefore - report.roundedToZero);
  for (const p of weightsOf(model)) assert.deepEqual(expectedQuantized(p, 8), p.tensor.toArray(), `${p.name} is on the int8 grid`);
});

test("threads 2 train at the quantized weights too: the losses (to summation order) and the non-zeros of threads 1", { timeout: 60_000 }, () => {
  const run = (threads: number, quantize = true) => {
    const model = everyKindModel();
    const losses: number[] = [];
    const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.05, momentum: 0.9 });
    const summaries = new Trainer({
      model, optimizer, train: randomData(96, 3), validation: randomData(40, 4), batchSize: 16, epochs: 2, seed: 5, threads,
      weightSwap: quantize ? new FakeQuantizer({ bits: 4, granularity: "per-row", startEpoch: 0 }) : undefined, onStep: ({ loss }) => losses.push(loss),
    }).fit();
    return { losses, structure: structureOf(model), valLoss: summaries[1].valLoss! };
  };
  const single = run(1), parallel = run(2), float = run(2, false);
  assert.equal(parallel.losses.length, 12);
  assert.notEqual(parallel.losses[0], float.losses[0], "the workers compute at the quantized weights");
  parallel.losses.forEach((loss, i) => assert.ok(Math.abs(loss - single.losses[i]) <= 1e-5 * single.losses[i], `step ${i + 1}: ${loss} (2 threads) vs ${single.losses[i]} (1 thread)`));
  assert.ok(Math.abs(parallel.valLoss - single.valLoss) <= 1e-5 * single.valLoss);
  assert.deepEqual(parallel.structure, single.structure);
});
