// A run resumed from a checkpoint continues bit-identically to the uninterrupted run.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { runRecipe } from "../../src/train/run.js";

const recipe = (overrides: object = {}) => validateRecipe({
  name: "resume-test",
  seed: 3,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 600, test: 200 }, batchSize: 64 },
  model: { preset: "mlp", widths: [32, 16], dropout: 0.1, sparse: { "0": { density: 0.2 } } },
  optimizer: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
  schedule: { name: "cosine", unit: "step", warmup: { length: 5 } },
  train: { epochs: 3 },
  output: { checkpointEvery: 1 },
  ...overrides,
});

test("resuming from epoch 1 gives bit-identical weights and metrics to an uninterrupted run", () => {
  const root = mkdtempSync(join(tmpdir(), "resume-"));
  const straight = runRecipe(recipe(), "resume-test.yaml", { runDir: join(root, "straight") });
  const resumed = runRecipe(recipe(), "resume-test.yaml", { runDir: join(root, "resumed"), resume: join(root, "straight", "epoch-1.safetensors") });
  assert.equal(resumed.steps, straight.steps);
  assert.equal(resumed.test_loss, straight.test_loss);
  const a = readSafetensors(straight.checkpoint).tensors, b = readSafetensors(resumed.checkpoint).tensors;
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of a) assert.deepEqual(Buffer.from(b.get(name)!.values.buffer), Buffer.from(t.values.buffer), `tensor ${name} differs`);
  // The metrics log of the resumed run continues with epochs 2 and 3 only.
  const epochs = readFileSync(join(root, "resumed", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.epoch).map((r) => r.epoch);
  assert.deepEqual(epochs, [2, 3]);
  // The checkpoint holds the sparse layer as torch CSR tensors and reloads to the same model.
  assert.ok(a.has("layers.0.weight.crow_indices") && a.has("layers.0.weight.col_indices") && a.has("layers.0.weight.values"));
  assert.equal(a.get("layers.0.weight.crow_indices")!.dtype, "I64");
  const loaded = loadCheckpoint(straight.checkpoint);
  assert.equal(loaded.step, straight.steps);
  assert.ok(straight.sparsity > 0.5, `sparsity ${straight.sparsity}`);
});
