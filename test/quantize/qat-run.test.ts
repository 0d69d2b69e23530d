// Quantization-aware training through recipes: a bit-identical resume, the final checkpoint on the grid, and dynamic sparsity (RigL) at the same time at 1 and 2 threads.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";
import { Linear } from "../../src/nn/linear.js";
import { tensor } from "../../src/tensor/tensor.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { quantizedWeights } from "../../src/quantize/qat.js";
import { fakeQuantizeRows } from "../../src/quantize/rows.js";
import { quantizeModel } from "../../src/quantize/quantize-model.js";
import { saveQuantizedCheckpoint } from "../../src/quantize/checkpoint-write.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { evaluate } from "../../src/train/evaluate.js";
import type { TrainerHooks } from "../../src/train/hooks.js";
import { runRecipe } from "../../src/train/run.js";
import { prepareData } from "../../src/data/prepare.js";

const root = mkdtempSync(join(tmpdir(), "qat-run-"));

const recipe = (overrides: object = {}) => validateRecipe({
  name: "qat-run",
  seed: 3,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 400, test: 150 }, batchSize: 50 },
  model: { preset: "mlp", widths: [32, 16], sparse: { "0": { density: 0.2 } } },
  optimizer: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
  schedule: { name: "cosine", unit: "step" },
  train: { epochs: 3 },
  output: { checkpointEvery: 1 },
  quantize: { bits: 4 },
  ...overrides,
});

/** Whether every weight of a checkpoint is on its int`bits` per-row grid (quantizing again changes nothing). */
function offGrid(checkpoint: string, bits: 8 | 4): string[] {
  const model = loadCheckpoint(checkpoint).model;
  return quantizedWeights(model.net.parameters(), "per-row").filter(({ param, offsets }) => {
    const values = param.tensor.toArray();
    return fakeQuantizeRows(values, offsets, bits, new Float32Array(values.length)).some((v, i) => v !== values[i]);
  }).map((w) => w.param.name);
}

test("a QAT run stopped and resumed equals the uninterrupted run bit for bit; epoch checkpoints hold the float masters, the final one the quantized model", () => {
  const lines: string[] = [];
  const straight = runRecipe(recipe(), "qat-run.yaml", { runDir: join(root, "straight"), log: (l) => lines.push(l) });
  const resumed = runRecipe(recipe(), "qat-run.yaml", { runDir: join(root, "resumed"), resume: join(root, "straight", "epoch-1.safetensors") });
  assert.equal(resumed.steps, straight.steps);
  assert.equal(resumed.test_loss, straight.test_loss);
  const a = readSafetensors(straight.checkpoint).tensors, b = readSafetensors(resumed.checkpoint).tensors;
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of a) assert.deepEqual(Buffer.from(b.get(name)!.values.buffer), Buffer.from(t.values.buffer), `tensor ${name} differs`);

  assert.ok(lines.some((l) => l === "quantize: int4 per-row fake quantization of 3 weights (2 dense, 1 csr) from epoch 1; the final weights are quantized"), lines.join("\n"));
  assert.ok(lines.some((l) => /^quantize: final weights on the int4 grid \(\d+ stored entries in 3 weights; \d+ rounded to zero, kept in the structure\)$/.test(l)), lines.join("\n"));
  assert.deepEqual(offGrid(straight.checkpoint, 4), [], "final.safetensors is on the int4 grid");
  assert.deepEqual(offGrid(join(root, "straight", "epoch-2.safetensors"), 4).length, 3, "epoch checkpoints hold float weights");
  // The CSR layer keeps its stored entries: 20% of 784·32.
  assert.equal(a.get("layers.0.weight.values")!.shape[0], Math.round(0.2 * 784 * 32));
  // The reported test accuracy is the quantized model's: the final checkpoint evaluates to it.
  const final = loadCheckpoint(straight.checkpoint);
  const data = prepareData(recipe().data, 3);
  assert.equal(evaluate(final.model, data.test).loss, straight.test_loss);
});

/** Flat positions of each CSR weight's stored entries. */
function structure(parameters: NamedParameter[]): string {
  return parameters.filter((p) => p.sparse).map((p) => {
    const m = p.sparse!;
    const positions: number[] = [];
    for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) positions.push(r * m.cols + m.colIdx[k]);
    return positions.join(",");
  }).join("|");
}

const UPDATE_EVERY = 3;

/** Runs QAT with RigL; records at which steps the structure changed, the stored counts and the losses. */
function qatWithRigl(threads: number, quantize: { bits: number } | null) {
  const changedAt: number[] = [];
  const stored: number[] = [];
  const losses: number[] = [];
  let last = "";
  const recorder: TrainerHooks = {
    name: "structure-recorder",
    beforeStep(ctx) {
      const now = structure(ctx.parameters);
      if (last !== "" && now !== last) changedAt.push(ctx.step);
      last = now;
      stored.push(ctx.parameters.filter((p) => p.sparse).reduce((s, p) => s + p.sparse!.nnz, 0));
    },
  };
  const summary = runRecipe(recipe({
    data: { dataset: "mnist", validation: 0, limit: { train: 300, test: 100 }, batchSize: 50 },
    model: { preset: "mlp", widths: [32, 20] },
    schedule: { name: "constant" },
    train: { epochs: 2, threads },
    output: { checkpointEvery: 0 },
    sparsity: { method: "rigl", density: 0.1, updateEvery: UPDATE_EVERY },
    quantize: quantize ?? undefined,
  }), "qat-rigl.yaml", { runDir: join(root, `rigl-${threads}-${quantize ? "qat" : "float"}`), hooks: [recorder], onStep: ({ loss }) => losses.push(loss) });
  return { changedAt, stored, losses, summary };
}

test("with RigL running during QAT the structure changes only at RigL's updates, keeps its size, and threads 2 match threads 1", { timeout: 60_000 }, () => {
  const single = qatWithRigl(1, { bits: 8 }), parallel = qatWithRigl(2, { bits: 8 }), float = qatWithRigl(1, null);
  // 6 steps per epoch, 12 in all; RigL updates every 3 steps until its end step (75% of training).
  assert.equal(single.losses.length, 12);
  assert.deepEqual(float.changedAt, [3, 6]);
  assert.deepEqual(single.changedAt, float.changedAt);
  assert.notEqual(single.losses[0], float.losses[0]);
  assert.ok(single.stored.every((n) => n === single.stored[0]), `stored entries ${single.stored}`);
  assert.deepEqual(parallel.changedAt, single.changedAt);
  assert.deepEqual(parallel.stored, single.stored);
  parallel.losses.forEach((loss, i) => assert.ok(Math.abs(loss - single.losses[i]) <= 1e-5 * single.losses[i], `step ${i + 1}: ${loss} (2 threads) vs ${single.losses[i]} (1 thread)`));
  assert.equal(parallel.summary.params_nonzero, single.summary.params_nonzero);
  assert.deepEqual(offGrid(single.summary.checkpoint, 8), []);
});

test("QAT from a sparse checkpoint without a sparsity method keeps its CSR layers and masks: its zeros stay zero", () => {
  // The source: layer 0 CSR (20%), layer 2 masked (every third weight pruned), layer 4 dense.
  const trained = runRecipe(recipe({ train: { epochs: 1 }, quantize: undefined, output: { checkpointEvery: 0 } }), "qat-source.yaml", { runDir: join(root, "source") });
  const source = loadCheckpoint(trained.checkpoint);
  const layer2 = source.model.net.layers[2] as Linear;
  layer2.setMask(tensor(Array.from({ length: layer2.weight.size }, (_, i) => (i % 3 === 0 ? 0 : 1)), [...layer2.weight.shape]));
  const sourcePath = join(root, "source", "masked.safetensors");
  saveCheckpoint(sourcePath, source.model, { recipe: source.recipe, normalizer: source.normalizer, step: source.step, epoch: source.epoch, seed: source.seed });

  const lines: string[] = [];
  const qat = runRecipe(recipe({
    model: { preset: "mlp", widths: [32, 16], initFrom: sourcePath },
    train: { epochs: 2 }, output: { checkpointEvery: 0 }, quantize: { bits: 4 },
  }), "qat-init.yaml", { runDir: join(root, "init"), log: (l) => lines.push(l) });
  assert.ok(lines.includes(`quantize: the structure of ${sourcePath} is kept (1 CSR layer(s), 1 mask(s) fixed)`), lines.join("\n"));
  const before = readSafetensors(sourcePath).tensors, after = readSafetensors(qat.checkpoint).tensors;
  for (const name of ["layers.0.weight.crow_indices", "layers.0.weight.col_indices", "layers.2.weight_mask"]) {
    assert.deepEqual(Buffer.from(after.get(name)!.values.buffer), Buffer.from(before.get(name)!.values.buffer), `${name} unchanged`);
  }
  const masked = after.get("layers.2.weight")!.values as Float32Array;
  assert.ok(masked.every((v, i) => i % 3 !== 0 || v === 0), "the masked weights are still zero");
  assert.notDeepEqual(after.get("layers.0.weight.values")!.values, before.get("layers.0.weight.values")!.values, "the CSR values were trained");
});

test("model.initFrom of a quantized checkpoint: refused without a quantize: section, fine-tuned with one (its structure kept)", () => {
  const trained = runRecipe(recipe({ train: { epochs: 1 }, quantize: undefined, output: { checkpointEvery: 0 } }), "qat-q-source.yaml", { runDir: join(root, "q-source") });
  const source = loadCheckpoint(trained.checkpoint);
  const quantization = quantizeModel(source.model, { bits: 8 });
  const quantizedPath = join(root, "q-source", "final.int8.safetensors");
  saveQuantizedCheckpoint(quantizedPath, source.model, quantization, { recipe: source.recipe, normalizer: source.normalizer, step: source.step, epoch: source.epoch, seed: source.seed });
  const model = { preset: "mlp", widths: [32, 16], initFrom: quantizedPath };
  assert.throws(() => runRecipe(recipe({ model, quantize: undefined, train: { epochs: 1 } }), "q.yaml", { runDir: join(root, "q-refused") }),
    /final\.int8\.safetensors: a quantized \(int8 per-row\) checkpoint; model\.initFrom needs float weights/);
  const qat = runRecipe(recipe({ model, train: { epochs: 1 }, output: { checkpointEvery: 0 }, quantize: { bits: 8 } }), "q.yaml", { runDir: join(root, "q-qat") });
  const before = readSafetensors(quantizedPath).tensors, after = readSafetensors(qat.checkpoint).tensors;
  assert.deepEqual(Buffer.from(after.get("layers.0.weight.col_indices")!.values.buffer), Buffer.from(before.get("layers.0.weight.col_indices")!.values.buffer));
  assert.deepEqual(offGrid(qat.checkpoint, 8), []);
});
