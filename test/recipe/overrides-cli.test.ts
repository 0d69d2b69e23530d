// --set through the command line: an epoch recipe becomes a short step run, and `key=null` brings back a default.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });

/** A tiny epoch recipe: 230 training examples in batches of 64 (4 steps per epoch). */
function epochRecipe(): { dir: string; recipe: string } {
  const dir = mkdtempSync(join(tmpdir(), "cli-set-"));
  const recipe = join(dir, "epochs.yaml");
  writeFileSync(recipe, [
    "name: epochs",
    "data: {limit: {train: 256, test: 64}, batchSize: 64}",
    "model: {preset: mlp, widths: [16]}",
    "train: {epochs: 5}",
  ].join("\n"));
  return { dir, recipe };
}

function summaryOf(result: ReturnType<typeof run>): { steps: number; epochs: number; run_dir: string } {
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

test("train <epoch recipe> --set train.steps=2 runs two steps", () => {
  const { dir, recipe } = epochRecipe();
  const summary = summaryOf(run("train", recipe, "--json", "--quiet", "--run-dir", join(dir, "run"), "--set", "train.steps=2"));
  assert.equal(summary.steps, 2);
  const log = readFileSync(join(summary.run_dir, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(log.at(-1).final, true);
  assert.equal(log.at(-1).step, 2);
});

test("train --set train.epochs=null trains the default 10 epochs; a bad --set still fails naming it", () => {
  const { dir, recipe } = epochRecipe();
  const summary = summaryOf(run("train", recipe, "--json", "--quiet", "--run-dir", join(dir, "run"), "--set", "train.epochs=null"));
  assert.equal(summary.epochs, 10);
  assert.equal(summary.steps, 40);
  const bad = run("train", recipe, "--run-dir", join(dir, "bad"), "--set", "train.steps=0");
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--set train\.steps=0: train\.steps: expected an integer >= 1, got 0/);
});
