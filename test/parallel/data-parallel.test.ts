// Data-parallel steps over worker threads: same losses as one thread up to summation order, deterministic, following structure changes, failing loudly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { alloc, free, heapStats, memory } from "../../src/backend/heap.js";
import { ReLU, Tanh } from "../../src/nn/activations.js";
import type { SparseLinear } from "../../src/nn/sparse-linear.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { Sgd } from "../../src/optim/sgd.js";
import { DataParallel, splitRows } from "../../src/parallel/data-parallel.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy, type Tensor } from "../../src/tensor/tensor.js";
import { dropAndGrow } from "./drop-and-grow.js";

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
function trajectory(model: Model, steps: number, forwardBackward: (x: Tensor, labels: Int32Array, step: number) => number, between?: (step: number, optimizer: Optimizer) => void): number[] {
  const opt = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9 });
  const losses: number[] = [];
  const data = batches(3); // revisited, so that the loss can fall
  for (let step = 0; step < steps; step++) {
    const b = data[step % data.length];
    losses.push(tidy(() => forwardBackward(tensor(b.x, [BATCH, FEATURES]), b.labels, step)));
    opt.step();
    opt.zeroGrad();
    between?.(step, opt);
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

function withThreads<T>(model: Model, threads: number, run: (pool: DataParallel) => T): T {
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

test("replicas follow structure changes between steps: 2 threads still give the losses of 1 thread", () => {
  const spec = { sparse: { "0": 0.5, "2": 0.5 } };
  const steps = 12;
  const changeStructure = (model: Model) => (step: number, optimizer: Optimizer) => {
    if (step % 3 !== 2) return;
    for (const p of model.net.parameters()) if (p.sparse) dropAndGrow(p, optimizer);
  };
  const single = (() => {
    const model = tinyModel(spec);
    return trajectory(model, steps, oneThread(model), changeStructure(model));
  })();
  const model = tinyModel(spec);
  const before = model.net.parameters()[0].sparse!;
  const grownFrom = memory.buffer.byteLength;
  const parallel = withThreads(model, 2, (pool) => {
    // The main thread grows the memory after the workers started, so new structures land beyond what they first saw.
    const filler = alloc(grownFrom);
    try {
      return trajectory(model, steps, (x, labels, step) => pool.forwardBackward(x, labels, { step }).loss, changeStructure(model));
    } finally {
      free(filler, grownFrom);
    }
  });
  assert.ok(before.isDisposed, "the structure was replaced");
  assert.ok(model.net.parameters()[0].sparse!.rowPtrPtr >= grownFrom, "the new structure lies in memory grown after the workers started");
  assertClose(parallel, single, 1e-5);
});

test("dropout: each worker draws from its own stream, and 2-thread runs repeat exactly", () => {
  const spec = { dropout: 0.3 };
  const run = (threads: number) => {
    const model = tinyModel(spec);
    if (threads === 1) return trajectory(model, 6, oneThread(model));
    return withThreads(model, threads, (pool) => trajectory(model, 6, (x, labels, step) => pool.forwardBackward(x, labels, { step }).loss));
  };
  const first = run(2);
  assert.deepEqual(run(2), first);
  assert.notDeepEqual(first, run(1), "the worker's rows must not reuse the main thread's dropout stream");
});

test("batch norm: running statistics end as the average of the two halves' updates", () => {
  const [b] = batches(1);
  const spec = { batchNorm: true };
  const halfStatistics = (rows: [number, number]) => {
    const model = tinyModel(spec);
    model.net.train();
    tidy(() => model.net.forward(tensor(b.x.slice(rows[0] * FEATURES, rows[1] * FEATURES), [rows[1] - rows[0], FEATURES])));
    return model.net.buffers().map((buffer) => buffer.tensor.toArray());
  };
  const first = halfStatistics([0, BATCH / 2]);
  const second = halfStatistics([BATCH / 2, BATCH]);
  const model = tinyModel(spec);
  withThreads(model, 2, (pool) => [tidy(() => pool.forwardBackward(tensor(b.x, [BATCH, FEATURES]), b.labels, { step: 0 }).loss)]);
  model.net.buffers().forEach((buffer, i) => {
    const actual = buffer.tensor.toArray();
    actual.forEach((v, k) => {
      const expected = (first[i][k] + second[i][k]) / 2;
      assert.ok(Math.abs(v - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${buffer.name}[${k}]: ${v} vs ${expected}`);
    });
  });
  assert.equal(model.net.buffers().find((buffer) => buffer.name.endsWith("num_batches_tracked"))!.tensor.data[0], 1);
});

test("a batch too small to split runs on the main thread alone", () => {
  const model = tinyModel();
  const reference = tinyModel();
  const [b] = batches(1);
  const x = b.x.slice(0, FEATURES);
  const expected = tidy(() => oneThread(reference)(tensor(x, [1, FEATURES]), b.labels.subarray(0, 1)));
  const [loss] = withThreads(model, 2, (pool) => [tidy(() => pool.forwardBackward(tensor(x, [1, FEATURES]), b.labels.subarray(0, 1), { step: 0 }).loss)]);
  assert.equal(loss, expected);
});

test("a step with an armed gradient probe (RigL, SNFS) shows it the whole batch's x and dY, as one thread does", () => {
  const [b] = batches(1);
  // Arms the first layer's probe; returns what it saw (feature-major x and dY of the rows it ran on).
  const arm = (model: Model) => {
    const seen: { x: Float32Array; dy: Float32Array; rows: number }[] = [];
    (model.net.layers[0] as SparseLinear).growthProbe = (x, dy) => void seen.push({ x: x.toArray(), dy: dy.toArray(), rows: x.shape[1] });
    return seen;
  };
  const single = tinyModel({ sparse: { "0": 0.3 } });
  const fromOne = arm(single);
  tidy(() => oneThread(single)(tensor(b.x, [BATCH, FEATURES]), b.labels));
  const model = tinyModel({ sparse: { "0": 0.3 } });
  const fromTwo = withThreads(model, 2, (pool) => {
    const seen = arm(model);
    tidy(() => pool.forwardBackward(tensor(b.x, [BATCH, FEATURES]), b.labels, { step: 0 }));
    return seen;
  });
  assert.deepEqual(fromTwo.map((s) => s.rows), [BATCH]);
  assert.deepEqual(fromTwo, fromOne);
});

test("replicas follow a layer that changes kind, restarting the workers without growing the heap", { timeout: 60_000 }, () => {
  const steps = 12;
  // Every other step, the activation after the first layer switches between ReLU and Tanh (a new layer description).
  const switchActivation = (model: Model) => (step: number) => {
    if (step % 2 === 1) model.net.layers[1] = model.net.layers[1] instanceof ReLU ? new Tanh() : new ReLU();
  };
  const single = (() => {
    const model = tinyModel();
    return trajectory(model, steps, oneThread(model), switchActivation(model));
  })();
  const model = tinyModel();
  const inUse: number[] = [];
  const parallel = withThreads(model, 2, (pool) => trajectory(model, steps, (x, labels, step) => {
    const loss = pool.forwardBackward(x, labels, { step }).loss;
    inUse.push(heapStats().bytesInUse);
    return loss;
  }, switchActivation(model)));
  assertClose(parallel, single, 1e-5);
  // Each restart frees the old arenas before taking new ones: after the first step (gradients, optimizer state), use stays flat.
  assert.deepEqual(new Set(inUse.slice(1)).size, 1, `heap bytes in use per step: ${inUse.join(", ")}`);
});

test("a worker's error reaches the main thread with its message, and the pool closes", { timeout: 30_000 }, () => {
  const model = tinyModel();
  const pool = DataParallel.start(model, { threads: 2, seed: 0, batchSize: BATCH, timeoutMs: 20_000 });
  const [b] = batches(1);
  const labels = b.labels.slice();
  labels[BATCH - 1] = CLASSES + 4; // in the worker's half only
  assert.throws(() => tidy(() => pool.forwardBackward(tensor(b.x, [BATCH, FEATURES]), labels, { step: 7 })), /worker 1 failed at step 7: crossEntropy: label 9 in row 11 is out of range/);
  assert.throws(() => pool.forwardBackward(tensor(b.x, [BATCH, FEATURES]), b.labels, { step: 8 }), /after close/);
});

test("a worker that cannot start fails the start with its reason", { timeout: 30_000 }, () => {
  assert.throws(
    () => DataParallel.start(tinyModel(), { threads: 2, seed: 0, batchSize: BATCH, arenaBytes: 64 * 1024, timeoutMs: 20_000 }),
    /worker 1 failed to start: out of memory in a worker thread: its arena of 0.1 MiB is full/,
  );
  assert.throws(() => DataParallel.start(tinyModel(), { threads: 1, seed: 0, batchSize: BATCH }), /threads must be an integer >= 2, got 1/);
});

test("worker threads never keep the process alive, closed or not", { timeout: 60_000 }, () => {
  const module = new URL(`../../src/parallel/data-parallel.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url).href;
  const presets = module.replace(/parallel\/data-parallel\.(ts|js)$/, "nn/presets.$1");
  const tensors = module.replace(/parallel\/data-parallel\.(ts|js)$/, "tensor/tensor.$1");
  for (const close of [true, false]) {
    const script = `
      const { DataParallel } = await import(${JSON.stringify(module)});
      const { buildModel } = await import(${JSON.stringify(presets)});
      const { zeros } = await import(${JSON.stringify(tensors)});
      const model = buildModel({ preset: "mlp", widths: [8], inputShape: [4], classes: 3, seed: 0 });
      const pool = DataParallel.start(model, { threads: 2, seed: 0, batchSize: 4, timeoutMs: 20000 });
      const loss = pool.forwardBackward(zeros([4, 4]), new Int32Array([0, 1, 2, 0]), { step: 0 }).loss;
      ${close ? "pool.close();" : ""}
      console.log("loss", loss.toFixed(4));`;
    const loader = import.meta.url.endsWith(".ts") ? ["--import", "tsx"] : [];
    const child = spawnSync(process.execPath, [...loader, "--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(child.signal, null, `the process did not exit by itself (close: ${close}): ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^loss \d+\.\d{4}$/m, "the step ran");
  }
});
