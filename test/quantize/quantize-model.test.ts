// Post-training quantization of whole models (CSR, masked and dense Linear, dense and CSR Conv2d): zeros stay zero, new zeros leave the structure, scales valid, within half a step.
import assert from "node:assert/strict";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { quantizeModel } from "../../src/quantize/quantize-model.js";
import { qmax, type QuantBits, type QuantGranularity } from "../../src/quantize/rows.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { tensor } from "../../src/tensor/tensor.js";

/** A weight as the tests see it: dense values (row-major), which positions the structure keeps, rows. */
interface WeightView {
  dense: Float32Array;
  alive: Set<number>;
  rows: number;
  storage: "dense" | "masked" | "csr";
}

function view(p: NamedParameter): WeightView {
  if (p.sparse) {
    const m = p.sparse, alive = new Set<number>();
    for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) alive.add(r * m.cols + m.colIdx[k]);
    return { dense: m.toDense().toArray(), alive, rows: m.rows, storage: "csr" };
  }
  const dense = p.tensor.toArray();
  const alive = new Set<number>();
  for (let i = 0; i < dense.length; i++) if (!p.mask || p.mask.data[i] === 1) alive.add(i);
  return { dense, alive, rows: p.tensor.shape[0], storage: p.mask ? "masked" : "dense" };
}

const weights = (model: Model) => model.net.parameters().filter((p) => p.name.endsWith(".weight") && !(p.layer.kind === "BatchNorm1d" || p.layer.kind === "BatchNorm2d"));
const nonzeros = (values: ArrayLike<number>) => Array.from(values).filter((v) => v !== 0).length;

/** An MLP with a CSR layer (one pruned row, one row of stored zeros), a masked layer and a dense one, with batch norm. */
function mlp(): Model {
  const spec: ModelSpec = { preset: "mlp", inputShape: [1, 4, 4], classes: 3, widths: [8, 6], batchNorm: true, sparse: { "0": 0.5 }, seed: 5 };
  const model = buildModel(spec);
  const sparse = model.net.layers[0] as SparseLinear;
  const m = sparse.weight, values = m.values.toArray(), rowPtr = Array.from(m.rowPtr), colIdx = Array.from(m.colIdx);
  // Row 0 pruned away (no entries), row 1's entries stored as zeros, and a tiny weight that rounds to 0.
  const drop = rowPtr[1];
  for (let k = rowPtr[1]; k < rowPtr[2]; k++) values[k] = 0;
  values[rowPtr[2]] = 1e-6;
  sparse.setSparseWeight(SparseMatrix.fromCSR({
    rows: m.rows, cols: m.cols, rowPtr: rowPtr.map((p) => Math.max(0, p - drop)), colIdx: colIdx.slice(drop), values: values.slice(drop),
  }));
  const masked = model.net.layers.find((l, i) => i > 0 && l instanceof Linear) as Linear;
  masked.setMask(tensor(Float32Array.from({ length: masked.weight.size }, (_, i) => (i % 3 === 0 ? 0 : 1)), masked.weight.shape));
  masked.weight.data[1] = -2e-6; // alive under the mask, rounds to 0
  return model;
}

/** LeNet-5 on 16×16 inputs with a CSR first convolution (one empty filter) and a dense second one (one all-zero filter). */
function lenet5(): Model {
  const model = buildModel({ preset: "lenet-5", inputShape: [1, 16, 16], classes: 3, sparse: { "0": 0.4 }, seed: 3 });
  const conv = model.net.layers[0] as Conv2d;
  const m = conv.sparseWeight!;
  const drop = m.rowPtr[1];
  conv.setSparseWeight(SparseMatrix.fromCSR({
    rows: m.rows, cols: m.cols, rowPtr: Array.from(m.rowPtr, (p) => Math.max(0, p - drop)), colIdx: m.colIdx.slice(drop), values: m.values.toArray().slice(drop),
  }));
  const dense = model.net.layers[2] as Conv2d;
  const perFilter = dense.weight!.size / dense.weight!.shape[0];
  dense.weight!.data.fill(0, 0, perFilter);
  return model;
}

function assertQuantizationInvariants(make: () => Model, bits: QuantBits, granularity: QuantGranularity): void {
  const model = make();
  const before = new Map(weights(model).map((p) => [p.name, view(p)]));
  const otherBefore = model.net.parameters().filter((p) => !before.has(p.name)).map((p) => p.tensor.toArray());
  const result = quantizeModel(model, { bits, granularity });
  assert.deepEqual(result.layers.map((l) => l.name), [...before.keys()]);
  for (const layer of result.layers) {
    const p = model.net.parameters().find((x) => x.name === layer.name)!;
    const old = before.get(layer.name)!, now = view(p);
    const where = `${layer.name} int${bits} ${granularity}`;
    assert.equal(now.storage, old.storage, where);
    assert.equal(layer.scales.length, granularity === "per-row" ? old.rows : 1, where);
    for (const s of layer.scales) assert.ok(Number.isFinite(s) && s > 0, `${where}: scale ${s}`);
    for (const c of layer.codes) assert.ok(Math.abs(c) <= qmax(bits), `${where}: code ${c}`);
    const rowLength = old.dense.length / old.rows;
    for (let i = 0; i < old.dense.length; i++) {
      const row = Math.floor(i / rowLength);
      const s = layer.scales[granularity === "per-row" ? row : 0];
      if (old.dense[i] === 0) assert.equal(now.dense[i], 0, `${where}[${i}]: a zero became ${now.dense[i]}`);
      assert.ok(Math.abs(now.dense[i] - old.dense[i]) <= s / 2 + Math.abs(old.dense[i]) * 2 ** -23, `${where}[${i}]: ${old.dense[i]} → ${now.dense[i]}, scale ${s}`);
      // A row without a non-zero (a pruned neuron or filter) gets the scale 1, never 0/0.
      if (granularity === "per-row" && i % rowLength === 0 && old.dense.subarray(i, i + rowLength).every((v) => v === 0)) assert.equal(s, 1, `${where}: empty row ${row}`);
    }
    // The structure only shrinks, and keeps exactly the non-zeros (an unmasked dense weight keeps every entry).
    for (const position of now.alive) assert.ok(old.alive.has(position), `${where}: ${position} entered the structure`);
    if (now.storage !== "dense") {
      assert.equal(now.alive.size, nonzeros(now.dense), `${where}: the structure stores zeros`);
      assert.equal(layer.storedAfter, now.alive.size, where);
    }
    assert.equal(layer.storedBefore, old.alive.size, where);
    assert.equal(layer.nonzeroBefore, nonzeros(old.dense), where);
    assert.equal(layer.nonzeroAfter, nonzeros(now.dense), where);
    assert.ok(layer.nonzeroAfter <= layer.nonzeroBefore, `${where}: non-zeros grew`);
    assert.equal(nonzeros(layer.codes), layer.nonzeroAfter, where);
  }
  // Biases and batch norm stay float32, untouched.
  assert.deepEqual(model.net.parameters().filter((p) => !before.has(p.name)).map((p) => p.tensor.toArray()), otherBefore);
  const input = new Rng(1, "input");
  const x = tensor(Float32Array.from({ length: 2 * model.inputShape.reduce((a, b) => a * b, 1) }, () => input.normal()), [2, ...model.inputShape]);
  for (const v of noGrad(() => model.net.eval().forward(x).toArray())) assert.ok(Number.isFinite(v));
}

for (const bits of [8, 4] as const) {
  for (const granularity of ["per-row", "per-tensor"] as const) {
    test(`int${bits} ${granularity}: zeros stay zero, scales finite and > 0 (also of empty rows and filters), within half a step, non-zeros never grow, structure drops new zeros`, () => {
      assertQuantizationInvariants(mlp, bits, granularity);
      assertQuantizationInvariants(lenet5, bits, granularity);
    });
  }
}

test("the zeros rounding creates leave a CSR weight and a mask; an unmasked dense weight holds them as zeros", () => {
  const model = buildModel({ preset: "mlp", inputShape: [1, 2, 2], classes: 2, widths: [2, 2], sparse: { "0": 1 }, seed: 1 });
  const [first, second, third] = [model.net.layers[0] as SparseLinear, model.net.layers[2] as Linear, model.net.layers[4] as Linear];
  // Row scale 1/7 (int4): 0.05 → 0.35 → code 0; -0.1 → -0.7 → code -1; row 1 (scale 0.5/7): -0.03 → -0.42 → code 0.
  first.setSparseWeight(SparseMatrix.fromCSR({ rows: 2, cols: 4, rowPtr: [0, 3, 5], colIdx: [0, 1, 3, 1, 2], values: [1, 0.05, -0.1, -0.03, 0.5] }));
  second.weight.data.set([1, 0.05, -0.02, 0.3]);
  second.setMask(tensor([1, 1, 0, 1], [2, 2]));
  third.weight.data.set([1, 0.05, 0, 0.3]);
  const result = quantizeModel(model, { bits: 4 });
  const m = first.weight;
  assert.deepEqual(Array.from(m.rowPtr), [0, 2, 3]);
  assert.deepEqual(Array.from(m.colIdx), [0, 3, 2]);
  assert.deepEqual(Array.from(result.layers[0].codes), [7, -1, 7]);
  assert.deepEqual(Array.from(second.mask!.data), [1, 0, 0, 1]);
  assert.deepEqual(Array.from(second.weight.data), [1, 0, 0, Math.fround(7 * Math.fround(0.3 / 7))]);
  assert.equal(third.mask, null);
  assert.deepEqual(Array.from(third.weight.data), [1, 0, 0, Math.fround(7 * Math.fround(0.3 / 7))]);
  assert.deepEqual(result.layers.map((l) => [l.storedBefore, l.storedAfter, l.nonzeroBefore, l.nonzeroAfter]), [[5, 3, 5, 3], [3, 2, 3, 2], [4, 4, 3, 2]]);
});

test("bad bits or granularity name what is allowed", () => {
  assert.throws(() => quantizeModel(mlp(), { bits: 3 as QuantBits }), /bits must be 8 or 4, got 3/);
  assert.throws(() => quantizeModel(mlp(), { bits: 8, granularity: "per-block" as QuantGranularity }), /granularity must be per-row or per-tensor, got per-block/);
});
