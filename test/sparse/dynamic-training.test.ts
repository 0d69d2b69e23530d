// Invariants after every structure update of SET, RigL, SNFS and DSR during real training steps, and determinism.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Dataset } from "../../src/data/dataset.js";
import { buildModel, planModel, weightLayerShapes, type Model } from "../../src/nn/presets.js";
import { Sgd } from "../../src/optim/sgd.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { distributeDensity, sparseLayerDensities } from "../../src/sparse/distributions.js";
import type { DynamicConfig } from "../../src/sparse/dynamic/config.js";
import type { SwapResult } from "../../src/sparse/dynamic/drop-and-grow.js";
import { dsrPolicy } from "../../src/sparse/dynamic/dsr.js";
import { riglPolicy } from "../../src/sparse/dynamic/rigl.js";
import { setPolicy } from "../../src/sparse/dynamic/set.js";
import { snfsPolicy } from "../../src/sparse/dynamic/snfs.js";
import { dynamicHooks, type UpdatePolicy } from "../../src/sparse/dynamic/updater.js";
import type { SparsityContext } from "../../src/sparse/method.js";
import { Rng } from "../../src/tensor/rng.js";
import { Trainer } from "../../src/train/trainer.js";

// Three Gaussian blobs in 12 dimensions.
function blobs(count: number, seed: number): Dataset {
  const rng = new Rng(seed, "blobs");
  const features = new Float32Array(count * 12), labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 3;
    for (let j = 0; j < 12; j++) features[i * 12 + j] = rng.normal() + (j % 3 === labels[i] ? 2 : 0);
  }
  return new Dataset(features, labels, [12], 3, "blobs");
}

type MethodName = "set" | "rigl" | "snfs" | "dsr";

function makePolicy(method: MethodName, model: Model): UpdatePolicy {
  const params = model.net.parameters().filter((p) => p.sparse !== undefined);
  switch (method) {
    case "set": return setPolicy();
    case "rigl": return riglPolicy(params);
    case "snfs": return snfsPolicy(params);
    case "dsr": return dsrPolicy({ initialThreshold: 0.05, tolerance: 0.1 });
  }
}

interface Snapshot {
  positions: number[];
  values: Map<number, number>;
  momentum: Map<number, number>;
}

function snapshot(param: NamedParameter, optimizer: Sgd): Snapshot {
  const m = param.sparse!;
  const values = new Map<number, number>(), momentum = new Map<number, number>();
  const positions: number[] = [];
  const buf = optimizer.buffer(param.tensor, "momentum_buffer").data;
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) {
      const pos = r * m.cols + m.colIdx[p];
      positions.push(pos);
      values.set(pos, m.values.data[p]);
      momentum.set(pos, buf[p]);
    }
  }
  return { positions, values, momentum };
}

/** Trains a small sparse MLP with `method`, checking every invariant after every update; returns the final positions. */
function trainChecked(method: MethodName, seed: number): { updates: number; moved: number; positions: number[][]; countsChanged: boolean } {
  const spec = { preset: "mlp" as const, widths: [40, 24], inputShape: [12], classes: 3, seed };
  const densities = sparseLayerDensities(distributeDensity("erk", weightLayerShapes(planModel(spec)), { density: 0.2 }));
  const model = buildModel({ ...spec, sparse: densities });
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.05, momentum: 0.9 });
  const train = blobs(240, seed);
  const config: DynamicConfig = {
    method, density: 0.2, distribution: "erk", denseFirst: false, denseLast: false, init: "random", snipBatches: 1, initScale: "dense",
    updateEvery: 3, endFraction: 0.9, dropFraction: 0.3, dropDecay: "constant",
  };
  const context: SparsityContext = { seed, train, stepsPerEpoch: 8, totalSteps: 24, batchSize: 32, runDir: "", log: () => {} };
  let before = new Map<string, Snapshot>();
  let updates = 0, moved = 0, countsChanged = false;
  const check = (results: SwapResult[]) => {
    updates++;
    const params = model.net.parameters().filter((p) => p.sparse !== undefined);
    assert.equal(results.length, params.length);
    let totalBefore = 0, totalAfter = 0;
    results.forEach((r, l) => {
      const param = params[l];
      assert.equal(r.name, param.name);
      const old = before.get(param.name)!;
      const matrix = param.sparse!;
      matrix.validate(); // sorted, in range, no duplicates
      const after = snapshot(param, optimizer);
      const oldSet = new Set(old.positions), dropped = new Set(r.dropped), grown = new Set(r.grown);
      for (const p of dropped) assert.ok(oldSet.has(p) && !grown.has(p), `${param.name}: dropped ${p} was not stored or was regrown`);
      for (const p of grown) assert.ok(!oldSet.has(p), `${param.name}: grown ${p} was already stored`);
      const expected = [...old.positions.filter((p) => !dropped.has(p)), ...grown].sort((a, b) => a - b);
      assert.deepEqual(after.positions, expected);
      for (const p of grown) {
        assert.equal(after.values.get(p), 0, `${param.name}: regrown value at ${p}`);
        assert.equal(after.momentum.get(p), 0, `${param.name}: regrown momentum at ${p}`);
      }
      for (const p of after.positions) {
        if (grown.has(p)) continue;
        assert.equal(after.values.get(p), old.values.get(p));
        assert.equal(after.momentum.get(p), old.momentum.get(p));
      }
      // Every method drops by magnitude: no kept weight is smaller than a dropped one.
      const keptMin = Math.min(...old.positions.filter((p) => !dropped.has(p)).map((p) => Math.abs(old.values.get(p)!)));
      const droppedMax = Math.max(...[...dropped].map((p) => Math.abs(old.values.get(p)!)));
      if (dropped.size > 0) assert.ok(droppedMax <= keptMin, `${param.name}: dropped |w| ${droppedMax} > kept ${keptMin}`);
      if (method === "set" || method === "rigl") assert.equal(matrix.nnz, old.positions.length, `${param.name}: per-layer count changed`);
      if (matrix.nnz !== old.positions.length) countsChanged = true;
      assert.equal(r.nnzAfter, matrix.nnz);
      totalBefore += old.positions.length;
      totalAfter += matrix.nnz;
      moved += grown.size;
    });
    assert.equal(totalAfter, totalBefore, "total non-zeros changed");
  };
  const trainer = new Trainer({
    model, optimizer, train, batchSize: 32, epochs: 3, seed,
    hooks: [
      { afterStep: () => (before = new Map(model.net.parameters().filter((p) => p.sparse).map((p) => [p.name, snapshot(p, optimizer)]))) },
      dynamicHooks(makePolicy(method, model), config, context, check),
    ],
  });
  trainer.fit();
  const positions = model.net.parameters().filter((p) => p.sparse).map((p) => snapshot(p, optimizer).positions);
  return { updates, moved, positions, countsChanged };
}

for (const method of ["set", "rigl", "snfs", "dsr"] as const) {
  test(`${method}: after every update counts are conserved, CSR valid, dropped ∩ grown = ∅, regrown values and momentum zero, kept state carried`, () => {
    const run = trainChecked(method, 1);
    assert.equal(run.updates, 7); // steps 3, 6, …, 21 of 24 (T_end = round(0.9·24) = 22)
    assert.ok(run.moved > 0, "the structure never changed");
    if (method === "snfs" || method === "dsr") assert.ok(run.countsChanged, `${method} never moved non-zeros between layers`);
  });

  test(`${method}: same seed, same masks; another seed, other masks`, () => {
    const a = trainChecked(method, 2), b = trainChecked(method, 2), c = trainChecked(method, 3);
    assert.deepEqual(a.positions, b.positions);
    assert.notDeepEqual(a.positions, c.positions);
  });
}
