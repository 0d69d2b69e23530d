// Adam on a sparse weight whose connections are regrown: a grown weight takes a fresh Adam's steps, kept ones continue unchanged, and resume carries the per-entry counts.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readSafetensors } from "../../src/io/safetensors.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Adam, AdamW } from "../../src/optim/adam.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { dropAndGrow } from "../../src/sparse/dynamic/drop-and-grow.js";
import { runRecipe } from "../../src/train/run.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";

const LR = 0.01;
const STEPS_BEFORE_GROWTH = 3000; // β2^3000 = 0.05: the parameter's bias correction has decayed

function sparseParam(): NamedParameter {
  // 3×4: row 0 = [_, 0.5, _, -0.1], row 1 = [0.3, _, _, _], row 2 = [_, _, -0.9, 0.05]
  const matrix = SparseMatrix.fromCSR({ rows: 3, cols: 4, rowPtr: [0, 2, 3, 5], colIdx: [1, 3, 0, 2, 3], values: [0.5, -0.1, 0.3, -0.9, 0.05] });
  matrix.values.name = "layers.0.weight";
  return { name: "layers.0.weight", tensor: matrix.values, sparse: matrix, layerIndex: 0, layer: new SparseLinear(matrix) };
}

const values = (p: NamedParameter): Tensor => (p.layer as SparseLinear).weight.values;
/** A gradient that varies with the position (row·cols + col) and the step, never zero. */
const gradientAt = (position: number, step: number): number => 0.05 + 0.1 * Math.sin(0.7 * step + position);

/** Sets the gradient of every stored entry from its position and takes one optimizer step. */
function step(p: NamedParameter, optimizer: Optimizer, stepIndex: number): void {
  const m = (p.layer as SparseLinear).weight;
  const g = new Float32Array(m.nnz);
  for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) g[k] = gradientAt(r * m.cols + m.colIdx[k], stepIndex);
  m.values.grad?.dispose();
  m.values.grad = tensor(g);
  optimizer.step();
}

/** The value stored at `position`, or undefined. */
function valueAt(p: NamedParameter, position: number): number | undefined {
  const m = (p.layer as SparseLinear).weight;
  const r = Math.floor(position / m.cols);
  for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) if (r * m.cols + m.colIdx[k] === position) return m.values.data[k];
  return undefined;
}

const GROWN = 2; // position (0, 2), free at the start
const DROPPED = 11; // (2, 3), the last stored entry: the drop scores pick it

for (const [name, make] of [["Adam", (t: Tensor) => new Adam([{ params: [t] }], { lr: LR })], ["AdamW", (t: Tensor) => new AdamW([{ params: [t] }], { lr: LR })]] as const) {
  test(`${name}: a regrown weight takes a fresh Adam's first steps (|Δw| ≈ lr, not 3·lr); kept weights continue bit for bit`, () => {
    const grown = sparseParam(), untouched = sparseParam();
    const optGrown = make(values(grown)), optUntouched = make(values(untouched));
    for (let s = 0; s < STEPS_BEFORE_GROWTH; s++) {
      step(grown, optGrown, s);
      step(untouched, optUntouched, s);
    }
    dropAndGrow(grown, optGrown, { dropCount: 1, dropScores: [1, 1, 1, 1, 0], growCount: 1, grow: () => new Float64Array([GROWN]) });
    assert.equal(valueAt(grown, GROWN), 0);
    assert.equal(valueAt(grown, DROPPED), undefined);
    // A fresh Adam on a single weight fed the grown weight's gradients: the trajectory it must follow.
    const fresh = { p: tensor([0]) };
    fresh.p.name = "fresh";
    const optFresh = make(fresh.p);
    for (let s = STEPS_BEFORE_GROWTH; s < STEPS_BEFORE_GROWTH + 3; s++) {
      step(grown, optGrown, s);
      step(untouched, optUntouched, s);
      fresh.p.grad?.dispose();
      fresh.p.grad = tensor([gradientAt(GROWN, s)]);
      optFresh.step();
      if (s === STEPS_BEFORE_GROWTH) {
        const firstStep = Math.abs(valueAt(grown, GROWN)!);
        assert.ok(Math.abs(firstStep - LR) < 1e-4 * LR, `first step of the regrown weight ${firstStep}, expected lr = ${LR} (a first Adam step)`);
      }
      assert.equal(valueAt(grown, GROWN), fresh.p.data[0], `step ${s}: the regrown weight follows a fresh Adam`);
      for (const kept of [1, 3, 4, 10]) assert.equal(valueAt(grown, kept), valueAt(untouched, kept), `step ${s}: kept weight at ${kept}`);
    }
    // The state names the per-entry counts; a fresh optimizer restored from it continues bit for bit.
    const state = optGrown.getState();
    assert.deepEqual([...state.buffers["layers.0.weight.entry_steps"]], [STEPS_BEFORE_GROWTH + 3, 3, STEPS_BEFORE_GROWTH + 3, STEPS_BEFORE_GROWTH + 3, STEPS_BEFORE_GROWTH + 3]);
    const copy = sparseParam();
    values(copy).data.set(values(grown).data);
    (copy.layer as SparseLinear).weight.rowPtr.set((grown.layer as SparseLinear).weight.rowPtr);
    (copy.layer as SparseLinear).weight.colIdx.set((grown.layer as SparseLinear).weight.colIdx);
    const optCopy = make(values(copy));
    optCopy.loadState(state);
    step(grown, optGrown, 9999);
    step(copy, optCopy, 9999);
    assert.deepEqual([...values(copy).data], [...values(grown).data]);
  });
}

test("loadState refuses per-entry step counts that are not integers in [0, step]", () => {
  const p = sparseParam();
  const optimizer = new Adam([{ params: [values(p)] }], { lr: LR });
  step(p, optimizer, 0);
  const state = optimizer.getState();
  const withCounts = (counts: number[]) => ({ ...state, buffers: { ...state.buffers, "layers.0.weight.entry_steps": Float32Array.from(counts) } });
  assert.throws(() => optimizer.loadState(withCounts([1, 0, 1, 1, 2])), /layers\.0\.weight\.entry_steps\[4\]: expected an integer step count in \[0, 1\], found 2/);
  assert.throws(() => optimizer.loadState(withCounts([1, 0.5, 1, 1, 1])), /entry_steps\[1\]/);
  assert.throws(() => optimizer.loadState(withCounts([1, 1])), /entry_steps: expected 5 values, found 2/);
  optimizer.loadState(withCounts([1, 0, 1, 1, 1]));
  assert.deepEqual([...optimizer.getState().buffers["layers.0.weight.entry_steps"]], [1, 0, 1, 1, 1]);
});

test("a RigL run with Adam resumed from epoch 1 is bit-identical; its state file carries the per-entry step counts", () => {
  const recipe = validateRecipe({
    name: "adam-regrowth-resume",
    seed: 5,
    data: { dataset: "mnist", validation: 0.1, limit: { train: 600, test: 200 }, batchSize: 64 },
    model: { preset: "mlp", widths: [32] },
    optimizer: { name: "adam", lr: 0.003 },
    train: { epochs: 3 },
    sparsity: { method: "rigl", density: 0.2, distribution: "uniform", denseLast: true, updateEvery: 4, endFraction: 0.9, dropFraction: 0.3 },
    output: { checkpointEvery: 1 },
  });
  const root = mkdtempSync(join(tmpdir(), "adam-regrowth-"));
  const straight = runRecipe(recipe, "adam-regrowth.yaml", { runDir: join(root, "straight") });
  const resumed = runRecipe(recipe, "adam-regrowth.yaml", { runDir: join(root, "resumed"), resume: join(root, "straight", "epoch-1.safetensors") });
  const a = readSafetensors(straight.checkpoint).tensors, b = readSafetensors(resumed.checkpoint).tensors;
  for (const [tensorName, t] of a) assert.deepEqual(Buffer.from(b.get(tensorName)!.values.buffer), Buffer.from(t.values.buffer), `tensor ${tensorName} differs`);
  const state = readSafetensors(join(root, "straight", "epoch-1.state.safetensors")).tensors;
  const counts = [...state.entries()].find(([key]) => key.endsWith("entry_steps"));
  assert.ok(counts !== undefined, `no per-entry step counts among ${[...state.keys()].join(", ")}`);
  const steps = Array.from(counts[1].values, Number);
  assert.ok(Math.min(...steps) < Math.max(...steps), `regrown entries count fewer steps than kept ones: ${Math.min(...steps)}..${Math.max(...steps)}`);
});
