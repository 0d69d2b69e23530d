// Mask snapshots and layer counts on hand-made matrices: density grids of dense, masked and CSR weights (awkward sizes, 300 × 784), receptive fields, and the resume trimming of both logs.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { infoCommand } from "../../src/cli/checkpoint-commands.js";
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel } from "../../src/nn/presets.js";
import { keep, tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/tensor/rng.js";
import { weightLayerStats } from "../../src/nn/layer-stats.js";
import { densityGrid, inputDensity, maskLayers, type WeightMatrix } from "../../src/train/mask-snapshot.js";
import { keepMasksUpTo, keepMetricsUpTo } from "../../src/train/run-log.js";

/** A dense rows × cols matrix with 1 at the given (row, col) entries. */
function dense(rows: number, cols: number, entries: [number, number][]): WeightMatrix {
  const values = new Float32Array(rows * cols);
  for (const [r, c] of entries) values[r * cols + c] = 1;
  return { rows, cols, values };
}

/** The same matrix as CSR, storing `zeros` extra explicit zeros (a CSR weight may hold a stored 0). */
function csrOf(m: WeightMatrix, storeZerosAt: [number, number][] = []): WeightMatrix {
  const rowPtr = [0], colIdx: number[] = [], values: number[] = [];
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c];
      if (v !== 0 || storeZerosAt.some(([zr, zc]) => zr === r && zc === c)) {
        colIdx.push(c);
        values.push(v);
      }
    }
    rowPtr.push(colIdx.length);
  }
  return { rows: m.rows, cols: m.cols, values, rowPtr, colIdx };
}

/** The grid cell by cell (the library goes entry by entry): blocks of ⌈n / cells⌉, last one shorter. */
function referenceGrid(m: WeightMatrix, maxCells: number): number[] {
  const br = Math.ceil(m.rows / maxCells), bc = Math.ceil(m.cols / maxCells);
  const out: number[] = [];
  for (let r0 = 0; r0 < m.rows; r0 += br) {
    for (let c0 = 0; c0 < m.cols; c0 += bc) {
      let nonzero = 0, entries = 0;
      for (let r = r0; r < Math.min(m.rows, r0 + br); r++) for (let c = c0; c < Math.min(m.cols, c0 + bc); c++, entries++) if (m.values[r * m.cols + c] !== 0) nonzero++;
      out.push(Math.round((nonzero / entries) * 1e4) / 1e4);
    }
  }
  return out;
}

test("a 4 × 4 weight into 2 × 2 cells: each cell is the fraction of its four entries that are non-zero", () => {
  const m = dense(4, 4, [[0, 0], [1, 1], [0, 3], [3, 3]]);
  assert.deepEqual(densityGrid(m, 2), { rows: 2, cols: 2, density: [0.5, 0.25, 0, 0.25] });
  assert.deepEqual(densityGrid(csrOf(m, [[2, 2]]), 2), { rows: 2, cols: 2, density: [0.5, 0.25, 0, 0.25] }, "a stored zero is not a non-zero");
});

test("a 7 × 5 weight into at most 3 × 3 cells: blocks of 3 rows and 2 columns, the last ones shorter and counted by their own size", () => {
  const all: [number, number][] = [];
  for (let r = 0; r < 7; r++) for (let c = 0; c < 5; c++) all.push([r, c]);
  assert.deepEqual(densityGrid(dense(7, 5, all), 3), { rows: 3, cols: 3, density: [1, 1, 1, 1, 1, 1, 1, 1, 1] });
  // The corner cell is the single entry (6, 4).
  assert.deepEqual(densityGrid(dense(7, 5, [[6, 4]]), 3).density, [0, 0, 0, 0, 0, 0, 0, 0, 1]);
  // (2, 1) and (3, 2): cells of 3 × 2 = 6 entries.
  assert.deepEqual(densityGrid(dense(7, 5, [[2, 1], [3, 2]]), 3).density, [0.1667, 0, 0, 0, 0.1667, 0, 0, 0, 0]);
  const pattern = all.filter(([r, c]) => (r * 5 + c) % 3 === 0);
  assert.deepEqual(densityGrid(dense(7, 5, pattern), 3).density, referenceGrid(dense(7, 5, pattern), 3));
  assert.deepEqual(densityGrid(csrOf(dense(7, 5, pattern)), 3), densityGrid(dense(7, 5, pattern), 3));
  // Small weights keep one cell per entry.
  assert.deepEqual(densityGrid(dense(7, 5, pattern)).density, Array.from(dense(7, 5, pattern).values));
});

test("300 × 784 at 10% density: 60 × 61 cells (blocks of 5 × 13), the same from dense, masked and CSR storage", () => {
  const rng = new Rng(5, "mask-grid");
  const entries: [number, number][] = [];
  for (let r = 0; r < 300; r++) for (let c = 0; c < 784; c++) if (rng.uniform() < 0.1) entries.push([r, c]);
  const d = dense(300, 784, entries);
  const grid = densityGrid(d);
  assert.equal(grid.rows, 60);
  assert.equal(grid.cols, 61);
  assert.ok(grid.rows <= 64 && grid.cols <= 64);
  assert.deepEqual(grid.density, referenceGrid(d, 64));
  assert.deepEqual(densityGrid(csrOf(d)), grid);
  const mean = grid.density.reduce((a, b) => a + b, 0) / grid.density.length;
  assert.ok(Math.abs(mean - 0.1) < 0.01, `mean cell density ${mean}`);
});

test("inputs: per pixel, the fraction of output units connected to it, summed over channels", () => {
  // 3 outputs over a 1 × 2 × 2 image: pixel 1 feeds every output, pixel 2 none.
  const m = dense(3, 4, [[0, 0], [0, 1], [1, 1], [2, 1], [2, 3]]);
  assert.deepEqual(inputDensity(m, [1, 2, 2]), { shape: [2, 2], density: [0.3333, 1, 0, 0.3333] });
  assert.deepEqual(inputDensity(csrOf(m), [1, 2, 2]), inputDensity(m, [1, 2, 2]));
  // Two channels of 1 × 2: inputs 0 and 2 are pixel 0, inputs 1 and 3 pixel 1.
  assert.deepEqual(inputDensity(m, [2, 1, 2]), { shape: [1, 2], density: [0.3333, 1.3333] });
  assert.throws(() => inputDensity(m, [1, 3, 3]), /\[1,3,3\] has 9 inputs, the layer 4/);
});

test("a model's snapshot: one grid per weight, the receptive field for the first layer of an image model only; CSR and its dense twin agree", () => {
  const sparse = buildModel({ preset: "mlp", inputShape: [1, 28, 28], widths: [40, 20], classes: 10, seed: 2, sparse: { "0": 0.1, "2": 0.3 } });
  const layers = maskLayers(sparse);
  assert.deepEqual(layers.map((l) => l.name), ["layers.0.weight", "layers.2.weight", "layers.4.weight"]);
  assert.deepEqual(layers[0].inputs?.shape, [28, 28]);
  assert.equal(layers[1].inputs, undefined);
  const [w0] = sparse.net.parameters();
  const twin = w0.sparse!.toDense();
  assert.deepEqual(densityGrid({ rows: 40, cols: 784, values: twin.data }), layers[0].grid);
  assert.deepEqual(inputDensity({ rows: 40, cols: 784, values: twin.data }, [1, 28, 28]), layers[0].inputs);
  twin.dispose();
  const stats = weightLayerStats(sparse);
  assert.deepEqual(stats.map((s) => [s.name, s.storage, s.shape]), [["layers.0.weight", "csr", [40, 784]], ["layers.2.weight", "csr", [20, 40]], ["layers.4.weight", "dense", [10, 20]]]);
  assert.equal(stats[0].stored, w0.sparse!.nnz);
  const flat = buildModel({ preset: "mlp", inputShape: [12], widths: [4], classes: 2, seed: 2 });
  assert.equal(maskLayers(flat)[0].inputs, undefined, "not an image model");
});

test("resume trimming: start, epoch and update lines up to the checkpoint's step stay; later ones, the final line and a torn line go", () => {
  const dir = mkdtempSync(join(tmpdir(), "run-log-trim-"));
  const metrics = join(dir, "metrics.jsonl");
  const lines = [
    { kind: "start", step: 0 }, { kind: "update", step: 5 }, { kind: "epoch", epoch: 1, step: 11 }, { kind: "start", step: 11, resumed: "epoch-1" },
    { kind: "update", step: 12 }, { kind: "epoch", epoch: 2, step: 22 }, { kind: "final", final: true, step: 22 },
  ];
  writeFileSync(metrics, lines.map((l) => JSON.stringify(l)).join("\n") + '\n{"kind":"epoch","ep');
  keepMetricsUpTo(metrics, 11);
  assert.deepEqual(readFileSync(metrics, "utf8").trim().split("\n").map((l) => JSON.parse(l)), lines.slice(0, 4));
  // An old (version 1) final line without kind goes too.
  writeFileSync(metrics, `${JSON.stringify({ epoch: 1, step: 11 })}\n${JSON.stringify({ final: true, step: 11 })}\n`);
  keepMetricsUpTo(metrics, 11);
  assert.deepEqual(readFileSync(metrics, "utf8"), `${JSON.stringify({ epoch: 1, step: 11 })}\n`);

  const masks = join(dir, "masks.jsonl");
  const snapshots = [{ kind: "mask", phase: "start", step: 0 }, { kind: "mask", phase: "middle", step: 22 }, { kind: "mask", phase: "end", step: 22 }];
  writeFileSync(masks, snapshots.map((l) => JSON.stringify(l)).join("\n") + "\n");
  keepMasksUpTo(masks, 22);
  assert.deepEqual(readFileSync(masks, "utf8").trim().split("\n").map((l) => JSON.parse(l)), snapshots.slice(0, 2), "the end snapshot is always rewritten");
  keepMasksUpTo(masks, 11);
  assert.deepEqual(readFileSync(masks, "utf8").trim().split("\n").map((l) => JSON.parse(l)), snapshots.slice(0, 1));
});

test("a masked weight stores its mask's ones, and `info` prints the counts the run log records", () => {
  const model = buildModel({ preset: "mlp", inputShape: [6], widths: [4], classes: 2, seed: 3 });
  const layer = model.net.layers[0] as Linear;
  const mask = new Float32Array(24);
  for (const i of [0, 5, 7, 11, 12, 23]) mask[i] = 1;
  layer.setMask(keep(tensor(mask, [4, 6])));
  layer.weight.data[7] = 0; // a kept entry that is exactly zero: stored, not non-zero
  const [stats] = weightLayerStats(model);
  assert.deepEqual(stats, { name: "layers.0.weight", layer: "Linear", shape: [4, 6], storage: "masked", stored: 6, nonzero: 5, density: 5 / 24 });
  const path = join(mkdtempSync(join(tmpdir(), "layer-stats-")), "masked.safetensors");
  saveCheckpoint(path, model, { step: 0, epoch: 0, seed: 3 });
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    infoCommand(path, { json: true });
  } finally {
    process.stdout.write = write;
  }
  const row = (JSON.parse(out).layers as Record<string, unknown>[]).find((l) => l.name === "layers.0.weight")!;
  assert.deepEqual([row.storage, row.stored, row.nonzero, row.density], ["masked", 6, 5, 5 / 24]);
});
