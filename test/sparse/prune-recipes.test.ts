// Pruning flows end to end through recipes on tiny MNIST: one-shot (sparsity, 2:4), iterative (layer, global) and GMP counts at every event, zeros kept, CSR and masks in checkpoints, bad options.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runRecipe, type RunSummary } from "../../src/train/run.js";
import { messageOf, storedCounts } from "../helpers/checkpoint-files.js";
import {
  assertCountsFollow, keptAt, recipe, roundHalfEven, STEPS_PER_EPOCH, storedWeights, watchPruning, type StoredWeight,
} from "../helpers/pruned-runs.js";

const root = mkdtempSync(join(tmpdir(), "prune-recipes-"));

let dense: string | undefined;
/** A dense model trained one epoch, the starting point of the one-shot and iterative runs (model.initFrom). */
function denseCheckpoint(): string {
  if (dense === undefined) {
    const summary = runRecipe(recipe(undefined, { train: { epochs: 1 }, output: { checkpointEvery: 0 } }), "dense.yaml", { runDir: join(root, "dense") });
    assert.equal(summary.steps, STEPS_PER_EPOCH);
    dense = summary.checkpoint;
  }
  return dense;
}

/** The summary's sparsity is the checkpoint's: non-zeros of every stored parameter over the dense twin's count. */
function assertSummaryMatchesCheckpoint(summary: RunSummary): void {
  const counts = storedCounts(summary.checkpoint);
  assert.equal(summary.params_total, counts.total);
  assert.equal(summary.params_nonzero, counts.nonzero);
  assert.equal(summary.sparsity, 1 - counts.nonzero / counts.total);
}

/** Layers at or below `csrBelow` density are CSR in the checkpoint, the others masked (or dense when nothing was pruned). */
function assertStorage(weights: Map<string, StoredWeight>, csrBelow: number): void {
  for (const [name, w] of weights) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const expected = w.alive / size <= csrBelow ? "csr" : w.alive < size ? "masked" : "dense";
    assert.equal(w.storage, expected, `${name} at density ${w.alive / size}`);
  }
}

const magnitudes = (values: Float32Array, keep: (i: number) => boolean) => {
  const kept: number[] = [], dropped: number[] = [];
  values.forEach((v, i) => (keep(i) ? kept : dropped).push(Math.abs(v)));
  return { minKept: Math.min(...kept), maxDropped: Math.max(...dropped) };
};

test("one-shot at step 0 from a dense checkpoint: exact counts, largest weights kept, mask fixed through SGD with momentum and weight decay", () => {
  const initial = storedWeights(denseCheckpoint());
  const { hook, history } = watchPruning((ctx, weights) => {
    if (ctx.step !== 0) return;
    for (const p of ctx.parameters.filter((q) => q.name.endsWith(".weight"))) {
      // The survivors are the largest weights of the dense model, unchanged.
      const start = initial.get(p.name)!.dense;
      const alive = new Set(p.sparse ? [] : [...p.mask!.data.keys()].filter((i) => p.mask!.data[i] === 1));
      if (p.sparse) for (let r = 0; r < p.sparse.rows; r++) for (let k = p.sparse.rowPtr[r]; k < p.sparse.rowPtr[r + 1]; k++) alive.add(r * p.sparse.cols + p.sparse.colIdx[k]);
      const { minKept, maxDropped } = magnitudes(start, (i) => alive.has(i));
      assert.ok(minKept >= maxDropped, `${p.name}: dropped |w| ${maxDropped} > kept ${minKept}`);
      assert.equal(weights.get(p.name)!.alive, alive.size);
    }
  });
  const lines: string[] = [];
  // 0.7001953125 · 25088 = 17566.5 and 0.2890625 · 320 = 92.5: torch's round prunes 17566 and 92 (half to even).
  const summary = runRecipe(recipe({ method: "one-shot", sparsity: 0.7001953125, overrides: { "layers.2": 0.2890625 } }, {
    model: { preset: "mlp", widths: [32], initFrom: denseCheckpoint() }, train: { epochs: 2 },
  }), "one-shot.yaml", { runDir: join(root, "one-shot"), hooks: [hook], log: (l) => lines.push(l) });

  const sparsityOf = (name: string) => (name === "layers.2.weight" ? 0.2890625 : 0.7001953125);
  assert.equal(history.length, 2 * STEPS_PER_EPOCH);
  assertCountsFollow(history, [0], (_, name, size) => keptAt(sparsityOf(name), size));
  assert.equal(history[0].weights.get("layers.0.weight")!.storage, "csr", "density 0.3 <= csrBelow 0.5: CSR before the first forward pass");
  assert.equal(history[0].weights.get("layers.2.weight")!.storage, "masked");
  assert.equal(lines.filter((l) => l.startsWith("one-shot step")).length, 1, lines.join("\n"));

  const weights = storedWeights(summary.checkpoint);
  assert.equal(weights.get("layers.0.weight")!.alive, 25088 - 17566);
  assert.equal(weights.get("layers.2.weight")!.alive, 320 - 92);
  assertStorage(weights, 0.5);
  assertSummaryMatchesCheckpoint(summary);
  assert.ok(summary.test_accuracy > 0.6, `test accuracy ${summary.test_accuracy}`);
});

test('one-shot nm "2:4" with AdamW: every 4 consecutive inputs of each output keep exactly 2, masked zeros stay zero', () => {
  const initial = storedWeights(denseCheckpoint());
  const { hook, history } = watchPruning();
  const summary = runRecipe(recipe({ method: "one-shot", nm: "2:4", csrBelow: 0.4 }, {
    model: { preset: "mlp", widths: [32], initFrom: denseCheckpoint() }, train: { epochs: 2 },
    optimizer: { name: "adamw", lr: 0.003, weightDecay: 0.05 },
  }), "nm.yaml", { runDir: join(root, "nm"), hooks: [hook] });
  assertCountsFollow(history, [0], (_, __, size) => size / 2);

  const weights = storedWeights(summary.checkpoint);
  assertStorage(weights, 0.4);
  for (const [name, w] of weights) {
    assert.equal(w.storage, "masked", name);
    const [rows, cols] = w.shape;
    const start = initial.get(name)!.dense;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c += 4) {
      const group = [0, 1, 2, 3].map((j) => r * cols + c + j);
      const kept = group.filter((i) => w.dense[i] !== 0);
      assert.equal(kept.length, 2, `${name} row ${r} inputs ${c}..${c + 3}: ${kept.length} non-zero`);
      // The two kept are the two largest of the dense model's group.
      const { minKept, maxDropped } = magnitudes(Float32Array.from(group, (i) => start[i]), (j) => kept.includes(group[j]));
      assert.ok(minKept >= maxDropped, `${name} row ${r} inputs ${c}..${c + 3}`);
    }
  }
  assertSummaryMatchesCheckpoint(summary);
  assert.ok(summary.test_accuracy > 0.6, `test accuracy ${summary.test_accuracy}`);
});

/** Han et al.: after event k of `rounds`, the sparsity is 1 − (1 − s)^(k/rounds). */
const iterativeTarget = (s: number, rounds: number, k: number) => (k === 0 ? 0 : 1 - (1 - s) ** (k / rounds));

test("iterative, layer scope: after round k each weight keeps exactly n − round(n·(1 − (1 − s)^(k/rounds))); ends CSR at the target", () => {
  const { hook, history } = watchPruning();
  const lines: string[] = [];
  const s = 0.9, rounds = 3;
  const summary = runRecipe(recipe({ method: "iterative", sparsity: s, rounds, roundEpochs: 1 }, {
    model: { preset: "mlp", widths: [32], initFrom: denseCheckpoint() }, train: { epochs: 4 },
  }), "iterative.yaml", { runDir: join(root, "iterative"), hooks: [hook], log: (l) => lines.push(l) });
  const events = [0, 1, 2].map((r) => r * STEPS_PER_EPOCH);
  const round = (step: number) => events.filter((e) => e <= step).length;
  assertCountsFollow(history, events, (step, _, size) => keptAt(iterativeTarget(s, rounds, round(step)), size));
  assert.deepEqual(lines.filter((l) => l.startsWith("iterative step")).map((l) => Number(/step (\d+)/.exec(l)![1])), events);

  const weights = storedWeights(summary.checkpoint);
  assert.equal(weights.get("layers.0.weight")!.alive, keptAt(s, 25088));
  assert.equal(weights.get("layers.2.weight")!.alive, keptAt(s, 320));
  assertStorage(weights, 0.5);
  assertSummaryMatchesCheckpoint(summary);
});

test("iterative, global scope: the pooled weights keep exactly the pooled target at every round; an override layer its own", () => {
  const { hook, history } = watchPruning();
  const s = 0.8, rounds = 2, override = 0.5;
  const summary = runRecipe(recipe({ method: "iterative", sparsity: s, rounds, roundEpochs: 1, scope: "global", overrides: { "layers.4.weight": override } }, {
    model: { preset: "mlp", widths: [64, 32] }, train: { epochs: 3 },
  }), "global.yaml", { runDir: join(root, "global"), hooks: [hook] });
  const events = [0, STEPS_PER_EPOCH];
  for (const { step, weights } of history) {
    const target = iterativeTarget(s, rounds, events.filter((e) => e <= step).length);
    const pool = ["layers.0.weight", "layers.2.weight"].map((n) => weights.get(n)!);
    const size = pool.reduce((a, w) => a + w.size, 0);
    assert.equal(pool.reduce((a, w) => a + w.alive, 0), keptAt(target, size), `pooled alive at step ${step}`);
    // Overrides are final sparsities, scaled along with the schedule.
    assert.equal(weights.get("layers.4.weight")!.alive, keptAt(Math.min(1, (override * target) / s), 320), `layers.4 at step ${step}`);
  }
  // One ranking over the pool: the layers end at different densities.
  const last = history.at(-1)!.weights;
  const densities = ["layers.0.weight", "layers.2.weight"].map((n) => last.get(n)!.alive / last.get(n)!.size);
  assert.ok(Math.abs(densities[0] - densities[1]) > 0.02, `densities ${densities}`);

  const weights = storedWeights(summary.checkpoint);
  assert.equal(weights.get("layers.0.weight")!.alive + weights.get("layers.2.weight")!.alive, keptAt(s, 50176 + 2048));
  assert.equal(weights.get("layers.4.weight")!.alive, keptAt(override, 320));
  assertStorage(weights, 0.5);
  assertSummaryMatchesCheckpoint(summary);
});

test("gmp: at every event the counts follow s_t = s_f + (s_i − s_f)(1 − (t − t0)/(t_end − t0))³, through AdamW; the final sparsity is exact", () => {
  const { hook, history } = watchPruning();
  const lines: string[] = [];
  const si = 0.2, sf = 0.85, t0 = 3, t1 = 30, frequency = 6;
  const summary = runRecipe(recipe({ method: "gmp", initialSparsity: si, finalSparsity: sf, beginStep: t0, endStep: t1, frequency }, {
    optimizer: { name: "adamw", lr: 0.003, weightDecay: 0.05 },
  }), "gmp.yaml", { runDir: join(root, "gmp"), hooks: [hook], log: (l) => lines.push(l) });
  // t0, t0 + Δt, … and endStep, which the frequency does not land on.
  const events = [3, 9, 15, 21, 27, 30];
  const cubic = (t: number) => sf + (si - sf) * (1 - (t - t0) / (t1 - t0)) ** 3;
  const targetAt = (step: number) => {
    const last = events.filter((e) => e <= step).at(-1);
    return last === undefined ? 0 : cubic(last);
  };
  assert.equal(history.length, 3 * STEPS_PER_EPOCH);
  assertCountsFollow(history, events, (step, _, size) => keptAt(targetAt(step), size));
  assert.deepEqual(lines.filter((l) => l.startsWith("gmp step")).map((l) => Number(/step (\d+)/.exec(l)![1])), events);
  // The targets are not trivially equal to rounding the final: each event prunes a different count.
  const counts = events.map((t) => roundHalfEven(cubic(t) * 25088));
  assert.equal(new Set(counts).size, events.length, `${counts}`);

  const weights = storedWeights(summary.checkpoint);
  assert.equal(weights.get("layers.0.weight")!.alive, keptAt(sf, 25088));
  assert.equal(weights.get("layers.2.weight")!.alive, keptAt(sf, 320));
  assertStorage(weights, 0.5);
  assertSummaryMatchesCheckpoint(summary);
});

test("bad prune options are recipe errors naming the option and what is allowed", () => {
  const message = (sparsity: object) => messageOf(() => recipe(sparsity));
  assert.match(message({ method: "one-shot", sparsity: 1.5 }), /sparsity\.sparsity: expected a number in \[0, 1\], got 1\.5/);
  assert.match(message({ method: "iterative", sparsity: -0.1, rounds: 2, roundEpochs: 1 }), /sparsity\.sparsity: expected a number in \[0, 1\], got -0\.1/);
  assert.match(message({ method: "gmp", finalSparsity: 1.2, endStep: 10 }), /sparsity\.finalSparsity: expected a number in \[0, 1\], got 1\.2/);
  assert.match(message({ method: "gmp", finalSparsity: 0.5, beginStep: 10, endStep: 10 }), /sparsity\.endStep: expected an integer > beginStep \(10\), got 10/);
  assert.match(message({ method: "one-shot", sparsity: 0.5, overrides: { "layers.0": 2 } }), /sparsity\.overrides\.layers\.0: expected a number in \[0, 1\], got 2/);
  assert.match(message({ method: "one-shot", sparsity: 0.5, nm: "2:4" }), /sparsity\.nm: expected either sparsity or nm, not both/);
  assert.match(message({ method: "one-shot" }), /sparsity\.sparsity: expected a number in \[0, 1\] \(or nm: "N:M"\), but it is missing/);
  assert.match(message({ method: "one-shot", nm: "4:2" }), /sparsity\.nm: expected N:M with 1 <= N <= M, e\.g\. "2:4", got "4:2"/);
  assert.match(message({ method: "one-shot", sparsity: 0.5, structure: "rows" }), /sparsity\.structure: expected one of neurons \| inputs \| filters \| channels, got "rows"/);
});

/** Runs a recipe that must fail before its first step; returns the message. */
function failsBeforeTraining(sparsity: object, model: object = { preset: "mlp", widths: [32] }): string {
  let steps = 0;
  const message = messageOf(() => runRecipe(recipe(sparsity, { model, output: { checkpointEvery: 0 } }), "bad.yaml", { runDir: join(root, "bad"), onStep: () => steps++ }));
  assert.equal(steps, 0, `${message}: raised after ${steps} steps`);
  return message;
}

const laterGmp = { method: "gmp", finalSparsity: 0.5, beginStep: 20, endStep: 30 };

test("patterns and structures the model refutes are errors before the first step (not at the first event), naming the option and what is allowed", () => {
  assert.match(failsBeforeTraining({ ...laterGmp, structure: "filters" }), /sparsity\.structure filters: the model has no selected Conv2d weights \(structures of Linear: neurons, inputs\)/);
  assert.match(failsBeforeTraining({ ...laterGmp, structure: "channels", include: ["layers.0"] }),
    /sparsity\.structure channels applies to Conv2d weights, but layers\.0\.weight is Linear \(structures of Linear: neurons, inputs\)/);
  assert.match(failsBeforeTraining({ ...laterGmp, include: ["layers.9"] }), /sparsity\.include: "layers\.9" matches no prunable weight \(prunable: layers\.0\.weight, layers\.2\.weight\)/);
  assert.match(failsBeforeTraining({ ...laterGmp, overrides: { "layers.1": 0.5 } }), /sparsity\.overrides: "layers\.1" matches no prunable weight/);
  assert.match(failsBeforeTraining({ ...laterGmp, exclude: ["*"] }), /sparsity\.exclude: every prunable weight is excluded/);
});

test("N:M and lottery options the model or the epoch length refute are errors before the first step", () => {
  assert.match(failsBeforeTraining({ method: "one-shot", nm: "2:3" }),
    /sparsity\.nm 2:3: M = 3 does not divide the 784 inputs per output of layers\.0\.weight \(Linear \[32,784\]\); exclude it or pick M dividing 784/);
  assert.match(failsBeforeTraining({ method: "one-shot", step: 15, nm: "2:8", exclude: ["layers.0"] }, { preset: "mlp", widths: [20] }),
    /sparsity\.nm 2:8: M = 8 does not divide the 20 inputs per output of layers\.2\.weight/);
  assert.match(failsBeforeTraining({ method: "lottery", sparsity: 0.5, rounds: 2, roundEpochs: 1, rewindStep: 12 }),
    /sparsity\.rewindStep: expected a step <= 11, the first pruning event \(firstEpoch 1 × 11 steps per epoch\), got 12/);
  assert.match(failsBeforeTraining({ method: "lottery", sparsity: 0.5, rounds: 2, roundEpochs: 1, structure: "neurons" }),
    /sparsity\.shrink: lottery rewinding needs the shapes it saved; set shrink: false to prune neurons with rewinding/);
});
