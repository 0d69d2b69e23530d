// The command line on tiny data: train prints a JSON summary, info and eval read the checkpoint, bad input fails clearly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { noGrad } from "../../src/autograd/engine.js";
import { loadImageDataset } from "../../src/data/mnist.js";
import { applyNormalizer } from "../../src/data/normalize.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });

/**
 * Accuracy, mean cross-entropy and confusion matrix of a checkpoint on the MNIST test set, computed
 * here from the model's logits (float64 log-softmax, own argmax) rather than by `evaluate`.
 */
function independentEvaluation(checkpointPath: string): { accuracy: number; loss: number; confusion: number[][] } {
  const { model, normalizer } = loadCheckpoint(checkpointPath);
  const { test: data } = loadImageDataset("mnist");
  if (normalizer) applyNormalizer(normalizer, data);
  model.net.eval();
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let lossSum = 0, correct = 0;
  const batch = 500, size = data.featureSize;
  noGrad(() => {
    for (let start = 0; start < data.length; start += batch) {
      const rows = Math.min(batch, data.length - start);
      const logits = tidy(() => model.net.forward(tensor(data.features.subarray(start * size, (start + rows) * size), [rows, ...model.inputShape])).toArray());
      for (let r = 0; r < rows; r++) {
        const z = logits.slice(r * 10, r * 10 + 10);
        const label = data.labels[start + r];
        const top = z.reduce((best, v, k) => (v > z[best] ? k : best), 0);
        const max = z[top];
        lossSum += Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0)) - (z[label] - max);
        confusion[label][top]++;
        if (top === label) correct++;
      }
    }
  });
  return { accuracy: correct / data.length, loss: lossSum / data.length, confusion };
}

test("train → info → eval on a tiny MNIST subset", () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-"));
  const recipe = join(dir, "tiny.yaml");
  writeFileSync(recipe, [
    "name: tiny",
    "data: {limit: {train: 2000, test: 256}, batchSize: 64}",
    "model: {preset: lenet-300-100, sparse: {\"0\": {density: 0.1}}}",
    "optimizer: {name: sgd, lr: 0.05, momentum: 0.9}",
    "train: {epochs: 2}",
  ].join("\n"));
  const train = run("train", recipe, "--json", "--run-dir", join(dir, "run"), "--set", "optimizer.lr=0.1");
  assert.equal(train.status, 0, train.stderr);
  const summary = JSON.parse(train.stdout.trim().split("\n").at(-1)!);
  for (const key of ["test_accuracy", "test_loss", "params_total", "params_nonzero", "sparsity", "epochs", "seconds", "checkpoint"]) {
    assert.ok(key in summary, `summary lacks ${key}`);
  }
  assert.equal(summary.params_total, 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
  assert.ok(summary.test_accuracy > 0.7, `accuracy ${summary.test_accuracy}`);

  const info = run("info", summary.checkpoint, "--json");
  assert.equal(info.status, 0, info.stderr);
  const layers = JSON.parse(info.stdout).layers as { name: string; storage: string; stored: number }[];
  assert.equal(layers[0].storage, "csr");
  assert.equal(layers[0].stored, Math.round(0.1 * 784 * 300));
  const infoSummary = JSON.parse(info.stdout);
  assert.equal(infoSummary.sparsity, summary.sparsity);

  const evaluation = run("eval", summary.checkpoint, "--json");
  assert.equal(evaluation.status, 0, evaluation.stderr);
  const evaluated = JSON.parse(evaluation.stdout.trim().split("\n").at(-1)!);
  assert.equal(evaluated.examples, 10000);
  const expected = independentEvaluation(summary.checkpoint);
  assert.equal(evaluated.test_accuracy, expected.accuracy);
  assert.ok(Math.abs(evaluated.test_loss - expected.loss) < 1e-5 * expected.loss, `eval loss ${evaluated.test_loss}, recomputed ${expected.loss}`);
  assert.ok(expected.accuracy > 0.7, `accuracy ${expected.accuracy}`);
  // The printed confusion matrix: 10 rows of 10 counts, rows = true class.
  const printed = evaluation.stdout.split("\n").filter((l) => /^(\s+\d+){10}$/.test(l)).map((l) => l.trim().split(/\s+/).map(Number));
  assert.deepEqual(printed, expected.confusion);
});

test("a recipe error names the file, line and field, and exits non-zero", () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-bad-"));
  const recipe = join(dir, "bad.yaml");
  writeFileSync(recipe, "model:\n  preset: lenet-300-100\noptimizer:\n  lr: fast\n  momentm: 0.9\n");
  const r = run("train", recipe);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.yaml:4:\d+: optimizer\.lr: expected a number > 0/);
  assert.match(r.stderr, /bad\.yaml:5:\d+: .*momentm/);
  const missing = run("info", join(dir, "nope.safetensors"));
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nope\.safetensors/);
});
