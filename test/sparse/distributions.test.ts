// Per-layer budgets: ERK, Erdős–Rényi and uniform numbers against hand-computed cases, the exact global budget, dense first/last, and unmeetable budgets.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WeightLayerShape } from "../../src/nn/presets.js";
import { apportion, distributeDensity, layerScore, sparseLayerDensities, type DistributionName } from "../../src/sparse/distributions.js";
import { Rng } from "../../src/tensor/rng.js";

const linear = (index: number, out: number, inp: number): WeightLayerShape => ({ index, kind: "Linear", shape: [out, inp] });

test("ERK on a hand-computed case: density ∝ (n_in + n_out)/(n_in·n_out)", () => {
  // A: 4×6 (24 weights, score 10/24), B: 2×4 (8 weights, score 6/8). Budget 0.5·32 = 16 and
  // Σ score·size = 10 + 6 = 16, so ε = 1: A keeps 10, B keeps 6.
  const budgets = distributeDensity("erk", [linear(0, 4, 6), linear(2, 2, 4)], { density: 0.5 });
  assert.deepEqual(budgets.map((b) => b.count), [10, 6]);
  assert.deepEqual(budgets.map((b) => b.index), [0, 2]);
  assert.deepEqual(sparseLayerDensities(budgets), { "0": 10 / 24, "2": 6 / 8 });
});

test("ERK makes a layer that would exceed density 1 dense and rescales the others", () => {
  // Budget round(0.8·32) = 26; ε = 26/16 gives B 0.75·1.625 > 1, so B is dense (8) and A gets 18.
  const budgets = distributeDensity("erk", [linear(0, 4, 6), linear(2, 2, 4)], { density: 0.8 });
  assert.deepEqual(budgets.map((b) => b.count), [18, 8]);
  assert.deepEqual(sparseLayerDensities(budgets), { "0": 0.75 }); // the dense layer is built dense
});

test("ERK counts kernel dimensions; Erdős–Rényi does not", () => {
  const conv = [3, 2, 3, 3];
  assert.equal(layerScore("erk", conv), 11 / 54);
  assert.equal(layerScore("erdos-renyi", conv), 5 / 6);
  assert.equal(layerScore("erk", [300, 784]), layerScore("erdos-renyi", [300, 784]));
  assert.equal(layerScore("uniform", conv), 1);
});

test("LeNet-300-100 at 2%: ERK favours the small layers and the total is exact", () => {
  const layers = [linear(0, 300, 784), linear(2, 100, 300), linear(4, 10, 100)];
  const budgets = distributeDensity("erk", layers, { density: 0.02 });
  assert.equal(budgets.reduce((a, b) => a + b.count, 0), Math.round(0.02 * 266200));
  const [d0, d1, d2] = budgets.map((b) => b.density);
  assert.ok(d0 < d1 && d1 < d2, `densities ${d0} ${d1} ${d2}`);
  // ε = 5324 / (1084 + 400 + 110); layer 2's share is 110·ε = 367.37 → 367.
  assert.equal(budgets[2].count, 367);
});

test("the global budget is exact for every distribution, density and dense first/last", () => {
  const rng = new Rng(4, "shapes");
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(5);
    const layers: WeightLayerShape[] = Array.from({ length: n }, (_, i) =>
      rng.int(3) === 0
        ? { index: 2 * i, kind: "Conv2d", shape: [1 + rng.int(16), 1 + rng.int(8), 3, 3] }
        : linear(2 * i, 1 + rng.int(200), 1 + rng.int(300)));
    const name = (["uniform", "erdos-renyi", "erk"] as DistributionName[])[rng.int(3)];
    const density = 0.05 + 0.95 * rng.uniform();
    const options = { density, denseFirst: rng.int(2) === 1, denseLast: rng.int(2) === 1 };
    const total = layers.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0);
    let budgets;
    try {
      budgets = distributeDensity(name, layers, options);
    } catch (e) {
      assert.match((e as Error).message, /cannot be met/);
      continue;
    }
    assert.equal(budgets.reduce((a, b) => a + b.count, 0), Math.round(density * total), `${name} ${JSON.stringify(options)} ${JSON.stringify(layers)}`);
    for (const b of budgets) assert.ok(b.count >= 1 && b.count <= b.size && Number.isInteger(b.count));
    if (options.denseFirst) assert.equal(budgets[0].count, budgets[0].size);
    if (options.denseLast) assert.equal(budgets[n - 1].count, budgets[n - 1].size);
  }
});

test("uniform gives every sparse layer the same density (within one weight), raised when a layer is kept dense", () => {
  const layers = [linear(0, 300, 784), linear(2, 100, 300), linear(4, 10, 100)];
  const plain = distributeDensity("uniform", layers, { density: 0.1 });
  for (const b of plain) assert.ok(Math.abs(b.count - 0.1 * b.size) <= 1);
  const withDenseLast = distributeDensity("uniform", layers, { density: 0.1, denseLast: true });
  assert.equal(withDenseLast[2].count, 1000);
  const rest = (26620 - 1000) / 265200;
  for (const b of withDenseLast.slice(0, 2)) assert.ok(Math.abs(b.count - rest * b.size) <= 1);
});

test("a budget that cannot be met is an error naming the option", () => {
  const layers = [linear(0, 300, 784), linear(2, 100, 300), linear(4, 10, 100)];
  assert.throws(() => distributeDensity("erk", layers, { density: 0.5, denseFirst: true, denseLast: true }), /cannot be met.*denseFirst\/denseLast/);
  assert.throws(() => distributeDensity("erk", [linear(0, 2, 2), linear(2, 2, 2)], { density: 0.1 }), /sparsity: a density of 0.1 cannot be met/);
  assert.throws(() => distributeDensity("erk", layers, { density: 1.5 }), /sparsity.density must be in \(0, 1\], got 1.5/);
  assert.throws(() => distributeDensity("erk", layers, { density: 0 }), /sparsity.density must be in \(0, 1\]/);
});

test("density 1 keeps every layer dense", () => {
  const budgets = distributeDensity("erk", [linear(0, 4, 6), linear(2, 2, 4)], { density: 1 });
  assert.deepEqual(sparseLayerDensities(budgets), {});
});

test("apportion: largest remainders, caps respected, exact total", () => {
  assert.deepEqual(apportion(10, [1, 1, 1], [10, 10, 10]), [4, 3, 3]);
  assert.deepEqual(apportion(10, [8, 1, 1], [3, 10, 10]), [3, 4, 3]);
  assert.deepEqual(apportion(5, [0, 0], [2, 10]), [2, 3]);
  assert.throws(() => apportion(5, [1, 1], [2, 2]), /exceeds the capacity 4/);
});
