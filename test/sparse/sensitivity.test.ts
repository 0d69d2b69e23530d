// Sensitivity analysis: each row is measured with exactly its layer pruned (torch-rounded counts), weights come back bit for bit, budgets meet the target exactly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Dataset } from "../../src/data/dataset.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { isPrunableWeight, readPrunable } from "../../src/sparse/prune/prunable.js";
import { pruneModel } from "../../src/sparse/prune/pruner.js";
import { budgetOverrides, budgetsFromSensitivity } from "../../src/sparse/sensitivity-budgets.js";
import { evaluatePruned, sensitivityScan, zeroCount, type SensitivityScan } from "../../src/sparse/sensitivity.js";
import { roundHalfEven } from "../../src/sparse/selectors.js";
import { Rng } from "../../src/tensor/rng.js";
import { evaluate } from "../../src/train/evaluate.js";

/** LeNet-5 on 16×16 inputs: a dense conv, a CSR conv (layers.2), a masked linear (layers.5) and a dense linear. */
function mixedModel(): Model {
  const model = buildModel({ preset: "lenet-5", inputShape: [1, 16, 16], classes: 3, sparse: { "2": 0.6 }, seed: 3 });
  pruneModel(model, { criterion: "magnitude", amount: 0.3, include: ["layers.5"] }, null);
  return model;
}

function images(count: number, seed = 5): Dataset {
  const rng = new Rng(seed, "test/images");
  const features = Float32Array.from({ length: count * 256 }, () => rng.normal());
  return new Dataset(features, Int32Array.from({ length: count }, () => rng.int(3)), [1, 16, 16], 3, "noise");
}

/** Every parameter's stored bits, masks and CSR structure included. */
function fingerprint(model: Model): Map<string, Uint32Array> {
  const out = new Map<string, Uint32Array>();
  for (const p of model.net.parameters()) {
    out.set(p.name, new Uint32Array(p.tensor.toArray().buffer));
    if (p.mask) out.set(`${p.name}_mask`, new Uint32Array(p.mask.toArray().buffer));
    if (p.sparse) out.set(`${p.name}.structure`, Uint32Array.from([...p.sparse.rowPtr, ...p.sparse.colIdx]));
  }
  return out;
}

/** The dense values of a weight (zeros where not stored). */
function denseValues(p: NamedParameter): Float32Array {
  const w = readPrunable(p);
  const dense = new Float32Array(w.size);
  w.positions.forEach((pos, i) => (dense[pos] = w.values[i]));
  return dense;
}

test("a scan has one row per weight and grid sparsity, each measured with exactly that weight pruned to round(s·n) zeros", () => {
  const model = mixedModel();
  const data = images(24);
  const weights = model.net.parameters().filter(isPrunableWeight);
  const original = new Map(weights.map((p) => [p.name, denseValues(p)]));
  const before = new Map(weights.map((p) => [p.name, zeroCount(p)]));
  assert.ok(before.get("layers.2.weight")! > 0.3 * 25000 && before.get("layers.5.weight")! > 0, "the fixture starts with pruned weights");
  // 0.005 of layers.0 (500 weights) is 2.5: Python's round gives 2.
  const grid = [0.9, 0.3, 0.005, 0.5, 0.9, 1];
  const seen: { layer: string; sparsity: number; accuracy: number; loss: number }[] = [];
  const scan = sensitivityScan(model, data, {
    grid,
    onPruned({ layer, sparsity, parameter }) {
      const n = readPrunable(parameter).size;
      const expected = Math.max(before.get(layer)!, roundHalfEven(sparsity * n));
      assert.equal(zeroCount(parameter), expected, `${layer} at ${sparsity}`);
      // Magnitude: every surviving weight is at least as large as every weight this pruning removed.
      const now = denseValues(parameter), was = original.get(layer)!;
      let smallestKept = Infinity, largestRemoved = 0;
      now.forEach((v, i) => {
        if (v !== 0) smallestKept = Math.min(smallestKept, Math.abs(v));
        else if (was[i] !== 0) largestRemoved = Math.max(largestRemoved, Math.abs(was[i]));
      });
      assert.ok(largestRemoved <= smallestKept, `${layer} at ${sparsity}: removed |w| ${largestRemoved} > kept ${smallestKept}`);
      for (const other of model.net.parameters().filter(isPrunableWeight)) {
        if (other.name !== layer) assert.equal(zeroCount(other), before.get(other.name), `${other.name} changed while ${layer} was pruned`);
      }
      const e = evaluate(model, data);
      seen.push({ layer, sparsity, accuracy: e.accuracy, loss: e.loss });
    },
  });
  assert.deepEqual(scan.grid, [0.005, 0.3, 0.5, 0.9, 1]);
  assert.equal(scan.rows[0].zeros, 2);
  assert.deepEqual(scan.layers.map((l) => l.layer), ["layers.0.weight", "layers.2.weight", "layers.5.weight", "layers.7.weight"]);
  assert.equal(scan.rows.length, scan.layers.length * scan.grid.length);
  scan.rows.forEach((row, i) => {
    assert.equal(row.layer, scan.layers[Math.floor(i / 5)].layer);
    assert.equal(row.sparsity, scan.grid[i % 5]);
    assert.equal(row.zeros, Math.max(before.get(row.layer)!, roundHalfEven(row.sparsity * row.params)));
    assert.deepEqual({ layer: row.layer, sparsity: row.sparsity, accuracy: row.accuracy, loss: row.loss }, seen[i]);
    assert.equal(row.drop, scan.baseline.accuracy - row.accuracy);
  });
  // The CSR conv already has 40% zeros: pruning it "to 30%" changes nothing and reuses the baseline.
  const unchanged = scan.rows.find((r) => r.layer === "layers.2.weight" && r.sparsity === 0.3)!;
  assert.equal(unchanged.accuracy, scan.baseline.accuracy);
  assert.equal(unchanged.loss, scan.baseline.loss);
});

test("weights, masks and CSR structures are bit-identical after a scan (magnitude and random) and after evaluatePruned", () => {
  const model = mixedModel();
  const data = images(8);
  const start = fingerprint(model);
  const baseline = evaluate(model, data);
  for (const criterion of ["magnitude", "random"] as const) sensitivityScan(model, data, { grid: [0.5, 0.95], criterion, seed: 11 });
  const pruned = evaluatePruned(model, data, { "layers.0.weight": 400, "layers.7.weight": 1000 });
  assert.deepEqual(fingerprint(model), start);
  assert.deepEqual(evaluate(model, data), baseline);
  assert.notDeepEqual(pruned.loss, baseline.loss);
  // Restored even when the evaluation throws.
  assert.throws(() => sensitivityScan(model, images(4), { grid: [0.5], onPruned: () => { throw new Error("boom"); } }), /boom/);
  assert.deepEqual(fingerprint(model), start);
});

test("scan options are checked and errors name the option", () => {
  const model = mixedModel();
  const data = images(4);
  const cases: [Parameters<typeof sensitivityScan>[2], RegExp][] = [
    [{ grid: [0.5, 1.5], optionPrefix: "--" }, /--grid: every sparsity must be in \[0, 1\], got 1\.5/],
    [{ grid: [] }, /grid must list at least one sparsity/],
    [{ grid: [NaN] }, /grid: every sparsity must be in \[0, 1\], got NaN/],
    [{ grid: [0.5], criterion: "taylor" }, /criterion taylor needs gradients/],
    [{ grid: [0.5], criterion: "size" as never }, /criterion must be one of magnitude, random, got "size"/],
    [{ grid: [0.5], include: ["layers.9"], optionPrefix: "--" }, /--include: "layers\.9" matches no prunable weight/],
  ];
  for (const [options, message] of cases) assert.throws(() => sensitivityScan(model, data, options), message);
  const only = sensitivityScan(model, data, { grid: [0.5], include: ["layers.7"] });
  assert.deepEqual(only.rows.map((r) => r.layer), ["layers.7.weight"]);
});

/** A scan with given drops per layer: `drops[layer][sparsity]`, 1000-weight layers unless `params` says otherwise. */
function syntheticScan(drops: Record<string, Record<number, number>>, start: Record<string, number> = {}, params = 1000): SensitivityScan {
  const grid = [...new Set(Object.values(drops).flatMap((d) => Object.keys(d).map(Number)))].sort((a, b) => a - b);
  const layers = Object.keys(drops).map((layer) => ({ layer, kind: "Linear" as const, params, zeros: start[layer] ?? 0 }));
  const rows = layers.flatMap((l) => grid.map((s) => {
    const drop = drops[l.layer][s];
    return { layer: l.layer, params, sparsity: s, zeros: Math.max(l.zeros, roundHalfEven(s * params)), accuracy: 0.9 - drop, loss: 0.3, drop };
  }));
  return { criterion: "magnitude", grid, baseline: { accuracy: 0.9, loss: 0.3, count: 100 }, layers, rows };
}

const twoLayers = () => syntheticScan({ a: { 0.5: 0, 0.9: 0.02 }, b: { 0.5: 0.01, 0.9: 0.05 } });
const countsOf = (b: { layers: { zeros: number }[] }) => b.layers.map((l) => l.zeros);

test("budgets on a hand-computable scan: a common drop threshold, an exact total, jumps shared", () => {
  // τ in [0.01, 0.02]: a prunes 500 + 20000τ, b prunes 500 + 10000(τ − 0.01); 1400 in all at τ = 1/60,
  // i.e. a 833.3 and b 566.7, rounded by largest remainder to 833 + 567.
  const b70 = budgetsFromSensitivity(twoLayers(), { target: 0.7 });
  assert.deepEqual(countsOf(b70), [833, 567]);
  assert.equal(b70.requested, 1400);
  assert.equal(b70.pruned, 1400);
  assert.ok(Math.abs(b70.threshold - 1 / 60) < 1e-12, `threshold ${b70.threshold}`);
  assert.deepEqual(budgetOverrides(b70), { a: 0.833, b: 0.567 });
  // τ < 0.01: 500 + 20000τ + 50000τ = 600 → τ = 1/700: a 528.57 → 529, b 71.43 → 71.
  assert.deepEqual(countsOf(budgetsFromSensitivity(twoLayers(), { target: 0.3 })), [529, 71]);
  // a costs nothing up to 500 weights: at τ = 0 the total jumps from 0 to 500, and a takes all 400.
  const b20 = budgetsFromSensitivity(twoLayers(), { target: 0.2 });
  assert.deepEqual(countsOf(b20), [400, 0]);
  assert.equal(b20.threshold, 0);
  // Two flat layers share a jump in proportion to it.
  assert.deepEqual(countsOf(budgetsFromSensitivity(syntheticScan({ a: { 0.2: 0, 0.6: 0.1 }, b: { 0.2: 0, 0.6: 0.1 } }), { target: 0.1 })), [100, 100]);
  // The whole grid: every layer at its largest sparsity.
  assert.deepEqual(countsOf(budgetsFromSensitivity(twoLayers(), { target: 0.9 })), [900, 900]);
  // maxDrop alone: the largest counts within it (a: 500 + 0.01/0.02·400 = 700, b: 500).
  const within = budgetsFromSensitivity(twoLayers(), { maxDrop: 0.01 });
  assert.deepEqual(countsOf(within), [700, 500]);
  assert.equal(within.sparsity, 0.6);
  assert.deepEqual(countsOf(budgetsFromSensitivity(twoLayers(), { target: 0.7, maxDrop: 0.02 })), [833, 567]);
});

test("a point that hurts caps the layer even if a larger sparsity hurts less (running maximum of the drop)", () => {
  const scan = syntheticScan({ a: { 0.5: 0.04, 0.8: 0.01 }, b: { 0.5: 0.01, 0.8: 0.02 } });
  // τ = 0.01: a may go to 0.01/0.04·500 = 125 only, b to 500; 625 in all.
  assert.deepEqual(countsOf(budgetsFromSensitivity(scan, { maxDrop: 0.01 })), [125, 500]);
});

test("budgets start from the zeros a layer already has and always add up exactly", () => {
  const scan = syntheticScan({ a: { 0.5: 0.01, 0.9: 0.03 }, b: { 0.5: 0.02, 0.9: 0.04 } }, { a: 600 });
  const b = budgetsFromSensitivity(scan, { target: 0.4 });
  assert.equal(b.pruned, 800);
  assert.ok(b.layers[0].zeros >= 600);
  const rng = new Rng(17, "test/budgets");
  for (let trial = 0; trial < 200; trial++) {
    const params = 1 + rng.int(5000);
    const random = () => Object.fromEntries([0.3, 0.6, 0.8, 0.95].map((s) => [s, rng.uniform() * 0.2 - 0.02]));
    const s = syntheticScan({ a: random(), b: random(), c: random() }, {}, params);
    const target = rng.uniform() * 0.95;
    const budgets = budgetsFromSensitivity(s, { target });
    assert.equal(budgets.pruned, roundHalfEven(target * 3 * params), `trial ${trial}`);
    for (const l of budgets.layers) assert.ok(l.zeros >= 0 && l.zeros <= roundHalfEven(0.95 * params), `trial ${trial}: ${l.layer} ${l.zeros}`);
  }
});

test("budget errors name the option and what is allowed", () => {
  const names = { target: "--target", maxDrop: "--max-drop", grid: "--grid" };
  const cases: [Parameters<typeof budgetsFromSensitivity>[1], RegExp][] = [
    [{ target: 1, optionNames: names }, /--target must be in \[0, 1\), got 1/],
    [{ target: -0.1 }, /target must be in \[0, 1\), got -0\.1/],
    [{ maxDrop: 1.5, optionNames: names }, /--max-drop must be in \[0, 1\], got 1\.5/],
    [{}, /give target .* or maxDrop/],
    [{ target: 0.95, optionNames: names }, /--target 0\.95 cannot be met within the grid: .*largest sparsity \(0\.9\) gives 90\.00% .*add larger sparsities to --grid or lower --target/],
    [{ target: 0.7, maxDrop: 0.01, optionNames: names }, /--target 0\.7 needs layers that each lose up to 1\.67% accuracy, more than --max-drop 0\.01; within --max-drop the scanned weights reach a sparsity of 60\.00%/],
  ];
  for (const [options, message] of cases) assert.throws(() => budgetsFromSensitivity(twoLayers(), options), message);
  const pruned = syntheticScan({ a: { 0.5: 0, 0.9: 0.02 } }, { a: 300 });
  assert.throws(() => budgetsFromSensitivity(pruned, { target: 0.2 }), /target 0\.2 is below the sparsity the scanned weights already have \(30\.00%\)/);
  assert.deepEqual(countsOf(budgetsFromSensitivity(pruned, { target: 0.3 })), [300]);
});
