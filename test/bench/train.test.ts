// Smoke test of `bench train`: every engine trains, rows carry consistent ratios, bad options fail clearly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { benchModelSpec, benchTrain, probeTorch } from "../../src/bench/train.js";
import { buildModel } from "../../src/nn/presets.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Linear } from "../../src/nn/linear.js";
import { requireOrSkip } from "../helpers/requirements.js";

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

test("ours and TensorFlow.js train and are compared (PyTorch skipped)", async () => {
  const notes: string[] = [];
  const rows = await benchTrain({ steps: 2, reps: 1, densities: [1, 0.02], data: "random", python: null, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => `${r.engine}@${r.density}x${r.threads}`),
    ["tfjs-wasm@1x1", "sparsetrain@1x1", "sparsetrain@0.02x1", "sparsetrain@1x2", "sparsetrain@0.02x2"]);
  const tfjs = rows[0];
  for (const r of rows) {
    assert.ok(Number.isFinite(r.samples_per_s) && r.samples_per_s > 0, `${r.engine} samples/s ${r.samples_per_s}`);
    assert.ok(Math.abs(r.samples_per_s * r.ms_per_step - 128_000) < 1e-6 * 128_000);
    assert.ok(r.loss > 0 && r.loss < 10, `${r.engine} loss ${r.loss}`);
    assert.equal(r.vs_torch, undefined);
  }
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
  assert.deepEqual(torchRows.map((r) => r.threads), [1, 2]);
  assert.equal(Math.max(...torchRows.map((r) => r.vs_torch!)), 1);
  for (const r of rows) assert.ok(r.loss > 0 && r.loss < 10, `${r.engine} loss ${r.loss}`);
});
