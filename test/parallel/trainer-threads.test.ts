// The Trainer's `threads` option: a 2-thread fit follows a 1-thread fit, hooks that change sparse structure included.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Dataset } from "../../src/data/dataset.js";
import { buildModel } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import { Rng } from "../../src/tensor/rng.js";
import type { TrainerHooks } from "../../src/train/hooks.js";
import { Trainer } from "../../src/train/trainer.js";
import { dropAndGrow } from "./drop-and-grow.js";

const FEATURES = 20;
const CLASSES = 4;

function dataset(): Dataset {
  const rng = new Rng(11, "trainer-threads/data");
  const count = 150; // 4 full batches of 32 and a short one of 22
  const features = Float32Array.from({ length: count * FEATURES }, () => rng.normal());
  const labels = Int32Array.from({ length: count }, (_, r) => {
    const row = Array.from(features.subarray(r * FEATURES, r * FEATURES + CLASSES));
    return row.indexOf(Math.max(...row));
  });
  return new Dataset(features, labels, [FEATURES], CLASSES, "trainer-threads");
}

// SET-like: every third step, each sparse weight drops and grows one entry per row.
const regrow: TrainerHooks = {
  name: "drop-and-grow",
  afterStep(ctx) {
    if (ctx.step % 3 === 0) for (const p of ctx.parameters) if (p.sparse) dropAndGrow(p, ctx.optimizer);
  },
};

function fit(threads: number): number[] {
  const model = buildModel({ preset: "mlp", widths: [32, 16], inputShape: [FEATURES], classes: CLASSES, seed: 5, sparse: { "0": 0.4, "2": 0.5 } });
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.3, momentum: 0.9 });
  const losses: number[] = [];
  const trainer = new Trainer({
    model, optimizer, train: dataset(), batchSize: 32, epochs: 5, seed: 5, threads, hooks: [regrow],
    onStep: ({ loss }) => losses.push(loss),
  });
  trainer.fit();
  return losses;
}

test("Trainer with threads: 2 follows threads: 1 step by step, through structure changes and short batches", { timeout: 60_000 }, () => {
  const single = fit(1);
  const parallel = fit(2);
  assert.equal(parallel.length, 25);
  const epochMean = (epoch: number) => single.slice(5 * epoch, 5 * epoch + 5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(epochMean(4) < epochMean(0) * 0.8, `the loss must fall: ${epochMean(0)} → ${epochMean(4)}`);
  parallel.forEach((loss, i) => assert.ok(Math.abs(loss - single[i]) <= 1e-5 * single[i], `step ${i}: ${loss} vs ${single[i]}`));
});

test("Trainer rejects a thread count that is not a positive integer", () => {
  const model = buildModel({ preset: "mlp", widths: [8], inputShape: [FEATURES], classes: CLASSES, seed: 0 });
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.1 });
  assert.throws(() => new Trainer({ model, optimizer, train: dataset(), batchSize: 8, epochs: 1, seed: 0, threads: 0 }), /train: threads must be a positive integer, got 0/);
});

for (const threads of [1, 2]) {
  test(`with threads: ${threads} and dropout, a run stopped mid-epoch and continued from the trainer state repeats an uninterrupted run exactly`, { timeout: 60_000 }, () => {
    const setup = () => {
      const model = buildModel({ preset: "mlp", widths: [32, 16], inputShape: [FEATURES], classes: CLASSES, seed: 5, dropout: 0.3, sparse: { "0": 0.4 } });
      const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9 });
      return { model, optimizer, train: dataset(), batchSize: 32, epochs: 100, seed: 5, threads };
    };
    const straight: number[] = [];
    new Trainer({ ...setup(), steps: 8, onStep: ({ loss }) => straight.push(loss) }).fit();
    const parts = setup();
    const resumed: number[] = [];
    // 3 of the 5 batches of the first epoch, then the rest.
    const first = new Trainer({ ...parts, steps: 3, onStep: ({ loss }) => resumed.push(loss) });
    first.fit();
    assert.deepEqual({ epoch: first.getState().epoch, step: first.getState().step }, { epoch: 0, step: 3 });
    const second = new Trainer({ ...parts, steps: 8, onStep: ({ loss }) => resumed.push(loss) });
    second.setState(first.getState());
    second.fit();
    assert.deepEqual(resumed, straight);
  });
}
