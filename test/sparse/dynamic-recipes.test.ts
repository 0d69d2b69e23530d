// Sparse training from scratch through recipes: every method end to end on tiny MNIST, exact budgets in the checkpoint, bad options, and a bit-identical RigL resume.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readSafetensors } from "../../src/io/safetensors.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { runRecipe } from "../../src/train/run.js";

const root = mkdtempSync(join(tmpdir(), "sparse-recipes-"));

const recipe = (sparsity: object, overrides: object = {}) => validateRecipe({
  name: "sparse-test",
  seed: 1,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 800, test: 300 }, batchSize: 50 },
  model: { preset: "mlp", widths: [64, 32] },
  optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
  train: { epochs: 3 },
  output: { checkpointEvery: 0 },
  sparsity,
  ...overrides,
});

/** Non-zeros of each weight in a checkpoint: CSR values count for sparse weights, size for dense ones. */
function storedWeights(checkpoint: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, t] of readSafetensors(checkpoint).tensors) {
    if (name.endsWith(".weight.values")) counts[name.replace(".values", "")] = t.shape[0];
    else if (name.endsWith(".weight")) counts[name] = t.shape.reduce((a: number, b: number) => a * b, 1);
  }
  return counts;
}

// mlp 784-64-32-10: 50,176 + 2,048 + 320 = 52,544 weights; 5% of them = 2,627.
const budget = Math.round(0.05 * 52544);

const methods = [
  { method: "static" },
  { method: "static", init: "snip", distribution: "uniform" },
  { method: "set", updateEvery: 5 },
  { method: "rigl", updateEvery: 5 },
  { method: "snfs", updateEvery: 5 },
  { method: "dsr", updateEvery: 5 },
];

// Eight epochs: a 5%-dense net needs them to learn (at 3 every method, the dense net included, is
// near 0.6 on these 800 examples). Measured over seeds 1-3: 0.69-0.75 (RigL, the lowest) to 0.83;
// the dense net 0.77-0.80. A swap that drops the largest weights instead of the smallest gives 0.14
// (at 3 epochs).
const MIN_ACCURACY = 0.65;

for (const m of methods) {
  test(`runRecipe trains ${JSON.stringify(m)} at 5% density, learns, and stores exactly the budget`, () => {
    const lines: string[] = [];
    const summary = runRecipe(recipe({ density: 0.05, initScale: "sparse", ...m }, { train: { epochs: 8 } }), "sparse-test.yaml", { runDir: join(root, JSON.stringify(m).replace(/\W+/g, "-")), log: (l) => lines.push(l) });
    const counts = storedWeights(summary.checkpoint);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    assert.equal(total, budget, JSON.stringify(counts));
    assert.ok(summary.test_accuracy >= MIN_ACCURACY, `test accuracy ${summary.test_accuracy}, expected >= ${MIN_ACCURACY}`);
    assert.ok(lines.some((l) => /erk|uniform/.test(l) && l.includes(`${budget} of 52544`)), lines.join("\n"));
    if (m.method !== "static") assert.ok(lines.some((l) => /structure update\(s\), [1-9]\d* connections regrown/.test(l)), lines.join("\n"));
  });
}

test("bad sparsity options are errors naming the option and what is allowed", () => {
  const message = (sparsity: object) => {
    try {
      recipe(sparsity);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assert.match(message({ method: "rigl", density: 1.5 }), /sparsity\.density: expected a density in \(0, 1\], got 1\.5/);
  assert.match(message({ method: "rigl", density: 0 }), /sparsity\.density: expected a density in \(0, 1\], got 0/);
  assert.match(message({ method: "set", density: 0.1, updateEvery: 0 }), /sparsity\.updateEvery: expected an integer >= 1, got 0/);
  assert.match(message({ method: "snfs", density: 0.1, dropFraction: 1 }), /sparsity\.dropFraction: expected a number in \[0, 1\), got 1/);
  assert.match(message({ method: "dsr", density: 0.1, dropFraction: -0.1 }), /sparsity\.dropFraction: expected a number in \[0, 1\)/);
  assert.match(message({ method: "rigl", density: 0.1, distribution: "gaussian" }), /sparsity\.distribution: expected one of uniform \| erdos-renyi \| erk/);
  assert.match(message({ method: "static", density: 0.1, updateEvery: 10 }), /unknown key "updateEvery"/);
  // An ERK budget that the dense first and last layers alone exceed.
  assert.throws(() => runRecipe(recipe({ method: "rigl", density: 0.01, denseFirst: true, denseLast: true }), "x.yaml", { runDir: join(root, "bad") }),
    /sparsity: a density of 0.01 cannot be met: .* Raise sparsity.density or set denseFirst\/denseLast to false/);
});

test("a RigL run resumed from a checkpoint continues bit-identically (structure, values, metrics)", () => {
  const r = recipe({ method: "rigl", density: 0.05, updateEvery: 4, dropDecay: "constant" }, { train: { epochs: 3 }, output: { checkpointEvery: 1 } });
  const straight = runRecipe(r, "rigl.yaml", { runDir: join(root, "rigl-straight") });
  const resumed = runRecipe(r, "rigl.yaml", { runDir: join(root, "rigl-resumed"), resume: join(root, "rigl-straight", "epoch-1.safetensors") });
  assert.equal(resumed.test_loss, straight.test_loss);
  const a = readSafetensors(straight.checkpoint).tensors, b = readSafetensors(resumed.checkpoint).tensors;
  for (const [name, t] of a) assert.deepEqual(Buffer.from(b.get(name)!.values.buffer), Buffer.from(t.values.buffer), `tensor ${name} differs`);
  // The structure did change after the checkpoint the run resumed from.
  const first = readSafetensors(join(root, "rigl-straight", "epoch-1.safetensors")).tensors;
  assert.notDeepEqual(Buffer.from(first.get("layers.0.weight.col_indices")!.values.buffer), Buffer.from(a.get("layers.0.weight.col_indices")!.values.buffer));
});
