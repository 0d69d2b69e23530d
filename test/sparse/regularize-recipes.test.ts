// Regularization methods end to end through recipes on tiny MNIST: exact zeros in the checkpoint, zeros fixed while fine-tuning, bad options, and bit-identical resume.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readSafetensors } from "../../src/io/safetensors.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { runRecipe, type RunSummary } from "../../src/train/run.js";
import { assertSameCheckpoint, messageOf, storedCounts } from "../helpers/checkpoint-files.js";

const root = mkdtempSync(join(tmpdir(), "regularize-recipes-"));
const EPOCHS = 3;
const FINE_TUNE_FROM = 2; // fineTune: {epochs: 1} of 3: the zeros are fixed after epoch 2

const recipe = (sparsity: object, overrides: object = {}) => validateRecipe({
  name: "regularize-test",
  seed: 1,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 600, test: 200 }, batchSize: 50 },
  model: { preset: "mlp", widths: [32] },
  optimizer: { name: "sgd", lr: 0.1, momentum: 0.9 },
  train: { epochs: EPOCHS },
  output: { checkpointEvery: 1 },
  sparsity,
  ...overrides,
});

interface StoredWeight {
  storage: "dense" | "masked" | "csr";
  /** The weight as a dense row-major array (zeros where CSR stores nothing). */
  dense: Float32Array;
  shape: [number, number];
  /** Values a CSR weight stores (empty for dense). */
  stored: Float32Array;
  mask: Float32Array | null;
}

/** Every weight of a checkpoint, read from the file itself (not through the loader). */
function storedWeights(path: string): Map<string, StoredWeight> {
  const { tensors, metadata } = readSafetensors(path);
  const sparseShapes = JSON.parse(metadata.sparse) as Record<string, [number, number]>;
  const out = new Map<string, StoredWeight>();
  for (const [name, t] of tensors) {
    if (name.endsWith(".weight")) {
      const mask = tensors.get(`${name}_mask`);
      out.set(name, {
        storage: mask ? "masked" : "dense", dense: Float32Array.from(t.values as Float32Array), shape: t.shape as [number, number],
        stored: new Float32Array(0), mask: mask ? Float32Array.from(mask.values as Uint8Array) : null,
      });
    } else if (name.endsWith(".weight.values")) {
      const base = name.replace(".values", "");
      const [rows, cols] = sparseShapes[base];
      const rowPtr = Array.from(tensors.get(`${base}.crow_indices`)!.values as BigInt64Array, Number);
      const colIdx = Array.from(tensors.get(`${base}.col_indices`)!.values as BigInt64Array, Number);
      const values = t.values as Float32Array;
      const dense = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) dense[r * cols + colIdx[p]] = values[p];
      out.set(base, { storage: "csr", dense, shape: [rows, cols], stored: Float32Array.from(values), mask: null });
    }
  }
  return out;
}

/** Gates need a far larger step than weights: their data gradient is a weight times its gradient. */
const gateLearningRate = (pattern: string, lr = 100) => ({ optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, paramGroups: [{ pattern, lr }] } });

const zeroCount = (w: StoredWeight) => w.dense.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);

const runs = new Map<string, { summary: RunSummary; lines: string[]; dir: string }>();

interface MethodRun { key: string; sparsity: { method: string } & Record<string, unknown>; overrides?: object; minSparsity: number }

/** Runs a recipe once per key (tests below share the uninterrupted runs). */
function runOnce({ key, sparsity, overrides }: MethodRun) {
  let run = runs.get(key);
  if (run === undefined) {
    const lines: string[] = [];
    const dir = join(root, key);
    const summary = runRecipe(recipe(sparsity, overrides), "regularize-test.yaml", { runDir: dir, log: (l) => lines.push(l) });
    runs.set(key, (run = { summary, lines, dir }));
  }
  return run;
}

const methods: MethodRun[] = [
  { key: "l1", sparsity: { method: "l1", lambda: 5e-4, threshold: 0.01, fineTune: { epochs: 1 } }, minSparsity: 0.1 },
  { key: "prox-l1", sparsity: { method: "prox-l1", lambda: 0.03, fineTune: { epochs: 1 } }, minSparsity: 0.6 },
  { key: "group-lasso", sparsity: { method: "group-lasso", lambda: 0.03, structure: "inputs", fineTune: { epochs: 1 } }, minSparsity: 0.4 },
  // Per-neuron sigmoid gates: a neuron's gate sees the data gradient of all its weights, so the
  // penalty closes some gates and not others (per-weight gates trained from scratch for 3 epochs
  // close all-or-none: at λ = 0.004 0.2% of the weights, at 0.005 99%).
  {
    key: "sigmoid-gates-neuron",
    sparsity: { method: "sigmoid-gates", lambda: 0.02, granularity: "neuron", exclude: ["layers.2"], fineTune: { epochs: 1 } },
    overrides: gateLearningRate("*.gate_scores", 30),
    minSparsity: 0.4,
  },
  { key: "l0", sparsity: { method: "l0", lambda: 1e-3, fineTune: { epochs: 1 } }, overrides: gateLearningRate("*.log_alpha"), minSparsity: 0.5 },
  {
    key: "l0-neuron",
    sparsity: { method: "l0", lambda: 0.3, granularity: "neuron", initialDropRate: 0.8, exclude: ["layers.2"], fineTune: { epochs: 1 } },
    minSparsity: 0.2,
  },
];
const method = (key: string) => methods.find((m) => m.key === key)!;

for (const m of methods) {
  const { key, sparsity, minSparsity } = m;
  test(`${key}: trains, and the final checkpoint's sparsity is the zero count of its stored weights`, () => {
    const { summary, lines } = runOnce(m);
    assert.ok(summary.test_accuracy > (key === "l0-neuron" ? 0.3 : 0.6), `test accuracy ${summary.test_accuracy}`);
    const counts = storedCounts(summary.checkpoint);
    assert.equal(counts.total, summary.params_total);
    assert.equal(counts.nonzero, summary.params_nonzero);
    assert.equal(summary.sparsity, 1 - counts.nonzero / counts.total);

    const weights = storedWeights(summary.checkpoint);
    assert.deepEqual([...weights.keys()].sort(), ["layers.0.weight", "layers.2.weight"], "gates are folded: only plain weights remain");
    const report = lines.filter((l) => l.startsWith(`${sparsity.method}: per-layer sparsity`)).at(-1);
    assert.ok(report !== undefined, lines.join("\n"));
    let zeros = 0, total = 0;
    for (const [name, w] of weights) {
      if (!report.includes(name)) continue; // excluded
      // The log's per-layer report is what the checkpoint holds.
      const size = w.dense.length;
      assert.ok(report.includes(`${name}: ${w.storage}, ${size - zeroCount(w)}/${size} non-zero`), `${name} (${w.storage}, ${zeroCount(w)} zeros) in\n${report}`);
      // A CSR weight stores no zeros; a masked weight is zero wherever its mask is.
      assert.ok(w.stored.every((v) => v !== 0), `${name} stores exact zeros`);
      if (w.mask) w.mask.forEach((m, i) => m === 0 && assert.equal(w.dense[i], 0, `${name}[${i}] is masked but ${w.dense[i]}`));
      // Layers at or below csrBelow (default 0.5) density are CSR, the others not.
      assert.equal(w.storage === "csr", 1 - zeroCount(w) / size <= 0.5, `${name} is ${w.storage} at density ${1 - zeroCount(w) / size}`);
      zeros += zeroCount(w);
      total += size;
    }
    assert.ok(zeros / total >= minSparsity, `sparsity of the regularized weights ${zeros / total}, expected >= ${minSparsity}`);
  });

  test(`${key}: the zeros at the start of fine-tuning stay zero, the penalty stops, the rest keeps training`, () => {
    const { summary, lines, dir } = runOnce(m);
    const start = storedWeights(join(dir, `epoch-${FINE_TUNE_FROM}.safetensors`));
    const final = storedWeights(summary.checkpoint);
    let fixed = 0, moved = 0;
    for (const [name, w] of start) {
      const end = final.get(name)!.dense;
      if (zeroCount(w) > 0) assert.ok(w.storage === "csr" || w.storage === "masked", `${name} has ${zeroCount(w)} zeros but is ${w.storage}`);
      w.dense.forEach((v, i) => {
        if (v === 0) {
          assert.equal(end[i], 0, `${name}[${i}] was zero when fine-tuning began, is ${end[i]} at the end`);
          fixed++;
        } else if (end[i] !== v) moved++;
      });
    }
    assert.ok(moved > 1000, `only ${moved} non-zero weights changed while fine-tuning`);
    if (minSparsity >= 0.2) {
      assert.ok(fixed > 0.2 * 25088, `${fixed} zeros when fine-tuning began`);
      // Without the penalty (and with threshold 0) no new zero appears.
      const after = [...final.values()].reduce((n, w) => n + zeroCount(w), 0);
      assert.equal(after, fixed);
    }
    assert.ok(lines.some((l) => l.startsWith(`${sparsity.method}: after epoch ${FINE_TUNE_FROM}`) && l.includes("zeros fixed")), lines.join("\n"));
    assert.ok(!lines.some((l) => l.startsWith(`${sparsity.method}: epoch ${EPOCHS},`)), "no penalty in the fine-tuning epoch");
    if (sparsity.method === "l0" || sparsity.method === "sigmoid-gates") {
      const gates = [...readSafetensors(join(dir, "epoch-1.safetensors")).tensors.keys()].filter((n) => /log_alpha|gate_scores/.test(n)).sort();
      const gated = key.endsWith("-neuron") ? ["layers.0"] : ["layers.0", "layers.2"];
      assert.deepEqual(gates, gated.map((l) => `${l}.${sparsity.method === "l0" ? "log_alpha" : "gate_scores"}`), "gated before fine-tuning");
    }
  });
}

test("group lasso over inputs zeroes whole columns of a Linear weight", () => {
  const { summary } = runOnce(method("group-lasso"));
  const w = storedWeights(summary.checkpoint).get("layers.0.weight")!;
  const [rows, cols] = w.shape;
  let zeroColumns = 0;
  for (let c = 0; c < cols; c++) {
    const zeros = Array.from({ length: rows }, (_, r) => w.dense[r * cols + c] === 0).filter(Boolean).length;
    assert.ok(zeros === 0 || zeros === rows, `column ${c} is partly zero (${zeros}/${rows})`);
    if (zeros === rows) zeroColumns++;
  }
  assert.ok(zeroColumns > 300, `${zeroColumns} of ${cols} inputs removed`);
});

test("bad regularization options are recipe errors naming the option and what is allowed", () => {
  const message = (sparsity: object) => messageOf(() => recipe(sparsity));
  assert.match(message({ method: "prox-l1", lambda: 0 }), /sparsity\.lambda: expected a number > 0, got 0/);
  assert.match(message({ method: "l0", lambda: -0.5 }), /sparsity\.lambda: expected a number > 0, got -0\.5/);
  assert.match(message({ method: "l1", lambda: 0.01, fineTune: { epochs: 0 } }), /sparsity\.fineTune\.epochs: expected an integer >= 1, got 0/);
  assert.match(message({ method: "l0", lambda: 0.01, stretch: [0.1, 1.1] }), /sparsity\.stretch\[0\]: expected γ < 0, got 0\.1/);
  assert.match(message({ method: "l0", lambda: 0.01, stretch: [0, 1.1] }), /sparsity\.stretch\[0\]: expected γ < 0, got 0/);
  assert.match(message({ method: "l0", lambda: 0.01, stretch: [-0.1, 1] }), /sparsity\.stretch\[1\]: expected ζ > 1, got 1/);
  assert.match(message({ method: "l0", lambda: 0.01, initialDropRate: 1 }), /sparsity\.initialDropRate: expected a number in \(0, 1\), got 1/);
  assert.match(message({ method: "sigmoid-gates", lambda: 0.01, granularity: "filter" }), /sparsity\.granularity: expected one of weight \| neuron, got "filter"/);
  assert.match(message({ method: "group-lasso", lambda: 0.01 }), /sparsity\.structure: expected one of neurons \| filters \| inputs \| channels, but it is missing/);
});

test("options that only the model or the run's length can refute are errors before training, naming the option", () => {
  const run = (sparsity: object, overrides: object = {}) => messageOf(() =>
    runRecipe(recipe(sparsity, { output: { checkpointEvery: 0 }, ...overrides }), "bad.yaml", { runDir: join(root, "bad") }));
  assert.match(run({ method: "prox-l1", lambda: 0.01, fineTune: { epochs: EPOCHS } }),
    new RegExp(`sparsity\\.fineTune\\.epochs: expected an integer < ${EPOCHS} \\(the run's epochs\\), got ${EPOCHS}`));
  assert.match(run({ method: "l0", lambda: 0.01, fineTune: { epochs: EPOCHS + 2 } }),
    new RegExp(`sparsity\\.fineTune\\.epochs: expected an integer < ${EPOCHS} \\(the run's epochs\\), got ${EPOCHS + 2}`));
  assert.match(run({ method: "l1", lambda: 0.01, exclude: ["layers.7"] }),
    /sparsity\.exclude: "layers\.7" matches no prunable weight \(prunable: layers\.0\.weight, layers\.2\.weight\)/);
  assert.match(run({ method: "l0", lambda: 0.01, exclude: ["layers.*"] }), /sparsity\.exclude: every prunable weight is excluded/);
  assert.match(run({ method: "sigmoid-gates", lambda: 0.01 }, { model: { preset: "mlp", widths: [32], sparse: { "0": { density: 0.2 } } } }),
    /sparsity\.granularity: per-weight gates need dense layers, but layers\.0 \(.*\) is stored as CSR; use granularity: neuron or exclude: \[layers\.0\]/);
});

// NOTE: the L0 run resumed here uses no optimizer.paramGroups for its gates: after the gates are
// folded, a pattern like "*.log_alpha" matches no parameter and the resumed run cannot build its optimizer.
for (const [key, from] of [["prox-l1", 1], ["prox-l1", 2], ["l0-neuron", 2]] as const) {
  test(`${key}: a run resumed from epoch ${from}${from >= FINE_TUNE_FROM ? " (fine-tuning began)" : ""} ends bit-identical to the uninterrupted run`, () => {
    const straight = runOnce(method(key));
    const lines: string[] = [];
    const resumed = runRecipe(recipe(method(key).sparsity, method(key).overrides), "regularize-test.yaml", {
      runDir: join(root, `${key}-resumed-${from}`), resume: join(straight.dir, `epoch-${from}.safetensors`), log: (l) => lines.push(l),
    });
    assert.equal(resumed.steps, straight.summary.steps);
    assert.equal(resumed.test_loss, straight.summary.test_loss);
    assertSameCheckpoint(straight.summary.checkpoint, resumed.checkpoint);
    // The resumed run fixes the zeros exactly once, in the epoch the uninterrupted run did.
    assert.equal(lines.filter((l) => l.includes("zeros fixed")).length, from < FINE_TUNE_FROM ? 1 : 0);
  });
}
