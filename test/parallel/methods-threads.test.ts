// Every sparsity method of the shipped recipes at train.threads 1 and 2: the same losses (to float summation order), the same non-zeros per layer, and for RigL and SNFS the same drop and grow sets.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { validateRecipe } from "../../src/recipe/load.js";
import type { TrainerHooks } from "../../src/train/hooks.js";
import { runRecipe } from "../../src/train/run.js";

const root = mkdtempSync(join(tmpdir(), "methods-threads-"));
// 300 examples in batches of 50: 6 steps per epoch, 12 in the 2 epochs of every run.
const UPDATE_EVERY = 3;

const recipe = (sparsity: object, threads: number, overrides: object = {}) => validateRecipe({
  name: "methods-threads",
  seed: 3,
  data: { dataset: "mnist", validation: 0, limit: { train: 300, test: 100 }, batchSize: 50 },
  model: { preset: "mlp", widths: [32, 20] },
  optimizer: { name: "sgd", lr: 0.1, momentum: 0.9 },
  train: { epochs: 2, threads },
  output: { checkpointEvery: 0 },
  sparsity,
  ...overrides,
});

/** Non-zero weights per layer of a checkpoint (CSR values, dense and masked weights alike). */
function nonZerosPerLayer(checkpoint: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, t] of readSafetensors(checkpoint).tensors) {
    if (!name.endsWith(".weight") && !name.endsWith(".weight.values")) continue;
    counts[name.replace(/\.values$/, "")] = (t.values as Float32Array).reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
  }
  return counts;
}

/** Flat positions (row·cols + col) of a CSR weight's stored entries. */
function positions(p: NamedParameter): Set<number> {
  const m = p.sparse!;
  const out = new Set<number>();
  for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) out.add(r * m.cols + m.colIdx[k]);
  return out;
}

/** The positions each sparse weight dropped and grew at the first structure update (step UPDATE_EVERY). */
function swapRecorder(): { hook: TrainerHooks; swaps: Record<string, { dropped: number[]; grown: number[] }> } {
  const before = new Map<string, Set<number>>();
  const swaps: Record<string, { dropped: number[]; grown: number[] }> = {};
  const hook: TrainerHooks = {
    name: "swap-recorder",
    // Runs before the method's own afterStep: the structure the update starts from.
    afterStep(ctx) {
      if (ctx.step !== UPDATE_EVERY) return;
      for (const p of ctx.parameters) if (p.sparse) before.set(p.name, positions(p));
    },
    beforeStep(ctx) {
      if (ctx.step !== UPDATE_EVERY) return;
      for (const p of ctx.parameters) {
        if (!p.sparse) continue;
        const old = before.get(p.name)!, now = positions(p);
        swaps[p.name] = {
          dropped: [...old].filter((x) => !now.has(x)).sort((a, b) => a - b),
          grown: [...now].filter((x) => !old.has(x)).sort((a, b) => a - b),
        };
      }
    },
  };
  return { hook, swaps };
}

interface Case {
  name: string;
  sparsity: object;
  overrides?: object;
  /** Compare the drop and grow sets of the first update. */
  swaps?: boolean;
  /** A log line showing that the structure changed while the workers ran (e.g. a conversion to CSR). */
  changes?: RegExp;
}

const dynamic = { density: 0.1, updateEvery: UPDATE_EVERY };
const fineTune = { fineTune: { epochs: 1 }, threshold: 0.03 };
const csr = /now stored and computed as CSR/;
const fixed = /zeros fixed; fine-tuning[\s\S]*: csr, /;
const folded = /gates folded, zeros fixed; fine-tuning/;
const gateLearningRate = (pattern: string) => ({ optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, paramGroups: [{ pattern, lr: 50 }] } });

const cases: Case[] = [
  { name: "static ERK", sparsity: { method: "static", density: 0.1, distribution: "erk" } },
  { name: "static SNIP", sparsity: { method: "static", density: 0.1, init: "snip", distribution: "uniform" } },
  { name: "set", sparsity: { method: "set", ...dynamic } },
  { name: "rigl", sparsity: { method: "rigl", ...dynamic }, swaps: true },
  { name: "snfs", sparsity: { method: "snfs", ...dynamic }, swaps: true },
  { name: "dsr", sparsity: { method: "dsr", ...dynamic } },
  // Pruning events inside the run (step > 0), so that the workers must follow the conversions to CSR.
  { name: "one-shot", sparsity: { method: "one-shot", sparsity: 0.8, step: 2 }, changes: csr },
  { name: "N:M 2:4", sparsity: { method: "one-shot", nm: "2:4", step: 2 }, changes: csr },
  { name: "structured shrink", sparsity: { method: "one-shot", sparsity: 0.4, structure: "neurons", exclude: ["layers.4"], step: 2 }, changes: /removed \d+ units of layers\.0/ },
  { name: "iterative", sparsity: { method: "iterative", sparsity: 0.6, rounds: 2, roundEpochs: 1, firstEpoch: 0 }, changes: csr },
  { name: "lottery", sparsity: { method: "lottery", sparsity: 0.8, rounds: 2, roundEpochs: 1, rewindStep: 0 }, changes: csr },
  { name: "gmp", sparsity: { method: "gmp", finalSparsity: 0.8, beginStep: 2, endStep: 10, frequency: 2 }, changes: csr },
  { name: "l1", sparsity: { method: "l1", lambda: 1e-4, ...fineTune }, changes: fixed },
  { name: "prox-l1", sparsity: { method: "prox-l1", lambda: 0.006, ...fineTune }, changes: fixed },
  { name: "group-lasso", sparsity: { method: "group-lasso", structure: "neurons", lambda: 0.01, exclude: ["layers.4"], ...fineTune }, changes: fixed },
  { name: "sigmoid-gates", sparsity: { method: "sigmoid-gates", lambda: 1e-4, pruneBelow: 0.5, fineTune: { epochs: 1 } }, overrides: gateLearningRate("*.gate_scores"), changes: folded },
  { name: "l0", sparsity: { method: "l0", lambda: 1e-4, fineTune: { epochs: 1 } }, overrides: gateLearningRate("*.log_alpha"), changes: folded },
];

function run(c: Case, threads: number) {
  const losses: number[] = [];
  const recorder = swapRecorder();
  const lines: string[] = [];
  const summary = runRecipe(recipe(c.sparsity, threads, c.overrides), "methods-threads.yaml", {
    runDir: join(root, `${c.name.replace(/\W+/g, "-")}-${threads}`),
    hooks: c.swaps ? [recorder.hook] : [],
    onStep: ({ loss }) => losses.push(loss),
    log: (line) => lines.push(line),
  });
  return { losses, swaps: recorder.swaps, nonZeros: nonZerosPerLayer(summary.checkpoint), lines };
}

for (const c of cases) {
  test(`${c.name}: threads 2 give the losses and non-zeros of threads 1`, { timeout: 60_000 }, () => {
    const single = run(c, 1);
    const parallel = run(c, 2);
    assert.equal(parallel.losses.length, 12);
    assert.equal(single.losses.length, 12);
    if (c.swaps) {
      const names = Object.keys(single.swaps);
      assert.ok(names.length > 0 && names.every((n) => single.swaps[n].grown.length > 0), `the first update swaps connections: ${JSON.stringify(single.swaps)}`);
      for (const name of names) {
        assert.deepEqual(parallel.swaps[name].dropped, single.swaps[name].dropped, `${name}: dropped at step ${UPDATE_EVERY}`);
        assert.deepEqual(parallel.swaps[name].grown, single.swaps[name].grown, `${name}: grown at step ${UPDATE_EVERY}`);
      }
    }
    parallel.losses.forEach((loss, i) => assert.ok(Math.abs(loss - single.losses[i]) <= 1e-5 * single.losses[i], `step ${i + 1}: ${loss} (2 threads) vs ${single.losses[i]} (1 thread)`));
    assert.deepEqual(parallel.nonZeros, single.nonZeros);
    if (c.changes) assert.ok(parallel.lines.some((l) => c.changes!.test(l)), `no structure change in the log:\n${parallel.lines.join("\n")}`);
  });
}
