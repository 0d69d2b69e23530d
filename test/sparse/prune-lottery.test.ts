// Lottery tickets and structured pruning through recipes: survivors rewound to their step-k values with the optimizer restarted, and neurons physically removed from checkpoints.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { NamedParameter } from "../../src/nn/sequential.js";
import type { TrainerHooks } from "../../src/train/hooks.js";
import { runRecipe } from "../../src/train/run.js";
import { storedCounts, storedShapes } from "../helpers/checkpoint-files.js";
import { assertCountsFollow, keptAt, readWeight, recipe, STEPS_PER_EPOCH, storedWeights, watchPruning } from "../helpers/pruned-runs.js";

const root = mkdtempSync(join(tmpdir(), "prune-lottery-"));

/** Every parameter's values in dense positions (pruned entries 0). */
function valuesOf(parameters: NamedParameter[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const p of parameters) {
    const w = readWeight(p);
    const dense = new Float32Array(w.size);
    w.positions.forEach((pos, i) => (dense[pos] = w.values[i]));
    out.set(p.name, dense);
  }
  return out;
}

for (const { rewindStep, optimizer } of [
  { rewindStep: 0, optimizer: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } },
  { rewindStep: 5, optimizer: { name: "adamw", lr: 0.003, weightDecay: 0.05 } },
]) {
  test(`lottery rewinding to step ${rewindStep} (${optimizer.name}): after each event the survivors hold their step-${rewindStep} values, the optimizer restarts, counts are exact`, () => {
    let saved: Map<string, Float32Array> | null = null;
    // Runs before the method's hooks: at `rewindStep` it sees what the method saves.
    const recorder: TrainerHooks = { beforeStep: (ctx) => void (ctx.step === rewindStep && (saved = valuesOf(ctx.parameters))) };
    const events = [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH];
    let rewound = 0, trainedAway = 0;
    const { hook, history } = watchPruning((ctx) => {
      if (saved === null) return;
      const now = valuesOf(ctx.parameters);
      const same = [...now].every(([name, v]) => v.every((x, i) => x === 0 || x === saved!.get(name)![i]));
      if (!events.includes(ctx.step)) {
        if (ctx.step === events[0] - 1) trainedAway += same ? 0 : 1;
        return;
      }
      rewound++;
      for (const [name, values] of now) {
        // Pruned weights are 0; every other entry (biases too) is its saved value.
        const before = saved.get(name)!;
        values.forEach((v, i) => (v === 0 && name.endsWith(".weight")) || assert.equal(v, before[i], `${name}[${i}] at step ${ctx.step}: ${v}, saved ${before[i]}`));
      }
      // The optimizer starts again from zero: no moments, and for Adam no bias-correction steps.
      const state = ctx.optimizer.getState();
      for (const [name, buffer] of Object.entries(state.buffers)) assert.ok(buffer.every((v) => v === 0), `optimizer ${name} is not zero at step ${ctx.step}`);
      for (const [name, steps] of Object.entries(state.steps)) assert.equal(steps, 0, `optimizer steps of ${name} at step ${ctx.step}`);
    });
    const lines: string[] = [];
    const s = 0.75, rounds = 2;
    const summary = runRecipe(recipe({ method: "lottery", sparsity: s, rounds, roundEpochs: 1, rewindStep }, { optimizer }), "lottery.yaml", {
      runDir: join(root, `lottery-${rewindStep}`), hooks: [recorder, hook], log: (l) => lines.push(l),
    });
    assert.equal(rewound, 2);
    assert.equal(trainedAway, 1, "the weights before the first event are not their saved values");
    const round = (step: number) => events.filter((e) => e <= step).length;
    assertCountsFollow(history, events, (step, _, size) => keptAt(round(step) === 0 ? 0 : 1 - (1 - s) ** (round(step) / rounds), size));
    assert.equal(lines.filter((l) => l.includes(`rewound to step ${rewindStep}`)).length, 2, lines.join("\n"));

    const weights = storedWeights(summary.checkpoint);
    assert.equal(weights.get("layers.0.weight")!.alive, keptAt(s, 25088));
    assert.equal(weights.get("layers.2.weight")!.alive, keptAt(s, 320));
    assert.equal(weights.get("layers.0.weight")!.storage, "csr");
    assert.equal(weights.get("layers.2.weight")!.storage, "csr");
    const counts = storedCounts(summary.checkpoint);
    assert.equal(summary.sparsity, 1 - counts.nonzero / counts.total);
    assert.ok(summary.test_accuracy > 0.5, `test accuracy ${summary.test_accuracy}`);
  });
}

test("one-shot neurons: the checkpoint's layers shrink (rows, bias, and the next layer's inputs)", () => {
  const summary = runRecipe(recipe({ method: "one-shot", sparsity: 0.5, structure: "neurons" }, { train: { epochs: 1 } }), "neurons.yaml", { runDir: join(root, "neurons") });
  const shapes = storedShapes(summary.checkpoint);
  assert.deepEqual(shapes["layers.0.weight"], [16, 784]);
  assert.deepEqual(shapes["layers.0.bias"], [16]);
  assert.deepEqual(shapes["layers.2.weight"], [10, 16]);
  assert.ok(!Object.keys(shapes).some((n) => n.endsWith("_mask") || n.endsWith("_indices")), "no zero rows or columns left to mask");
  for (const w of storedWeights(summary.checkpoint).values()) assert.ok(w.dense.every((v) => v !== 0), "the remaining weights are all alive");
  assert.equal(summary.params_total, 16 * 784 + 16 + 10 * 16 + 10);
});

test("iterative neurons with shrink: each round's target counts the neurons of the model before any shrinking", () => {
  const { hook, history } = watchPruning();
  const summary = runRecipe(recipe({ method: "iterative", sparsity: 0.75, rounds: 2, roundEpochs: 1, structure: "neurons" }, {
    model: { preset: "mlp", widths: [64, 32] },
  }), "neurons-iterative.yaml", { runDir: join(root, "neurons-iterative"), hooks: [hook] });
  // Round 1 removes half the neurons (64 → 32, 32 → 16), round 2 reaches a quarter.
  const rows = (step: number) => ({ "layers.0.weight": step < STEPS_PER_EPOCH ? 32 : 16, "layers.2.weight": step < STEPS_PER_EPOCH ? 16 : 8 });
  for (const { step, weights } of history) {
    const r = rows(step);
    assert.equal(weights.get("layers.0.weight")!.size, r["layers.0.weight"] * 784, `layers.0 at step ${step}`);
    assert.equal(weights.get("layers.2.weight")!.size, r["layers.2.weight"] * r["layers.0.weight"], `layers.2 at step ${step}`);
    assert.equal(weights.get("layers.4.weight")!.size, 10 * r["layers.2.weight"], `layers.4 at step ${step}`);
  }
  const shapes = storedShapes(summary.checkpoint);
  assert.deepEqual([shapes["layers.0.weight"], shapes["layers.2.weight"], shapes["layers.4.weight"]], [[16, 784], [8, 16], [10, 8]]);
});
