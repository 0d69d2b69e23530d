// Data-parallel steps over worker threads: same losses as one thread up to summation order, deterministic, following structure changes, failing loudly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import { DataParallel, splitRows } from "../../src/parallel/data-parallel.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy, type Tensor } from "../../src/tensor/tensor.js";

const FEATURES = 30;
const CLASSES = 5;
const BATCH = 24;

function tinyModel(overrides: Partial<ModelSpec> = {}): Model {
  return buildModel({ preset: "mlp", widths: [24, 16], inputShape: [FEATURES], classes: CLASSES, seed: 3, ...overrides });
}

function batches(count: number): { x: number[]; labels: Int32Array }[] {
  const rng = new Rng(7, "data");
  return Array.from({ length: count }, () => {
    const x = Array.from({ length: BATCH * FEATURES }, () => rng.normal());
    // A learnable rule: the class is the largest of the first CLASSES features.
    const labels = Int32Array.from({ length: BATCH }, (_, r) => {
      const row = x.slice(r * FEATURES, r * FEATURES + CLASSES);
      return row.indexOf(Math.max(...row));
    });
    return { x, labels };
  });
}

/** Losses of `steps` SGD steps; `step` does forward and backward (one thread or many). */
function trajectory(model: Model, steps: number, forwardBackward: (x: Tensor, labels: Int32Array, step: number) => number, between?: (step: number) => void): number[] {
  const opt = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9 });
  const losses: number[] = [];
  const data = batches(3); // revisited, so that the loss can fall
  for (let step = 0; step < steps; step++) {
    const b = data[step % data.length];
    losses.push(tidy(() => forwardBackward(tensor(b.x, [BATCH, FEATURES]), b.labels, step)));
    opt.step();
    opt.zeroGrad();
    between?.(step);
  }
  return losses;
}

function oneThread(model: Model): (x: Tensor, labels: Int32Array) => number {
  return (x, labels) => {
    model.net.train();
    const loss = crossEntropy(model.net.forward(x), labels);
    backward(loss);
    return loss.item();
  };
}

function withThreads(model: Model, threads: number, run: (pool: DataParallel) => number[]): number[] {
  const pool = DataParallel.start(model, { threads, seed: 3, batchSize: BATCH, timeoutMs: 20_000 });
  try {
    return run(pool);
  } finally {
    pool.close();
  }
}

function assertClose(actual: number[], expected: number[], relative: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= relative * Math.abs(expected[i]), `step ${i}: ${a} vs ${expected[i]}`));
}

test("splitRows covers the batch with contiguous shares differing by at most one row", () => {
  assert.deepEqual(splitRows(7, 2), [{ start: 0, end: 4 }, { start: 4, end: 7 }]);
  assert.deepEqual(splitRows(1, 3), [{ start: 0, end: 1 }, { start: 1, end: 1 }, { start: 1, end: 1 }]);
});

for (const [label, spec] of [["dense", {}], ["with a sparse layer", { sparse: { "0": 0.5 } }]] as const) {
  test(`2 threads give the losses of 1 thread (${label}), and the same losses run to run`, () => {
    const steps = 20;
    const single = (() => {
      const model = tinyModel(spec);
      return trajectory(model, steps, oneThread(model));
    })();
    const parallel = () => {
      const model = tinyModel(spec);
      return withThreads(model, 2, (pool) => trajectory(model, steps, (x, labels, step) => pool.forwardBackward(x, labels, { step }).loss));
    };
    const first = parallel();
    assert.ok(single[steps - 1] < single[0] * 0.9, `the loss must fall: ${single[0]} → ${single[steps - 1]}`);
    assertClose(first, single, 1e-5);
    assert.deepEqual(parallel(), first);
  });
}
