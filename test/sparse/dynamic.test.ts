// The shared drop-and-grow routine, its grow rules (random, chunked dense gradient), the running top-k and the drop schedule.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { Sgd } from "../../src/optim/sgd.js";
import { dropAndGrow, isStored, lowestScores, magnitudeScores } from "../../src/sparse/dynamic/drop-and-grow.js";
import { dropFractionAt, isUpdateStep } from "../../src/sparse/dynamic/drop-schedule.js";
import { CHUNK_VALUES, topDenseGradient } from "../../src/sparse/dynamic/gradient-growth.js";
import { randomGrowth } from "../../src/sparse/dynamic/random-growth.js";
import { TopK } from "../../src/sparse/dynamic/top-k.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { tensor } from "../../src/tensor/tensor.js";

function layerParam(matrix: SparseMatrix): NamedParameter {
  const layer = new SparseLinear(matrix);
  matrix.values.name = "layers.0.weight";
  return { name: "layers.0.weight", tensor: matrix.values, sparse: matrix, layerIndex: 0, layer };
}

const current = (p: NamedParameter) => (p.layer as SparseLinear).weight;

function positions(m: SparseMatrix): number[] {
  const out: number[] = [];
  for (let r = 0; r < m.rows; r++) for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) out.push(r * m.cols + m.colIdx[p]);
  return out;
}

test("dropAndGrow drops the smallest |w|, grows the given positions at zero, and carries values and momentum of kept entries", () => {
  // 3×4: row 0 = [_, 0.5, _, -0.1], row 1 = [0.3, _, _, _], row 2 = [_, _, -0.9, 0.05]
  const matrix = SparseMatrix.fromCSR({ rows: 3, cols: 4, rowPtr: [0, 2, 3, 5], colIdx: [1, 3, 0, 2, 3], values: [0.5, -0.1, 0.3, -0.9, 0.05] });
  const param = layerParam(matrix);
  const optimizer = new Sgd([{ params: [matrix.values] }], { lr: 0.1, momentum: 0.9 });
  optimizer.buffer(matrix.values, "momentum_buffer").data.set([1, 2, 3, 4, 5]);
  const result = dropAndGrow(param, optimizer, {
    dropCount: 2, dropScores: magnitudeScores(matrix.values.data), growCount: 2,
    grow: () => new Float64Array([2 * 4 + 0, 0 * 4 + 2]),
  });
  const next = current(param);
  assert.deepEqual([...next.rowPtr], [0, 2, 3, 5]);
  assert.deepEqual([...next.colIdx], [1, 2, 0, 0, 2]);
  assert.deepEqual([...next.values.data], [0.5, 0, 0.3, 0, -0.9].map(Math.fround));
  assert.deepEqual([...optimizer.buffer(next.values, "momentum_buffer").data], [1, 0, 3, 0, 4]);
  assert.deepEqual([...result.dropped], [3, 11]);
  assert.deepEqual([...result.grown], [2, 8]);
  assert.ok(matrix.isDisposed && !next.isDisposed);
  assert.ok(next.values.requiresGrad);
  assert.equal(next.values.name, "layers.0.weight");
});

test("dropAndGrow refuses a grow rule that picks a stored position (a dropped one included) or too few", () => {
  const make = () => layerParam(SparseMatrix.fromCSR({ rows: 2, cols: 2, rowPtr: [0, 1, 2], colIdx: [0, 1], values: [0.1, 1] }));
  assert.throws(() => dropAndGrow(make(), null, { dropCount: 1, dropScores: [0.1, 1], growCount: 1, grow: () => new Float64Array([0]) }), /already stored/);
  assert.throws(() => dropAndGrow(make(), null, { dropCount: 1, dropScores: [0.1, 1], growCount: 1, grow: () => new Float64Array([]) }), /found 0 free positions, 1 were needed/);
});

test("lowestScores breaks ties towards the lower index and returns ascending indices", () => {
  assert.deepEqual([...lowestScores([3, 1, 2, 1, 0], 3)], [1, 3, 4]);
  assert.deepEqual([...lowestScores([5, 5, 5], 2)], [0, 1]);
  assert.deepEqual([...lowestScores([1], 0)], []);
});

test("random growth picks distinct free positions, deterministically, at low and at high density", () => {
  for (const density of [0.05, 0.8]) {
    const grow = (seed: number) => {
      const param = layerParam(SparseMatrix.random(20, 30, density, new Rng(1, "structure")));
      const m = param.sparse!;
      const free = 600 - m.nnz;
      const count = Math.min(50, free);
      const chosen = randomGrowth(() => new Rng(seed, "grow"))(param, count);
      assert.equal(new Set(chosen).size, count);
      for (const p of chosen) assert.ok(!isStored(m.rowPtr, m.colIdx, Math.floor(p / 30), p % 30) && p >= 0 && p < 600);
      assert.throws(() => randomGrowth(() => new Rng(seed, "grow"))(param, free + 1), /only \d+ positions are free/);
      return [...chosen];
    };
    assert.deepEqual(grow(3), grow(3));
    assert.notDeepEqual(grow(3), grow(4));
  }
});

test("TopK keeps the k largest scores, ties to the smaller position, whatever the push order", () => {
  const rng = new Rng(2, "topk");
  const items = Array.from({ length: 500 }, (_, i) => ({ score: rng.int(40), position: i }));
  const expected = [...items].sort((a, b) => b.score - a.score || a.position - b.position).slice(0, 37).map((x) => x.position);
  for (const order of [items, [...items].reverse(), rng.shuffle([...items])]) {
    const top = new TopK(37);
    for (const x of order) top.push(x.score, x.position);
    assert.deepEqual([...top.positionsByScore()], expected);
  }
  const empty = new TopK(0);
  empty.push(1, 1);
  assert.equal(empty.size, 0);
});

test("topDenseGradient returns the free positions of largest |dY·Xᵀ|, in row chunks, never a stored one", () => {
  const rng = new Rng(5, "probe");
  // cols large enough that a chunk holds fewer rows than the layer: the chunk loop is exercised.
  const rows = 70, cols = 1500, batch = 9;
  assert.ok(Math.floor(CHUNK_VALUES / cols) < rows);
  const matrix = SparseMatrix.random(rows, cols, 0.1, rng.fork("structure"));
  const xValues = Array.from({ length: cols * batch }, () => rng.normal());
  const dyValues = Array.from({ length: rows * batch }, () => rng.normal());
  const x = tensor(xValues, [cols, batch]), dy = tensor(dyValues, [rows, batch]);
  const k = 400;
  const chosen = topDenseGradient(x, dy, matrix, k);

  const score = (p: number) => {
    const r = Math.floor(p / cols), c = p % cols;
    let s = 0;
    for (let b = 0; b < batch; b++) s += dyValues[r * batch + b] * xValues[c * batch + b];
    return Math.abs(s);
  };
  assert.equal(chosen.length, k);
  assert.equal(new Set(chosen).size, k);
  const chosenSet = new Set(chosen);
  let weakestChosen = Infinity, strongestOther = 0;
  for (let p = 0; p < rows * cols; p++) {
    const stored = isStored(matrix.rowPtr, matrix.colIdx, Math.floor(p / cols), p % cols);
    if (chosenSet.has(p)) {
      assert.ok(!stored, `position ${p} is stored`);
      weakestChosen = Math.min(weakestChosen, score(p));
    } else if (!stored) {
      strongestOther = Math.max(strongestOther, score(p));
    }
  }
  assert.ok(weakestChosen >= strongestOther - 1e-4, `weakest chosen ${weakestChosen} < strongest left out ${strongestOther}`);
  for (let i = 1; i < k; i++) assert.ok(score(chosen[i - 1]) >= score(chosen[i]) - 1e-4, "strongest first");
});

test("drop schedule: updates every ΔT steps before T_end; cosine decay α/2·(1 + cos(πt/T_end))", () => {
  const schedule = { updateEvery: 10, endStep: 35, dropFraction: 0.4, decay: "cosine" as const };
  const steps = Array.from({ length: 50 }, (_, t) => t).filter((t) => isUpdateStep(schedule, t));
  assert.deepEqual(steps, [10, 20, 30]);
  assert.equal(dropFractionAt(schedule, 0), 0.4);
  assert.ok(Math.abs(dropFractionAt(schedule, 17.5) - 0.2) < 1e-12);
  assert.ok(Math.abs(dropFractionAt(schedule, 35)) < 1e-12);
  assert.equal(dropFractionAt({ ...schedule, decay: "constant" }, 30), 0.4);
});
