// The command line on tiny data: train prints a JSON summary, info and eval read the checkpoint, bad input fails clearly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });

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
  assert.equal(JSON.parse(evaluation.stdout.trim().split("\n").at(-1)!).examples, 10000);
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
