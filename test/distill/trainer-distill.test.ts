// The Trainer with `distill`: each batch's loss uses the teacher logits of that batch's examples (shuffled, short last batch, 1 and 2 threads).
import assert from "node:assert/strict";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { distillationLoss } from "../../src/autograd/ops/distill-loss.js";
import { BatchLoader } from "../../src/data/batches.js";
import { Dataset } from "../../src/data/dataset.js";
import { buildModel } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";
import { Trainer } from "../../src/train/trainer.js";

const FEATURES = 12;
const CLASSES = 5;
const EXAMPLES = 45; // 5 batches of 8 and a short one of 5
const BATCH = 8;
const DISTILL = { temperature: 2.5, alpha: 0.7 };

/** Feature 0 of example i is i: a batch row names its example by its features, independently of the loader's indices. */
function dataset(): Dataset {
  const rng = new Rng(4, "trainer-distill/data");
  const features = Float32Array.from({ length: EXAMPLES * FEATURES }, (_, k) => (k % FEATURES === 0 ? k / FEATURES : rng.normal()));
  const labels = Int32Array.from({ length: EXAMPLES }, () => rng.int(CLASSES));
  return new Dataset(features, labels, [FEATURES], CLASSES, "trainer-distill");
}

/** Teacher logits that differ strongly from example to example. */
function teacherLogits(): Float32Array {
  const rng = new Rng(8, "trainer-distill/teacher");
  return Float32Array.from({ length: EXAMPLES * CLASSES }, () => 4 * rng.normal());
}

const newModel = () => buildModel({ preset: "mlp", widths: [16], inputShape: [FEATURES], classes: CLASSES, seed: 2, sparse: { "0": 0.5 } });

test("Trainer distills each batch against the teacher logits of that batch's examples (shuffled order, short last batch, threads 1 and 2)", { timeout: 60_000 }, () => {
  const data = dataset(), logits = teacherLogits();
  // With lr 0 the model stays as it is, so every example's loss is fixed: a step's loss is the mean of its examples'.
  const perExample = noGrad(() => tidy(() => {
    const model = newModel();
    const out = model.net.forward(tensor(data.features, [EXAMPLES, FEATURES]));
    return distillationLoss(out, tensor(logits, [EXAMPLES, CLASSES]), data.labels, { ...DISTILL, reduction: "none" }).toArray();
  }));
  // Which examples each step sees, read from the batch's features (feature 0 = example index).
  const loader = new BatchLoader(data, { batchSize: BATCH, shuffleSeed: 6 });
  const expected: number[] = [];
  for (let epoch = 0; epoch < 2; epoch++) {
    for (const batch of loader.epoch(epoch)) {
      let sum = 0;
      for (let r = 0; r < batch.size; r++) sum += perExample[batch.features[r * FEATURES]];
      expected.push(sum / batch.size);
    }
  }
  for (const threads of [1, 2]) {
    const model = newModel();
    const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0 });
    const losses: number[] = [];
    new Trainer({
      model, optimizer, train: data, batchSize: BATCH, epochs: 2, seed: 6, threads,
      distill: { logits, classes: CLASSES, ...DISTILL }, onStep: ({ loss }) => losses.push(loss),
    }).fit();
    assert.equal(losses.length, expected.length);
    losses.forEach((loss, i) => assert.ok(Math.abs(loss - expected[i]) <= 1e-5 * expected[i], `threads ${threads}, step ${i}: loss ${loss}, expected ${expected[i]} from the batch's own examples`));
  }
});

test("Trainer rejects teacher logits that do not cover every training example", () => {
  const model = newModel();
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.1 });
  const short = new Float32Array((EXAMPLES - 1) * CLASSES);
  assert.throws(
    () => new Trainer({ model, optimizer, train: dataset(), batchSize: BATCH, epochs: 1, seed: 0, distill: { logits: short, classes: CLASSES, ...DISTILL } }),
    /train: the teacher's logits hold 220 values of 5 classes; the training data needs 45 examples × 5 classes/,
  );
});
