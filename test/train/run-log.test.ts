// The run logs of real tiny runs (RigL, GMP, proximal L1, L0): every line kind and field, update counts equal to the connections really swapped or pruned, layer counts equal to `info`'s, mask snapshots of the checkpoints, and a resumed run's logs equal to an uninterrupted one's.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { infoCommand } from "../../src/cli/checkpoint-commands.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { validateRecipe } from "../../src/recipe/load.js";
import type { TrainerHooks } from "../../src/train/hooks.js";
import { isLayerWeight } from "../../src/nn/layer-stats.js";
import { maskLayers } from "../../src/train/mask-snapshot.js";
import { runRecipe, type RunSummary } from "../../src/train/run.js";

const root = mkdtempSync(join(tmpdir(), "run-log-"));
/** 600 MNIST examples, 10% for validation: 540 train, 11 batches of 50 per epoch. */
const STEPS_PER_EPOCH = 11;
const TRAIN_EXAMPLES = 540;
const EPOCHS = 3;

const recipe = (sparsity: object, overrides: object = {}) => validateRecipe({
  name: "run-log-test",
  seed: 1,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 600, test: 200 }, batchSize: 50 },
  model: { preset: "mlp", widths: [32] },
  optimizer: { name: "sgd", lr: 0.1, momentum: 0.9 },
  train: { epochs: EPOCHS },
  output: { checkpointEvery: 1 },
  sparsity,
  ...overrides,
});

const methods: Record<string, { sparsity: object; overrides?: object }> = {
  rigl: { sparsity: { method: "rigl", density: 0.1, updateEvery: 4 } },
  gmp: { sparsity: { method: "gmp", finalSparsity: 0.8, endStep: 25, frequency: 5 } },
  "prox-l1": { sparsity: { method: "prox-l1", lambda: 0.03, fineTune: { epochs: 1 } } },
  l0: {
    sparsity: { method: "l0", lambda: 1e-3, fineTune: { epochs: 1 } },
    overrides: { optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, paramGroups: [{ pattern: "*.log_alpha", lr: 100 }] } },
  },
};

type Line = Record<string, any>;
const readLines = (path: string): Line[] => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));

type Changes = Map<number, Map<string, { dropped: number; grown: number }>>;

/**
 * A hook (run before the method's) that reads every weight's alive positions at the start of each
 * step: what changed between the starts of steps t and t + 1 happened during step t.
 */
function structureWatcher(): { hook: TrainerHooks; changes: Changes } {
  const changes: Changes = new Map();
  let previous: Map<string, Set<number>> | null = null;
  const positions = (params: NamedParameter[]) => new Map(params.filter(isLayerWeight).map((p) => [p.name, alivePositions(p)]));
  return {
    changes,
    hook: {
      beforeStep(ctx) {
        const now = positions(ctx.parameters);
        if (previous !== null) {
          const step = new Map<string, { dropped: number; grown: number }>();
          for (const [name, set] of now) {
            const before = previous.get(name)!;
            let dropped = 0, grown = 0;
            for (const p of before) if (!set.has(p)) dropped++;
            for (const p of set) if (!before.has(p)) grown++;
            if (dropped + grown > 0) step.set(name, { dropped, grown });
          }
          if (step.size > 0) changes.set(ctx.step, step);
        }
        previous = now;
      },
    },
  };
}

/** Row-major positions a weight stores: CSR entries, mask ones, or every entry (a gated layer's weight too). */
function alivePositions(p: NamedParameter): Set<number> {
  const out = new Set<number>();
  if (p.sparse) {
    const m = p.sparse;
    for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) out.add(r * m.cols + m.colIdx[k]);
  } else {
    const mask = p.mask?.data;
    for (let i = 0; i < p.tensor.size; i++) if (mask === undefined || mask[i] !== 0) out.add(i);
  }
  return out;
}

/** `sparsetrain info --json` on a checkpoint: its weight rows (biases and gates left out). */
function infoLayers(path: string): Line[] {
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    infoCommand(path, { json: true });
  } finally {
    process.stdout.write = write;
  }
  return (JSON.parse(out).layers as Line[]).filter((l) => /\.weight$/.test(l.name) && (l.kind === "Linear" || l.kind === "Conv2d"))
    .map(({ name, kind, shape, storage, stored, nonzero, density }) => ({ name, layer: kind, shape, storage, stored, nonzero, density }));
}

/** The rows `info` would print for the dense weights of a checkpoint, counted from the file's tensors. */
function denseWeightRows(path: string): Line[] {
  return [...readSafetensors(path).tensors].filter(([name]) => name.endsWith(".weight")).map(([name, t]) => {
    let nonzero = 0;
    for (const v of t.values as Float32Array) if (v !== 0) nonzero++;
    return { name, layer: "Linear", shape: t.shape, storage: "dense", stored: t.values.length, nonzero, density: nonzero / t.values.length };
  });
}

const runs = new Map<string, { summary: RunSummary; dir: string; changes: Changes }>();
function runOnce(key: string) {
  let run = runs.get(key);
  if (run === undefined) {
    const dir = join(root, key);
    const watcher = structureWatcher();
    const summary = runRecipe(recipe(methods[key].sparsity, methods[key].overrides), "run-log-test.yaml", { runDir: dir, hooks: [watcher.hook] });
    runs.set(key, (run = { summary, dir, changes: watcher.changes }));
  }
  return run;
}

const sumShape = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

for (const key of Object.keys(methods)) {
  test(`${key}: start, epoch, update and final lines carry every field; layer counts are info's on the checkpoints`, () => {
    const { summary, dir, changes } = runOnce(key);
    const lines = readLines(join(dir, "metrics.jsonl"));
    assert.deepEqual([...new Set(lines.map((l) => l.kind))].filter((k) => k !== "update"), ["start", "epoch", "final"]);
    assert.equal(lines[0].kind, "start");
    assert.equal(lines.at(-1)!.kind, "final");

    const start = lines[0];
    assert.equal(start.version, 2);
    assert.equal(start.name, "run-log-test");
    assert.equal(start.step, 0);
    assert.equal(start.resumed, undefined);
    assert.equal(start.method, key);
    assert.equal(start.dataset, "mnist");
    assert.deepEqual(start.inputShape, [1, 28, 28]);
    assert.equal(start.classes, 10);
    assert.equal(start.trainExamples, TRAIN_EXAMPLES);
    assert.equal(start.stepsPerEpoch, STEPS_PER_EPOCH);
    assert.equal(start.totalSteps, EPOCHS * STEPS_PER_EPOCH);
    assert.equal(start.epochs, EPOCHS);
    assert.equal(start.threads, 1);
    assert.equal(start.recipe.sparsity.method, key);
    assert.ok(!Number.isNaN(Date.parse(start.time)));
    assert.deepEqual(start.layers.map((l: Line) => l.name), ["layers.0.weight", "layers.2.weight"]);

    const epochs = lines.filter((l) => l.kind === "epoch");
    assert.deepEqual(epochs.map((e) => [e.epoch, e.step]), [[1, 11], [2, 22], [3, 33]]);
    for (const e of epochs) {
      for (const field of ["trainLoss", "trainAccuracy", "valLoss", "valAccuracy", "seconds", "lr", "samplesPerSecond", "sparsity"]) {
        assert.equal(typeof e[field], "number", `epoch ${e.epoch}: ${field}`);
      }
      assert.ok(!Number.isNaN(Date.parse(e.time)));
      assert.ok(Math.abs(e.samplesPerSecond * e.seconds - TRAIN_EXAMPLES) < 1e-6 * TRAIN_EXAMPLES, `${e.samplesPerSecond} examples/s over ${e.seconds} s`);
      // The epoch's layer counts are what `info` prints for the checkpoint written after it (a
      // checkpoint with L0 gates does not load: its weights are read from the file).
      const checkpoint = join(dir, `epoch-${e.epoch}.safetensors`);
      assert.deepEqual(e.layers, key === "l0" && e.epoch === 1 ? denseWeightRows(checkpoint) : infoLayers(checkpoint), `epoch ${e.epoch}`);
      const total = e.layers.reduce((s: number, l: Line) => s + sumShape(l.shape), 0);
      const nonzero = e.layers.reduce((s: number, l: Line) => s + l.nonzero, 0);
      assert.equal(e.sparsity, 1 - nonzero / total);
      const regularized = key === "prox-l1" || key === "l0";
      assert.equal(typeof e.lambda, regularized ? "number" : "undefined", `epoch ${e.epoch}: lambda`);
      assert.equal(typeof e.zeroFraction, regularized ? "number" : "undefined", `epoch ${e.epoch}: zeroFraction`);
      // L0's gates are folded into the weights when fine-tuning starts (after epoch 2).
      assert.equal(typeof e.gatesOpen, key === "l0" && e.epoch < 2 ? "number" : "undefined", `epoch ${e.epoch}: gatesOpen`);
    }
    if (key === "prox-l1" || key === "l0") {
      assert.ok(epochs[0].lambda > 0 && epochs[2].lambda === 0, "λ applies until fine-tuning (the last epoch)");
      if (key === "prox-l1") {
        // Proximal L1 makes exact zeros in both layers; they are the epoch's zero fraction.
        const zeros = epochs[1].layers.reduce((s: number, l: Line) => s + sumShape(l.shape) - l.nonzero, 0);
        const total = epochs[1].layers.reduce((s: number, l: Line) => s + sumShape(l.shape), 0);
        assert.ok(epochs[1].zeroFraction > 0.1);
        assert.equal(epochs[1].zeroFraction, zeros / total);
      }
      if (key === "l0") assert.ok(epochs[0].gatesOpen > 0 && epochs[0].gatesOpen <= 1);
    }

    const final = lines.at(-1)!;
    assert.equal(final.final, true);
    assert.equal(final.step, summary.steps);
    assert.equal(final.test_accuracy, summary.test_accuracy);
    assert.equal(final.test_loss, summary.test_loss);
    assert.deepEqual(final.confusion, summary.confusion);
    assert.equal(final.params_total, summary.params_total);
    assert.equal(final.params_nonzero, summary.params_nonzero);
    assert.equal(final.sparsity, summary.sparsity);
    assert.equal(typeof final.seconds, "number");
    assert.deepEqual(final.layers, infoLayers(summary.checkpoint));

    // Updates: exactly the structure changes the watcher saw, step by step and layer by layer.
    const updates = lines.filter((l) => l.kind === "update");
    const logged: Changes = new Map(updates.map((u) => [u.step, new Map(u.layers.filter((l: Line) => l.dropped + l.grown > 0).map((l: Line) => [l.name, { dropped: l.dropped, grown: l.grown }]))]));
    for (const [step, m] of [...logged]) if (m.size === 0) logged.delete(step);
    assert.deepEqual(logged, changes);
    if (key === "rigl" || key === "gmp") assert.ok(changes.size >= 3, `${changes.size} structure changes`);
    // Regularizers change the structure once: the zeros are fixed when fine-tuning starts (after epoch 2).
    else assert.deepEqual(updates.map((u) => [u.step, u.epoch]), [[22, 2]]);
    for (const u of updates) {
      assert.equal(u.method, key);
      assert.equal(u.epoch, Math.ceil(u.step / STEPS_PER_EPOCH));
      for (const l of u.layers) assert.equal(l.density, l.nnz / sumShape(start.layers.find((s: Line) => s.name === l.name).shape));
      if (key === "rigl") {
        assert.ok(u.dropFraction > 0 && u.dropFraction <= 0.3 && u.sparsity === undefined);
        // RigL keeps each layer's count: as many grown as dropped.
        for (const l of u.layers) assert.equal(l.dropped, l.grown);
      } else {
        assert.ok(u.sparsity >= 0 && u.sparsity <= (key === "gmp" ? 0.8 : 1) && u.dropFraction === undefined);
        assert.ok(u.layers.every((l: Line) => l.grown === 0));
      }
    }
    if (key === "gmp") assert.ok(Math.abs(updates.at(-1)!.sparsity - 0.8) < 1e-3, `last gmp sparsity ${updates.at(-1)!.sparsity}`);
  });

  test(`${key}: masks.jsonl holds the start, middle (epoch 2) and end snapshots, equal to those of the checkpoints`, () => {
    const { summary, dir } = runOnce(key);
    const masks = readLines(join(dir, "masks.jsonl"));
    assert.deepEqual(masks.map((m) => [m.kind, m.phase, m.step, m.epoch]), [["mask", "start", 0, 0], ["mask", "middle", 22, 2], ["mask", "end", 33, 3]]);
    assert.deepEqual(masks[1].layers, maskLayers(loadCheckpoint(join(dir, "epoch-2.safetensors")).model));
    assert.deepEqual(masks[2].layers, maskLayers(loadCheckpoint(summary.checkpoint).model));
    for (const m of masks) {
      assert.deepEqual(m.layers.map((l: Line) => [l.name, l.rows, l.cols, l.grid.rows, l.grid.cols]), [["layers.0.weight", 32, 784, 32, 61], ["layers.2.weight", 10, 32, 10, 32]]);
      assert.equal(m.layers[0].inputs.density.length, 784);
      assert.deepEqual(m.layers[0].inputs.shape, [28, 28]);
    }
    if (key === "rigl") {
      // 10% of the first layer: the mean cell density is the layer's density.
      const grid = masks[0].layers[0].grid.density as number[];
      assert.ok(Math.abs(grid.reduce((a, b) => a + b, 0) / grid.length - 0.1) < 0.02);
    }
  });
}

/** Lines without the fields that depend on the clock. */
const timeless = (lines: Line[]) => lines.map(({ time, seconds, samplesPerSecond, ...rest }) => rest);

for (const [key, epoch] of [["rigl", 1], ["gmp", 1], ["prox-l1", 1]] as const) {
  test(`${key}: a run resumed from epoch ${epoch} in its folder writes the same logs as the uninterrupted run, plus a start line saying so`, () => {
    const { dir } = runOnce(key);
    const copy = join(root, `${key}-resumed`);
    cpSync(dir, copy, { recursive: true });
    runRecipe(recipe(methods[key].sparsity, methods[key].overrides), "run-log-test.yaml", { runDir: copy, resume: join(copy, `epoch-${epoch}.safetensors`) });
    const straight = readLines(join(dir, "metrics.jsonl"));
    const resumed = readLines(join(copy, "metrics.jsonl"));
    const extra = resumed.filter((l) => l.kind === "start" && l.resumed !== undefined);
    assert.equal(extra.length, 1);
    assert.equal(extra[0].resumed, join(copy, `epoch-${epoch}.safetensors`));
    assert.equal(extra[0].step, epoch * STEPS_PER_EPOCH);
    assert.deepEqual(timeless(resumed.filter((l) => l !== extra[0])), timeless(straight));
    assert.deepEqual(readLines(join(copy, "masks.jsonl")), readLines(join(dir, "masks.jsonl")));
  });
}

test("rigl with threads: 2 writes the logs of threads: 1", () => {
  const { dir } = runOnce("rigl");
  const threaded = join(root, "rigl-threads");
  runRecipe(recipe(methods.rigl.sparsity, { train: { epochs: EPOCHS, threads: 2 } }), "run-log-test.yaml", { runDir: threaded });
  const a = readLines(join(dir, "metrics.jsonl")), b = readLines(join(threaded, "metrics.jsonl"));
  // The threads sum their shares of a batch's loss in another order: the numbers agree to rounding.
  assert.deepEqual(b.map((l) => [l.kind, l.step]), a.map((l) => [l.kind, l.step]));
  assert.equal(b[0].threads, 2);
  for (let i = 0; i < a.length; i++) {
    if (a[i].kind === "epoch") assert.ok(Math.abs(a[i].trainLoss - b[i].trainLoss) < 1e-5, `epoch ${a[i].epoch}: ${a[i].trainLoss} vs ${b[i].trainLoss}`);
    if (a[i].kind === "update") assert.deepEqual(b[i].layers.map((l: Line) => [l.dropped, l.grown, l.nnz]), a[i].layers.map((l: Line) => [l.dropped, l.grown, l.nnz]));
  }
  assert.equal(readLines(join(threaded, "masks.jsonl")).length, 3);
});
