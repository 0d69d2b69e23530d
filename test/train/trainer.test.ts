import assert from "node:assert/strict";
import { test } from "node:test";
import { Dataset } from "../../src/data/dataset.js";
import { buildModel } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import { Rng } from "../../src/tensor/rng.js";
import { Trainer, TrainingDivergedError } from "../../src/train/trainer.js";

// Two Gaussian blobs in 6 dimensions: learnable in a few steps.
function blobs(count: number, seed: number): Dataset {
  const rng = new Rng(seed, "blobs");
  const features = new Float32Array(count * 6), labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < 6; j++) features[i * 6 + j] = rng.normal() + (labels[i] ? 1.5 : -1.5);
  }
  return new Dataset(features, labels, [6], 2, "blobs");
}

function setup(lr: number, extra: Partial<ConstructorParameters<typeof Trainer>[0]> = {}) {
  const model = buildModel({ preset: "mlp", widths: [8], inputShape: [6], classes: 2, seed: 1, sparse: { "0": 0.5 } });
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr, momentum: 0.9 });
  return new Trainer({ model, optimizer, train: blobs(200, 1), validation: blobs(60, 2), batchSize: 32, epochs: 4, seed: 0, ...extra });
}

test("hooks run at every step in order and see parameters, gradients and the step", () => {
  const calls: string[] = [];
  let sawGradient = false;
  const trainer = setup(0.1, {
    epochs: 2,
    hooks: [{
      beforeStep: (c) => calls.push(`before ${c.step}`),
      afterBackward: (c) => {
        calls.push(`backward ${c.step}`);
        sawGradient ||= c.parameters.every((p) => p.tensor.grad !== null);
      },
      afterStep: (c) => calls.push(`after ${c.step}`),
      endOfEpoch: (c, s) => calls.push(`epoch ${c.epoch} ${s.epoch}`),
    }],
  });
  const summaries = trainer.fit();
  assert.equal(summaries.length, 2);
  assert.deepEqual(calls.slice(0, 3), ["before 0", "backward 0", "after 1"]);
  assert.ok(calls.includes("epoch 1 1") && calls.includes("epoch 2 2"));
  assert.equal(calls.filter((c) => c.startsWith("before")).length, 2 * 7);
  assert.ok(sawGradient);
  assert.ok(summaries[1].valAccuracy! > 0.9, `validation accuracy ${summaries[1].valAccuracy}`);
});

test("early stopping ends training after `patience` evaluations without improvement", () => {
  const trainer = setup(0, { epochs: 10, earlyStopping: { patience: 2, metric: "val_loss" } });
  const summaries = trainer.fit();
  assert.equal(summaries.length, 3); // epoch 1 sets the best; 2 and 3 do not improve (lr = 0)
});

test("a loss that becomes NaN or infinite stops the run with a clear error", () => {
  const trainer = setup(1e30, { epochs: 5 });
  assert.throws(() => trainer.fit(), (e: unknown) => e instanceof TrainingDivergedError && /the loss became (NaN|Infinity) at step \d+/.test((e as Error).message));
});
