// `bench train --model lenet-5`: the model is the LeNet-5 preset with every convolution and linear layer sparse, each timed step does its work (a flop floor), PyTorch builds the same architecture, and an unknown --model is a one-line error.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { benchModelSpec, benchTrain, probeTorch, torchScriptPath } from "../../src/bench/train.js";
import { torchConfigurations } from "../../src/bench/torch-peer.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, planModel, weightLayerShapes } from "../../src/nn/presets.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { requireOrSkip } from "../helpers/requirements.js";
import { floorMs } from "../helpers/flop-floor.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

test("the LeNet-5 bench model: both convolutions CSR and both linear layers SparseLinear at the density, all dense at 100%", () => {
  const sparse = buildModel(benchModelSpec(0.1, 0, "lenet-5")).net;
  const layers = sparse.layers;
  for (const i of [0, 2]) {
    const conv = layers[i] as Conv2d;
    assert.ok(conv instanceof Conv2d && conv.weight === null && conv.sparseWeight !== null, `layers.${i} is not a sparse convolution`);
    assert.equal(conv.sparseWeight!.values.size, Math.round(0.1 * conv.sparseWeight!.rows * conv.sparseWeight!.cols), `layers.${i}`);
  }
  for (const i of [5, 7]) assert.ok(layers[i] instanceof SparseLinear, `layers.${i} is not sparse`);
  const dense = buildModel(benchModelSpec(1, 0, "lenet-5")).net;
  assert.ok([0, 2].every((i) => (dense.layers[i] as Conv2d).weight !== null));
  assert.ok([5, 7].every((i) => dense.layers[i] instanceof Linear));
  assert.equal(dense.parameters().reduce((n, p) => n + p.tensor.size, 0), 20 * 25 + 20 + 50 * 20 * 25 + 50 + 800 * 500 + 500 + 500 * 10 + 10);
});

// Multiply-adds of one example's forward pass through each weight layer: weights × output positions
// (a convolution applies every filter weight at each of its Ho·Wo outputs).
function lenetForwardMacs(): number {
  const spec = benchModelSpec(1, 0, "lenet-5");
  const net = buildModel(spec).net;
  let shape = [1, 28, 28], macs = 0;
  const weighted = new Map(weightLayerShapes(planModel(spec)).map((l) => [l.index, l.shape]));
  net.layers.forEach((layer, i) => {
    shape = layer.outputShape(shape);
    const weight = weighted.get(i);
    if (weight) macs += weight.reduce((a, b) => a * b, 1) * (weight.length === 4 ? shape[1] * shape[2] : 1);
  });
  return macs;
}

// Forward, input gradient and weight gradient, 2 flops per multiply-add, at a density.
const stepFlops = (density: number) => 3 * 2 * 128 * lenetForwardMacs() * density;

test("LeNet-5's work per step: conv 24×24 and 8×8 outputs, fc 800-500 and 500-10", () => {
  assert.equal(lenetForwardMacs(), 20 * 25 * 24 * 24 + 50 * 500 * 8 * 8 + 800 * 500 + 500 * 10);
});

test("ours trains LeNet-5 at 100%, 10% and 2% by default, every timed step above the flop floor; TensorFlow.js is named as skipped", async () => {
  const notes: string[] = [];
  const steps = 2, reps = 1;
  const rows = await benchTrain({ model: "lenet-5", steps, reps, threads: [1, 2], data: "random", python: null, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => `${r.model}:${r.engine}@${r.density}x${r.threads}`), [
    "lenet-5:sparsetrain@1x1", "lenet-5:sparsetrain@0.1x1", "lenet-5:sparsetrain@0.02x1",
    "lenet-5:sparsetrain@1x2", "lenet-5:sparsetrain@0.1x2", "lenet-5:sparsetrain@0.02x2",
  ]);
  for (const r of rows) {
    const floor = floorMs(stepFlops(r.density));
    assert.ok(r.ms_per_step > floor, `${r.density}x${r.threads}: ${r.ms_per_step} ms per step is below the ${floor.toFixed(3)} ms its flops need`);
    assert.ok(r.loss > 0 && r.loss < 10, `loss ${r.loss}`);
  }
  assert.ok(notes.some((n) => n === "TensorFlow.js skipped for lenet-5: its bench trainer builds only the MLP"), notes.join("\n"));
  assert.ok(notes.some((n) => n.startsWith("model lenet-5: LeNet-5 (Caffe)")), notes.join("\n"));
});

test("an unknown --model is one line naming the allowed values, from the API and the command line", async () => {
  await assert.rejects(benchTrain({ model: "resnet", python: null, skipTfjs: true }), /^RangeError: bench train: --model must be one of mlp, lenet-5, got "resnet"$/);
  const run = spawnSync(process.execPath, [cli, "bench", "train", "--model", "lenet5", "--no-torch"], { encoding: "utf8" });
  assert.notEqual(run.status, 0);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr, 'sparsetrain: bench train: --model must be one of mlp, lenet-5, got "lenet5"\n');
});

const torch = probeTorch("/usr/bin/python3");
test("PyTorch's LeNet-5 has exactly our preset's parameters (PyTorch names and shapes) and trains in every configuration", async (t) => {
  if (!requireOrSkip(t, !("problem" in torch), "problem" in torch ? torch.problem : "")) return;
  const described = spawnSync("/usr/bin/python3", [torchScriptPath(), "--model", "lenet-5", "--intra-op-threads", "1", "--steps", "1", "--reps", "1", "--warmup-steps", "1"],
    { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });
  assert.equal(described.status, 0, described.stderr);
  const theirs = JSON.parse(described.stdout).parameters as Record<string, number[]>;
  const ours = Object.fromEntries(weightLayerShapes(planModel(benchModelSpec(1, 0, "lenet-5"))).flatMap((l) =>
    [[`${l.index}.weight`, l.shape], [`${l.index}.bias`, [l.shape[0]]]]));
  assert.deepEqual(theirs, ours);
  const ourNames = buildModel(benchModelSpec(1, 0, "lenet-5")).net.parameters().map((p) => p.name);
  assert.deepEqual(ourNames, Object.keys(theirs).map((n) => `layers.${n}`));

  const rows = await benchTrain({ model: "lenet-5", steps: 2, reps: 1, densities: [0.1], threads: [1], data: "random" });
  const torchRows = rows.filter((r) => r.engine === "pytorch");
  assert.deepEqual(torchRows.map((r) => r.config), torchConfigurations().map((c) => c.name));
  assert.equal(torchRows.filter((r) => r.best).length, 1);
  const floor = floorMs(stepFlops(1));
  for (const r of rows) {
    assert.equal(r.model, "lenet-5");
    assert.ok(r.loss > 0 && r.loss < 10, `${r.engine} loss ${r.loss}`);
    assert.ok(r.vs_torch! > 0 && r.vs_torch === r.samples_per_s / torchRows.find((b) => b.best)!.samples_per_s);
  }
  for (const r of torchRows) assert.ok(r.ms_per_step > floor, `PyTorch ${r.config}: ${r.ms_per_step} ms per step is below the ${floor.toFixed(2)} ms its flops need`);
});
