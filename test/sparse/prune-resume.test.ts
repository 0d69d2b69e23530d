// Resuming pruning flows from mid-run checkpoints: iterative, lottery (rewinding to step 0 and to step k) and shrinking neurons continue bit-identically.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runRecipe, type RunSummary } from "../../src/train/run.js";
import { assertSameCheckpoint, messageOf } from "../helpers/checkpoint-files.js";
import { recipe } from "../helpers/pruned-runs.js";

const root = mkdtempSync(join(tmpdir(), "prune-resume-"));

const flows: Record<string, { sparsity: object; overrides?: object }> = {
  iterative: { sparsity: { method: "iterative", sparsity: 0.9, rounds: 3, roundEpochs: 1 }, overrides: { train: { epochs: 4 } } },
  "lottery-0": { sparsity: { method: "lottery", sparsity: 0.75, rounds: 2, roundEpochs: 1 } },
  "lottery-5": { sparsity: { method: "lottery", sparsity: 0.75, rounds: 2, roundEpochs: 1, rewindStep: 5 }, overrides: { optimizer: { name: "adamw", lr: 0.003 } } },
  "iterative-neurons": {
    sparsity: { method: "iterative", sparsity: 0.75, rounds: 2, roundEpochs: 1, structure: "neurons" },
    overrides: { model: { preset: "mlp", widths: [64, 32] } },
  },
};

const straight = new Map<string, RunSummary>();
function straightRun(key: string): RunSummary {
  let summary = straight.get(key);
  if (summary === undefined) {
    const { sparsity, overrides } = flows[key];
    summary = runRecipe(recipe(sparsity, overrides), `${key}.yaml`, { runDir: join(root, key) });
    straight.set(key, summary);
  }
  return summary;
}

// Epoch 1 ends at step 11, just before a pruning event (iterative's second, lottery's first); epoch 2 sits between events.
for (const [key, from] of [["iterative", 1], ["iterative", 2], ["lottery-0", 1], ["lottery-0", 2], ["lottery-5", 1], ["iterative-neurons", 1]] as const) {
  test(`${key}: a run resumed from epoch ${from} ends bit-identical to the uninterrupted run`, () => {
    const done = straightRun(key);
    const { sparsity, overrides } = flows[key];
    const resumed = runRecipe(recipe(sparsity, overrides), `${key}.yaml`, {
      runDir: join(root, `${key}-resumed-${from}`), resume: join(root, key, `epoch-${from}.safetensors`),
    });
    assert.equal(resumed.steps, done.steps);
    assert.equal(resumed.test_loss, done.test_loss);
    assertSameCheckpoint(done.checkpoint, resumed.checkpoint);
  });
}

test("a lottery run resumed twice (from a resumed run's checkpoint) still finds its rewind values", () => {
  const key = "lottery-0";
  const done = straightRun(key);
  const { sparsity, overrides } = flows[key];
  const first = join(root, "lottery-twice-a"), second = join(root, "lottery-twice-b");
  runRecipe(recipe(sparsity, { ...overrides, train: { epochs: 2 } }), "a.yaml", { runDir: first, resume: join(root, key, "epoch-1.safetensors") });
  const resumed = runRecipe(recipe(sparsity, overrides), "b.yaml", { runDir: second, resume: join(first, "epoch-2.safetensors") });
  assertSameCheckpoint(done.checkpoint, resumed.checkpoint);
});

test("a lottery checkpoint copied without the run's prune-flow.safetensors cannot resume past the rewind step: an error says what is missing", () => {
  straightRun("lottery-0");
  const alone = join(root, "lottery-alone");
  mkdirSync(alone);
  for (const file of ["epoch-1.safetensors", "epoch-1.state.safetensors"]) copyFileSync(join(root, "lottery-0", file), join(alone, file));
  const { sparsity, overrides } = flows["lottery-0"];
  let steps = 0;
  const message = messageOf(() => runRecipe(recipe(sparsity, overrides), "alone.yaml", { runDir: join(root, "lottery-alone-resumed"), resume: join(alone, "epoch-1.safetensors"), onStep: () => steps++ }));
  assert.match(message, /lottery: resuming at step 11 needs the values to rewind to \(step 0\) from prune-flow\.safetensors, which is neither beside .*lottery-alone\/epoch-1\.safetensors nor in .*lottery-alone-resumed/);
  assert.equal(steps, 0);
});
