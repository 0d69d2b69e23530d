// `bench train`: every engine trains, each timed step does its model's work (a flop floor no 2-core machine beats), ratios use the right rows, bad options fail clearly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { benchModelSpec, benchTrain, probeTorch } from "../../src/bench/train.js";
import { torchConfigurations } from "../../src/bench/torch-peer.js";
import { buildModel } from "../../src/nn/presets.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Linear } from "../../src/nn/linear.js";
import { requireOrSkip } from "../helpers/requirements.js";
import { floorMs } from "../helpers/flop-floor.js";

test("the benchmark model: all four weight layers CSR at the density, plain Linear at 100%", () => {
  const sparse = buildModel(benchModelSpec(0.05)).net;
  const weights = sparse.parameters().filter((p) => p.name.endsWith(".weight"));
  assert.deepEqual(weights.map((p) => p.name), ["layers.0.weight", "layers.2.weight", "layers.4.weight", "layers.6.weight"]);
  for (const p of weights) {
    assert.ok(p.layer instanceof SparseLinear, `${p.name} is not sparse`);
    assert.equal(p.tensor.size, Math.round(0.05 * p.sparse!.rows * p.sparse!.cols));
  }
  const dense = buildModel(benchModelSpec(1)).net;
  assert.ok(dense.parameters().every((p) => p.layer instanceof Linear));
  assert.equal(dense.parameters().reduce((n, p) => n + p.tensor.size, 0), 784 * 1000 + 1000 + 2 * (1000 * 1000 + 1000) + 1000 * 10 + 10);
});

// Floating-point work of one training step of the bench model at a density: forward, input
// gradient and weight gradient, 2 flops per multiply-add each (the first layer's input gradient is
// not needed but counted; the bound below has room for that).
function stepFlops(density: number): number {
  const weights = [784 * 1000, 1000 * 1000, 1000 * 1000, 1000 * 10];
  return weights.reduce((a, w) => a + 3 * 2 * 128 * w * (w === 1000 * 10 ? 1 : density), 0);
}

test("ours and TensorFlow.js train, every timed step does the model's work, and ratios use the TF.js row", async () => {
  const notes: string[] = [];
  const steps = 3, reps = 2;
  const start = performance.now();
  const rows = await benchTrain({ steps, reps, densities: [1, 0.02], data: "random", python: null, onNote: (l) => notes.push(l) });
  const wallMs = performance.now() - start;
  assert.deepEqual(rows.map((r) => `${r.engine}@${r.density}x${r.threads}`),
    ["tfjs-wasm@1x1", "sparsetrain@1x1", "sparsetrain@0.02x1", "sparsetrain@1x2", "sparsetrain@0.02x2"]);
  for (const r of rows) {
    const floor = floorMs(stepFlops(r.density));
    assert.ok(r.ms_per_step > floor, `${r.engine}@${r.density}x${r.threads}: ${r.ms_per_step} ms per step is below the ${floor.toFixed(2)} ms its flops need`);
    assert.ok(Math.abs(r.samples_per_s - 128_000 / r.ms_per_step) < 1e-6 * r.samples_per_s, `${r.engine}: samples/s ${r.samples_per_s} is not batch 128 over ${r.ms_per_step} ms`);
    assert.ok(r.loss > 0 && r.loss < 10, `${r.engine} loss ${r.loss}`);
    assert.equal(r.vs_torch, undefined);
  }
  // The timed steps are part of the call: their total (median per step × steps × reps) fits in its wall time.
  const timed = rows.reduce((a, r) => a + r.ms_per_step * steps * reps, 0);
  assert.ok(timed < wallMs, `timed ${timed.toFixed(1)} ms of steps in a ${wallMs.toFixed(1)} ms call`);
  // Our 2% model does about 2% of the dense work per step: it must be measured faster than our dense one.
  for (const threads of [1, 2]) {
    const [dense, sparse] = [1, 0.02].map((d) => rows.find((r) => r.engine === "sparsetrain" && r.density === d && r.threads === threads)!);
    assert.ok(sparse.ms_per_step < dense.ms_per_step, `threads ${threads}: 2% took ${sparse.ms_per_step} ms per step, dense ${dense.ms_per_step}`);
  }
  const tfjs = rows[0];
  for (const r of rows.slice(1)) assert.ok(Math.abs(r.vs_tfjs! - r.samples_per_s / tfjs.samples_per_s) < 1e-9);
  assert.ok(notes.some((n) => n.startsWith("data: random")), notes.join("\n"));
});

test("bad options name the option", async () => {
  await assert.rejects(benchTrain({ steps: 0, python: null, skipTfjs: true }), /--steps must be a positive integer, got 0/);
  await assert.rejects(benchTrain({ densities: [1.5], python: null, skipTfjs: true }), /densities must be in \(0, 1\], got 1.5/);
  await assert.rejects(benchTrain({ threads: [0], python: null, skipTfjs: true }), /--threads must be positive integers, got 0/);
});

const torch = probeTorch("/usr/bin/python3");
test("PyTorch reference runs when the system python3 has torch", async (t) => {
  if (!requireOrSkip(t, !("problem" in torch), "problem" in torch ? torch.problem : "")) return;
  const rows = await benchTrain({ steps: 2, reps: 1, densities: [0.01], threads: [1], data: "random", skipTfjs: true });
  const torchRows = rows.filter((r) => r.engine === "pytorch");
  assert.deepEqual(torchRows.map((r) => r.config), torchConfigurations().map((c) => c.name));
  assert.equal(Math.max(...torchRows.map((r) => r.vs_torch!)), 1);
  assert.equal(torchRows.filter((r) => r.best).length, 1);
  assert.equal(torchRows.find((r) => r.best)!.vs_torch, 1);
  for (const r of rows) assert.ok(r.loss > 0 && r.loss < 10, `${r.engine} loss ${r.loss}`);
  const floor = floorMs(stepFlops(1));
  for (const r of torchRows) assert.ok(r.ms_per_step > floor, `PyTorch ${r.config}: ${r.ms_per_step} ms per step is below the ${floor.toFixed(2)} ms its flops need`);
});
