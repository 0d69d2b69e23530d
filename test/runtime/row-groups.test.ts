// The small-batch kernel's SELL-4 layout (src/runtime/row-groups.ts) holds every stored entry exactly once, and the kernel computes what referencePredict does on rows of 0, 1, 3, 4, 5 and more entries, row counts that are not multiples of 4, wide inputs and infinite inputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompactActivation, CompactLayer, CompactModel, CompactWeight } from "../../src/runtime/compact-model.js";
import { inferenceModule } from "../../src/runtime/inference-module.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { FULL_STEP_BYTES, MASKED_STEP_BYTES, ROW_GROUP_RECORD_BYTES, rowGroupLayout } from "../../src/runtime/row-groups.js";
import { WasmRuntimeModel } from "../../src/runtime/runtime-model.js";
import { Rng } from "../../src/tensor/rng.js";
import { RELATIVE_TOLERANCE, STRATEGIES, VARIANTS } from "../helpers/runtime-check.js";

/** A CSR weight whose row r stores `lengths[r]` entries at distinct random columns (ascending), with random values. */
function csrWeight(rng: Rng, cols: number, lengths: readonly number[]): CompactWeight {
  const rowPtr = new Int32Array(lengths.length + 1);
  lengths.forEach((n, r) => (rowPtr[r + 1] = rowPtr[r] + n));
  const colIdx = new Int32Array(rowPtr[lengths.length]);
  lengths.forEach((n, r) => {
    const picked = new Set<number>();
    while (picked.size < n) picked.add(Math.floor(rng.uniform() * cols));
    colIdx.set([...picked].sort((a, b) => a - b), rowPtr[r]);
  });
  const values = Float32Array.from(colIdx, () => rng.uniform() * 2 - 1);
  return { rows: lengths.length, cols, structure: "csr", valueType: "float32", rowPtr, colIdx, values, storedBytes: 0 };
}

function linear(rng: Rng, cols: number, lengths: readonly number[], activation: CompactActivation): CompactLayer {
  const weight = csrWeight(rng, cols, lengths);
  const bias = Float32Array.from(lengths, () => rng.uniform() - 0.5);
  return { kind: "linear", inputShape: [cols], outputShape: [lengths.length], weight, bias, activation, negativeSlope: 0.01 };
}

function model(layers: CompactLayer[]): CompactModel {
  const inputSize = layers[0].inputShape[0];
  return { version: 1, inputShape: [inputSize], inputSize, outputSize: layers[layers.length - 1].outputShape[0], classNames: null, layers };
}

/** Runs `compact` in every kernel build and program (the rows program is the one under test). */
async function* runtimes(compact: CompactModel): AsyncGenerator<{ model: WasmRuntimeModel; where: string }> {
  for (const kernels of VARIANTS) {
    for (const strategy of STRATEGIES) {
      const instance = await WebAssembly.instantiate(await inferenceModule(kernels), {});
      const model = new WasmRuntimeModel(compact, instance, kernels, strategy, "test");
      yield { model, where: `${kernels} kernels, ${strategy}` };
      model.dispose();
    }
  }
}

function assertClose(actual: Float32Array, expected: Float32Array, where: string): void {
  assert.equal(actual.length, expected.length, where);
  const scale = Math.max(1e-3, ...Array.from(expected, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i])) assert.ok(Object.is(actual[i], expected[i]), `${where}: logit ${i} is ${actual[i]}, reference ${expected[i]}`);
    else assert.ok(Math.abs(actual[i] - expected[i]) <= RELATIVE_TOLERANCE * scale, `${where}: logit ${i} is ${actual[i]}, reference ${expected[i]}`);
  }
}

test("row groups: every stored entry appears once, in its row's lane, padded lanes masked, biases and outputs in place", () => {
  const rng = new Rng(1, "test/row-groups/layout");
  const lengths = [5, 0, 3, 1, 4, 9, 0, 2, 4, 1, 17];
  const weight = csrWeight(rng, 300, lengths);
  const bias = Float32Array.from(lengths, (_, r) => r + 0.5);
  const layout = rowGroupLayout(weight, bias);
  assert.equal(layout.count, 3);
  const recordFloats = new Float32Array(layout.records.buffer);
  const stepFloats = new Float32Array(layout.steps.buffer);
  const seen = lengths.map(() => [] as [number, number][]);
  const written = new Set<number>();
  let at = 0;
  let previousLongest = 0;
  for (let g = 0; g < layout.count; g++) {
    const record = (g * ROW_GROUP_RECORD_BYTES) / 4;
    const full = layout.records[record], masked = layout.records[record + 1];
    const lanes = [0, 1, 2, 3].map((lane) => layout.records[record + 8 + lane] / 4);
    const real = Math.min(4, lengths.length - 4 * g);
    for (let lane = 0; lane < 4; lane++) {
      if (lane < real) {
        written.add(lanes[lane]);
        assert.equal(recordFloats[record + 4 + lane], bias[lanes[lane]], `group ${g} lane ${lane}: bias`);
      } else {
        assert.equal(lanes[lane], lanes[0], `group ${g} lane ${lane}: a lane past the last row writes to lane 0's row`);
      }
    }
    // Sorted by length: the group's rows are at least as long as the previous group's longest.
    assert.ok(Math.min(...lanes.slice(0, real).map((r) => lengths[r])) >= previousLongest);
    previousLongest = full + masked;
    for (let j = 0; j < full + masked; j++) {
      for (let lane = 0; lane < 4; lane++) {
        const present = lane < real && j < lengths[lanes[lane]];
        if (j >= full) assert.equal(layout.steps[at + 8 + lane], present ? -1 : 0, `group ${g} step ${j} lane ${lane}: mask`);
        else assert.ok(present, `group ${g} step ${j} lane ${lane}: a full step holds an entry in every lane`);
        if (present) seen[lanes[lane]].push([layout.steps[at + lane] / 4, stepFloats[at + 4 + lane]]);
        else assert.equal(stepFloats[at + 4 + lane], 0);
      }
      at += (j < full ? FULL_STEP_BYTES : MASKED_STEP_BYTES) / 4;
    }
  }
  assert.equal(at, layout.steps.length, "no step words left over");
  assert.equal(written.size, lengths.length, "every row is written");
  lengths.forEach((_, r) => {
    const expected = Array.from({ length: lengths[r] }, (_, j) => [weight.colIdx[weight.rowPtr[r] + j], weight.values[weight.rowPtr[r] + j]]);
    assert.deepEqual(seen[r], expected, `row ${r}`);
  });
});

test("row groups: the runtime matches the reference on rows of 0, 1, 3, 4, 5 and more entries, batches 1, 2, 3 and 5", async () => {
  const rng = new Rng(2, "test/row-groups/predict");
  for (const rows of [1, 2, 3, 4, 5, 6, 7, 9]) {
    const lengths = Array.from({ length: rows }, (_, r) => [0, 1, 3, 4, 5, 2, 8, 13, 40][(r * 5 + rows) % 9]);
    const compact = model([
      linear(rng, 301, lengths, "leaky-relu"),
      linear(rng, rows, Array.from({ length: 7 }, (_, r) => Math.min(rows, [0, 1, 3, 4, 5, 2, 1][r])), "identity"),
    ]);
    for await (const { model: runtime, where } of runtimes(compact)) {
      for (const batch of [1, 2, 3, 5]) {
        const inputs = Float32Array.from({ length: batch * 301 }, () => Math.floor(rng.uniform() * 256));
        assertClose(runtime.predict(inputs, batch), referencePredict(compact, inputs, batch), `${rows} rows, ${where}, batch ${batch}`);
      }
    }
  }
});

test("row groups: inputs beyond column 65535 are read from the right place", async () => {
  const rng = new Rng(3, "test/row-groups/wide");
  const cols = 70_000;
  const layer = linear(rng, cols, [4, 1, 3, 5, 2], "identity");
  // Columns whose low 16 bits collide with small ones: a truncated index would read column 0, 1, 4463.
  const { colIdx, rowPtr } = (layer as Extract<CompactLayer, { kind: "linear" }>).weight;
  colIdx.set([0, 65535, 65536, 69999], rowPtr[0]);
  colIdx.set([65537], rowPtr[1]);
  const compact = model([layer]);
  for await (const { model: runtime, where } of runtimes(compact)) {
    for (const batch of [1, 2]) {
      const inputs = Float32Array.from({ length: batch * cols }, () => rng.uniform() * 10);
      assertClose(runtime.predict(inputs, batch), referencePredict(compact, inputs, batch), `${where}, batch ${batch}`);
    }
  }
});

test("row groups: an infinite input reaches only the rows that read it (padded lanes add 0, not 0·Inf = NaN)", async () => {
  const rng = new Rng(4, "test/row-groups/inf");
  // Rows of different lengths share groups, so some lanes are padded; a padded lane reads column 0.
  const layer = linear(rng, 40, [1, 5, 2, 7, 3, 6, 4], "identity");
  const { colIdx, rowPtr } = (layer as Extract<CompactLayer, { kind: "linear" }>).weight;
  for (let r = 0; r < 7; r++) for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) colIdx[i] = 1 + ((colIdx[i] + r) % 39);
  for (let r = 0; r < 7; r++) colIdx.subarray(rowPtr[r], rowPtr[r + 1]).sort();
  colIdx[rowPtr[3]] = 0; // Only row 3 (7 entries, the longest, never padded) reads column 0.
  const compact = model([layer]);
  for await (const { model: runtime, where } of runtimes(compact)) {
    for (const batch of [1, 2]) {
      const inputs = Float32Array.from({ length: batch * 40 }, (_, i) => (i % 40 === 0 ? Infinity : rng.uniform()));
      const expected = referencePredict(compact, inputs, batch);
      assert.equal(expected.filter((v) => !Number.isFinite(v)).length, batch, "the reference has one infinite logit per example");
      assertClose(runtime.predict(inputs, batch), expected, `${where}, batch ${batch}`);
    }
  }
});
