// `sparsetrain sensitivity` end to end on a tiny trained checkpoint: rows and budgets as JSON, the table, a YAML overrides file, clear errors, the checkpoint untouched.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { checkpointTestSet } from "../../src/cli/checkpoint-commands.js";
import { sensitivityCommand, DEFAULT_GRID } from "../../src/cli/sensitivity-command.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { evaluate } from "../../src/train/evaluate.js";
import { roundHalfEven } from "../../src/sparse/selectors.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

/** Runs the CLI without blocking, so that independent runs overlap. */
function run(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** LeNet-300-100 trained for one short epoch on 1000 MNIST images. */
function trainedCheckpoint(): string {
  const dir = mkdtempSync(join(tmpdir(), "sensitivity-cli-"));
  const recipe = join(dir, "tiny.yaml");
  writeFileSync(recipe, [
    "name: tiny",
    "data: {limit: {train: 1000, test: 100}, batchSize: 50}",
    "model: {preset: lenet-300-100}",
    "optimizer: {name: sgd, lr: 0.1, momentum: 0.9}",
    "train: {epochs: 1}",
  ].join("\n"));
  const r = spawnSync(process.execPath, [cli, "train", recipe, "--quiet", "--json", "--run-dir", join(dir, "run")], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!).checkpoint;
}

/**
 * Accuracy and loss of the checkpoint on its first `limit` test examples with the `zeros[layer]`
 * smallest |w| of each listed weight set to zero, computed here by sorting the weights.
 */
function prunedByMagnitude(checkpoint: string, limit: number, zeros: Record<string, number>): { accuracy: number; loss: number } {
  const loaded = loadCheckpoint(checkpoint);
  for (const [layer, count] of Object.entries(zeros)) {
    const w = loaded.model.net.parameters().find((p) => p.name === layer)!.tensor.data;
    const order = Array.from(w.keys()).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
    for (const i of order.slice(0, count)) w[i] = 0;
  }
  const { accuracy, loss } = evaluate(loaded.model, checkpointTestSet(loaded, { limit }).test);
  return { accuracy, loss };
}

const sizes: Record<string, number> = { "layers.0.weight": 784 * 300, "layers.2.weight": 300 * 100, "layers.4.weight": 100 * 10 };
const total = 784 * 300 + 300 * 100 + 100 * 10;

test("sensitivity: JSON rows and exact budgets, the table, a YAML overrides file; bad input fails clearly; the checkpoint is never written", async () => {
  const checkpoint = trainedCheckpoint();
  const original = readFileSync(checkpoint);
  const dir = dirname(checkpoint);
  const yamlOut = join(dir, "budgets.yaml");
  const never = join(dir, "never.yaml");
  // Checked before anything is loaded: in-process here; the spawned runs below show the non-zero exit.
  const defaults = { grid: DEFAULT_GRID, criterion: "magnitude", include: [], exclude: [] };
  const errors: [Partial<Parameters<typeof sensitivityCommand>[1]>, RegExp][] = [
    [{ grid: "0.5,1.5" }, /--grid: every sparsity must be in \[0, 1\], got 1\.5/],
    [{ grid: "0.5,,0.9" }, /--grid must be comma-separated sparsities in \[0, 1\], e\.g\. 0\.5,0\.9, got ""/],
    [{ target: "1" }, /--target must be in \[0, 1\), got 1/],
    [{ target: "lots" }, /--target must be a global sparsity in \[0, 1\), got "lots"/],
    [{ maxDrop: "2" }, /--max-drop must be in \[0, 1\]/],
    [{ criterion: "taylor" }, /--criterion taylor needs gradients/],
    [{ criterion: "size" }, /--criterion must be one of magnitude, random, got "size"/],
    [{ limit: "0" }, /--limit must be an integer >= 1, got 0/],
    [{ out: never }, /--out writes budgets: give --target or --max-drop too/],
    [{ target: "0.5", out: checkpoint }, /--out must differ from the checkpoint/],
  ];
  for (const [options, message] of errors) assert.throws(() => sensitivityCommand(checkpoint, { ...defaults, ...options }), message);
  const corrupt = join(dir, "corrupt.safetensors");
  writeFileSync(corrupt, "not a safetensors file at all");

  const [json, text, missing, broken, badGrid] = await Promise.all([
    run("sensitivity", checkpoint, "--limit", "200", "--grid", "0.9,0.5", "--target", "0.8", "--out", yamlOut, "--json"),
    run("sensitivity", checkpoint, "--limit", "100", "--grid", "0.5,0.95", "--max-drop", "0.05", "--exclude", "layers.4"),
    run("sensitivity", join(dir, "missing.safetensors")),
    run("sensitivity", corrupt),
    run("sensitivity", checkpoint, "--grid", "0.5,1.5", "--out", never),
  ]);

  assert.equal(json.status, 0, json.stderr);
  const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const rows = lines.slice(0, -1), summary = lines.at(-1);
  assert.equal(rows.length, 3 * 2);
  rows.forEach((row, i) => {
    assert.equal(row.layer, Object.keys(sizes)[Math.floor(i / 2)]);
    assert.equal(row.sparsity, [0.5, 0.9][i % 2]);
    assert.equal(row.zeros, roundHalfEven(row.sparsity * sizes[row.layer]));
    const expected = prunedByMagnitude(checkpoint, 200, { [row.layer]: row.zeros });
    assert.equal(row.accuracy, expected.accuracy, `${row.layer} at ${row.sparsity}`);
    assert.ok(Math.abs(row.loss - expected.loss) <= 1e-6 * expected.loss, `${row.layer} at ${row.sparsity}: loss ${row.loss}, recomputed ${expected.loss}`);
  });
  assert.equal(summary.examples, 200);
  assert.equal(summary.dataset, "mnist");
  assert.ok(summary.baseline_accuracy > 0.5, `baseline ${summary.baseline_accuracy}: the checkpoint should be trained`);
  assert.equal(summary.budgets.requested, roundHalfEven(0.8 * total));
  assert.equal(summary.budgets.pruned, summary.budgets.requested);
  const budgetZeros = summary.budgets.layers.map((l: { zeros: number }) => l.zeros);
  assert.equal(budgetZeros.reduce((a: number, b: number) => a + b, 0), roundHalfEven(0.8 * total));
  const together = prunedByMagnitude(checkpoint, 200, Object.fromEntries(summary.budgets.layers.map((l: { layer: string; zeros: number }) => [l.layer, l.zeros])));
  assert.equal(summary.together.accuracy, together.accuracy);
  assert.ok(Math.abs(summary.together.loss - together.loss) <= 1e-6 * together.loss, `together: loss ${summary.together.loss}, recomputed ${together.loss}`);
  // The YAML overrides make the pruner's target mode prune exactly the budgeted counts.
  const overrides = parse(readFileSync(yamlOut, "utf8")).overrides as Record<string, number>;
  assert.deepEqual(Object.keys(overrides), Object.keys(sizes));
  Object.entries(overrides).forEach(([layer, s], i) => assert.equal(roundHalfEven(s * sizes[layer]), budgetZeros[i], layer));

  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /mnist test, 100 examples: baseline accuracy \d+\.\d\d%/);
  assert.match(text.stdout, /layer +params +now +50% +95%\n/);
  assert.match(text.stdout, /layers\.0\.weight +235200 +0\.00% +\d+\.\d\d% +\d+\.\d\d%\n/);
  assert.doesNotMatch(text.stdout, /layers\.4\.weight/);
  assert.match(text.stdout, /budgets for at most 5\.00% accuracy lost per layer/);
  assert.match(text.stdout, /total: \d+ of 265200 weights pruned \(\d+\.\d\d%\); all these layers pruned together: accuracy/);

  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /missing\.safetensors/);
  assert.notEqual(broken.status, 0);
  assert.match(broken.stderr, /corrupt\.safetensors/);
  assert.notEqual(badGrid.status, 0);
  assert.match(badGrid.stderr, /--grid: every sparsity must be in \[0, 1\], got 1\.5/);
  assert.ok(!existsSync(never));
  assert.deepEqual(readFileSync(checkpoint), original);
});
