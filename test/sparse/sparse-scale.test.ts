// Every path of a CSR layer costs O(nnz): drawing, loading, `info`, run-log counts and mask grids, pruning, shrinking, lottery snapshots, quantization and SNIP on a 50,000 × 50,000 layer, and positions past 2^31.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { backward, noGrad } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { BatchLoader } from "../../src/data/batches.js";
import { Dataset } from "../../src/data/dataset.js";
import { hasSparseWeight } from "../../src/nn/layer.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { loadFlowState, saveFlowState } from "../../src/sparse/prune/flow-state.js";
import { rewind, snapshot } from "../../src/sparse/prune/flows.js";
import { readPrunable } from "../../src/sparse/prune/prunable.js";
import { pruneModel } from "../../src/sparse/prune/pruner.js";
import { shrinkStructures } from "../../src/sparse/prune/shrink.js";
import { weightGroups } from "../../src/sparse/regularize/weight-groups.js";
import { TopK } from "../../src/sparse/dynamic/top-k.js";
import { snipPrune } from "../../src/sparse/snip.js";
import { fillUniform } from "../../src/tensor/init.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { empty, tensor, tidy, viewAs } from "../../src/tensor/tensor.js";

const dir = mkdtempSync(join(tmpdir(), "sparse-scale-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Row-major positions of a CSR matrix's entries. */
function positionsOf(m: SparseMatrix): number[] {
  const out: number[] = [];
  for (let r = 0; r < m.rows; r++) for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) out.push(r * m.cols + m.colIdx[p]);
  return out;
}

// The draw `SparseMatrix.random` made before it became O(nnz): Floyd's sampling with one bit per position.
function bitsetFloyd(rows: number, cols: number, density: number, rng: Rng): number[] {
  const total = rows * cols, count = Math.round(density * total);
  const chosen = new Uint32Array(Math.ceil(total / 32));
  const isChosen = (i: number) => (chosen[i >>> 5] & (1 << (i & 31))) !== 0;
  for (let j = total - count; j < total; j++) {
    const t = rng.int(j + 1);
    const index = isChosen(t) ? j : t;
    chosen[index >>> 5] |= 1 << (index & 31);
  }
  const out: number[] = [];
  for (let i = 0; i < total; i++) if (isChosen(i)) out.push(i);
  return out;
}

test("SparseMatrix.random draws the same structure for a seed as the one-bit-per-position sampling it replaced", () => {
  for (const [rows, cols, density, seed] of [[1, 1, 1, 0], [7, 9, 0, 1], [7, 9, 1, 2], [40, 30, 0.5, 3], [300, 200, 0.05, 4], [1000, 999, 0.001, 5], [64, 64, 0.99, 6]]) {
    const m = SparseMatrix.random(rows, cols, density, new Rng(seed, "draw"));
    m.validate();
    assert.deepEqual(positionsOf(m), bitsetFloyd(rows, cols, density, new Rng(seed, "draw")), `${rows}×${cols} at ${density}`);
    m.dispose();
  }
});

test("a 100,000 × 100,000 layer: structured, N:M and group selection use the right rows and columns past position 2^31", () => {
  const model = buildModel({ preset: "mlp", inputShape: [100_000], widths: [100_000], classes: 2, seed: 1, sparse: { "0": 1e-6 } });
  const param = () => model.net.parameters()[0] as NamedParameter & { sparse: SparseMatrix };
  // Rows far beyond 2^31 / 100,000 ≈ 21,475: row 99,999 starts at position 9,999,900,000.
  const entries: [number, number, number][] = [
    [5, 0, 0.1], [5, 1, 0.2], [30_000, 3, 4], [30_000, 4, 3], [30_000, 5, 2], [30_000, 6, 1], [77_777, 99_999, 5], [99_999, 10, 0.05], [99_999, 77_777, 0.01],
  ];
  const rowPtr = new Int32Array(100_001);
  for (const [r] of entries) rowPtr[r + 1]++;
  for (let r = 0; r < 100_000; r++) rowPtr[r + 1] += rowPtr[r];
  const layer = param().layer;
  assert.ok(hasSparseWeight(layer));
  layer.setSparseWeight(SparseMatrix.fromCSR({ rows: 100_000, cols: 100_000, rowPtr, colIdx: entries.map((e) => e[1]), values: entries.map((e) => e[2]) }));

  assert.deepEqual([...readPrunable(param()).positions], entries.map(([r, c]) => r * 100_000 + c));
  assert.deepEqual([...weightGroups(param(), "neurons").group], entries.map((e) => e[0]));
  assert.deepEqual([...weightGroups(param(), "inputs").group], entries.map((e) => e[1]));

  // N:M with M = 5 (does not divide 2^32, so wrapped positions would split runs): 2 of the run 0..4 of row 30,000 stay (scores 4, 3), 2 of 5..9 (2, 1).
  pruneModel(model, { criterion: "magnitude", nm: { n: 1, m: 5 }, include: ["layers.0"] }, null);
  const kept = () => positionsOf(param().sparse).map((p) => [Math.floor(p / 100_000), p % 100_000]);
  assert.deepEqual(kept(), [[5, 1], [30_000, 3], [30_000, 5], [77_777, 99_999], [99_999, 10], [99_999, 77_777]]);

  // Neurons by L1 norm: of the 6 alive rows... 4 alive rows (5: 0.2, 30,000: 6, 77,777: 5, 99,999: 0.06); pruning half keeps 30,000 and 77,777.
  pruneModel(model, { criterion: "magnitude", amount: 0.5, structure: "neurons", norm: 1, include: ["layers.0"] }, null);
  assert.deepEqual(kept(), [[30_000, 3], [30_000, 5], [77_777, 99_999]]);

  // Inputs: of columns 3, 5 and 99,999 (norms 4, 2, 5), pruning one removes column 5.
  pruneModel(model, { criterion: "magnitude", amount: { count: 1 }, structure: "inputs", norm: 1, include: ["layers.0"] }, null);
  assert.deepEqual(kept(), [[30_000, 3], [77_777, 99_999]]);
});

/** A 2-layer sparse MLP and a batch, for the snapshot and shrink tests. */
function smallSparseMlp(seed: number): Model {
  return buildModel({ preset: "mlp", inputShape: [12], widths: [16, 8], classes: 3, seed, sparse: { "0": 0.5, "2": 0.5 } });
}

function outputsOf(model: Model): Float32Array {
  const rng = new Rng(5, "test/inputs");
  const x = Float32Array.from({ length: 4 * 12 }, () => rng.normal());
  return noGrad(() => tidy(() => model.net.eval().forward(tensor(x, [4, 12])).toArray()));
}

test("a lottery snapshot of a CSR weight holds its stored values and structure only, survives the flow-state file, and rewinds exactly", () => {
  const model = smallSparseMlp(2);
  const weight = () => model.net.parameters()[0];
  const nnz = weight().sparse!.nnz;
  const before = weight().sparse!.values.toArray();
  const beforePositions = positionsOf(weight().sparse!);
  saveFlowState(dir, "lottery", { shapes: {}, rewind: snapshot(model.net.parameters()), rewindStep: 0 });
  const saved = loadFlowState(join(dir, "prune-flow.safetensors"), "lottery").rewind!;
  assert.equal(saved.get(weight().name)!.values.length, nnz, "a CSR weight's snapshot is its nnz values, not rows×cols");
  for (const p of model.net.parameters()) p.tensor.data.fill(0.5);
  pruneModel(model, { criterion: "random", amount: 0.5, seed: 1 }, null);
  rewind(model.net.parameters(), saved, null);
  const positions = positionsOf(weight().sparse!);
  assert.equal(positions.length, nnz - Math.round(nnz / 2));
  weight().sparse!.values.toArray().forEach((v, k) => assert.equal(v, before[beforePositions.indexOf(positions[k])]));
});

test("shrinking CSR layers removes dead neurons and folds their constant outputs into the next bias without changing the function", () => {
  const model = smallSparseMlp(3);
  pruneModel(model, { criterion: "magnitude", amount: 0.5, structure: "neurons", include: ["layers.0"] }, null);
  const pruned = outputsOf(model);
  const { results } = shrinkStructures(model, null);
  assert.deepEqual(results.map((r) => [r.layer, r.kept]), [[0, 8]]);
  const shrunk = model.net.parameters().filter((p) => p.sparse).map((p) => [p.sparse!.rows, p.sparse!.cols]);
  assert.deepEqual(shrunk, [[8, 12], [8, 8]]);
  outputsOf(model).forEach((v, i) => assert.ok(Math.abs(v - pruned[i]) < 1e-5, `output ${i}: ${v} vs ${pruned[i]}`));
});

// SNIP as it was before it went chunked: every sparse layer a fully dense CSR, scored whole.
function denseSnipReference(model: Model, data: Dataset, seed: number, batches: number, batchSize: number): void {
  const sparse = model.net.parameters().filter((p) => p.sparse !== undefined);
  const budget = sparse.reduce((a, p) => a + p.sparse!.nnz, 0);
  for (const p of sparse) {
    const { rows, cols } = p.sparse!;
    const values = fillUniform(empty([rows * cols]), new Rng(seed, `snip/${p.name}/init`), -1 / Math.sqrt(cols), 1 / Math.sqrt(cols));
    const full = SparseMatrix.fromCSR({ rows, cols, rowPtr: Int32Array.from({ length: rows + 1 }, (_, i) => i * cols), colIdx: Int32Array.from({ length: rows * cols }, (_, q) => q % cols), values });
    if (hasSparseWeight(p.layer)) p.layer.setSparseWeight(full);
  }
  const full = model.net.parameters().filter((p) => p.sparse !== undefined);
  const loader = new BatchLoader(data, { batchSize, shuffleSeed: seed });
  model.net.eval();
  for (let b = 0; b < batches; b++) {
    const batch = loader.fill(0, b);
    tidy(() => {
      const x = empty([batch.size, data.featureSize]);
      x.data.set(batch.features);
      backward(crossEntropy(model.net.forward(viewAs(x, [batch.size, ...model.inputShape])), batch.labels, { reduction: "mean" }));
    });
  }
  const top = new TopK(budget);
  let offset = 0;
  const offsets = full.map((p) => {
    const w = p.tensor.data, g = p.tensor.grad!.data;
    for (let i = 0; i < w.length; i++) top.push(Math.abs(g[i] * w[i]), offset + i);
    offset += w.length;
    return offset - w.length;
  });
  const chosen = top.positionsByScore().sort();
  full.forEach((p, l) => {
    const m = p.sparse!, w = p.tensor.data;
    const mine = [...chosen].filter((c) => c >= offsets[l] && c < offsets[l] + w.length).map((c) => c - offsets[l]);
    const rowPtr = new Int32Array(m.rows + 1);
    for (const i of mine) rowPtr[Math.floor(i / m.cols) + 1]++;
    for (let r = 0; r < m.rows; r++) rowPtr[r + 1] += rowPtr[r];
    if (hasSparseWeight(p.layer)) p.layer.setSparseWeight(m.withStructure(rowPtr, mine.map((i) => i % m.cols), mine.map((i) => w[i])));
  });
}

function snipData(): Dataset {
  const rng = new Rng(9, "snip-data");
  const features = Float32Array.from({ length: 40 * 30 }, () => rng.normal());
  return new Dataset(features, Int32Array.from({ length: 40 }, (_, i) => i % 4), [30], 4, "random");
}

test("SNIP scored in row chunks chooses the same positions with the same values as scoring a fully dense CSR", () => {
  const spec = { preset: "mlp" as const, inputShape: [30], widths: [25, 20], classes: 4, seed: 6, sparse: { "0": 0.2, "2": 0.3 } };
  const chunked = buildModel(spec), reference = buildModel(spec);
  // 70 weights per chunk: 2 rows of layer 0 and 2 of layer 2 (3 of 25 per chunk), ragged last chunks.
  snipPrune(chunked, snipData(), { seed: 6, batches: 3, batchSize: 8, chunkValues: 70 });
  denseSnipReference(reference, snipData(), 6, 3, 8);
  const structure = (m: Model) => m.net.parameters().filter((p) => p.sparse).map((p) => ({ positions: positionsOf(p.sparse!), values: [...p.sparse!.values.data] }));
  const a = structure(chunked), b = structure(reference);
  assert.ok(a[0].positions.length > 0 && a[1].positions.length > 0);
  assert.deepEqual(a, b);
});

// The scale phases run in their own processes (test/helpers/scale-phase.ts) so each one's peak memory is its own.
const phaseScript = fileURLToPath(new URL("../helpers/scale-phase.js", import.meta.url));
const checkpoint = join(dir, "large.safetensors");

interface PhaseResult {
  modelBytes: number;
  heapPeakBytes: number;
  rssGrowthBytes: number;
  seconds: number;
}

function runPhase(phase: string, timeoutSeconds = 60): PhaseResult {
  const child = spawnSync(process.execPath, [phaseScript, phase, checkpoint], { encoding: "utf8", timeout: timeoutSeconds * 1000 });
  assert.equal(child.status, 0, `phase ${phase} failed: ${child.stderr}${child.error ?? ""}`);
  const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as PhaseResult;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  process.stdout.write(`# ${phase}: ${result.seconds.toFixed(2)} s, heap peak ${mib(result.heapPeakBytes)}, RSS growth ${mib(result.rssGrowthBytes)}, model ${mib(result.modelBytes)}\n`);
  return result;
}

/**
 * The WebAssembly heap stays within 4× the model's stored bytes. The process's RSS also counts JS
 * arrays, garbage not yet collected and fixed costs (V8's young generation, I/O buffers), so it gets
 * 16× plus 32 MiB: still below anything with one entry per rows·cols position (a 50,000 × 50,000
 * Float32Array is 10 GB; even one bit per position is 312 MB). Each phase takes seconds, not the
 * tens of seconds a scan of all 2.5·10⁹ positions takes.
 */
function assertSmall(phase: string, r: PhaseResult, maxSeconds = 10): void {
  assert.ok(r.heapPeakBytes <= 4 * r.modelBytes, `${phase}: heap peak ${r.heapPeakBytes} bytes > 4 × the model's ${r.modelBytes}`);
  const rssLimit = 16 * r.modelBytes + 32 * 2 ** 20;
  assert.ok(r.rssGrowthBytes <= rssLimit, `${phase}: RSS grew by ${r.rssGrowthBytes} bytes > 16 × the model's ${r.modelBytes} + 32 MiB`);
  assert.ok(r.seconds < maxSeconds, `${phase} took ${r.seconds.toFixed(1)} s`);
}

test("a 784-50000-50000-10 model with a 50,000 × 50,000 CSR layer at 0.05%: build, load, info, run-log counts and mask grids, prune and quantize in O(nnz) memory, info well under a second", () => {
  assertSmall("build", runPhase("build"));
  assertSmall("load", runPhase("load"));
  const info = runPhase("info");
  assertSmall("info", info);
  assert.ok(info.seconds < 1, `info took ${info.seconds.toFixed(2)} s`);
  // A run log's per-epoch layer counts and a mask snapshot: O(nnz), no dense-size array.
  const runLog = runPhase("run-log");
  assertSmall("run-log", runLog);
  assert.ok(runLog.seconds < 1, `run-log counts took ${runLog.seconds.toFixed(2)} s`);
  assertSmall("prune", runPhase("prune"));
  assertSmall("quantize", runPhase("quantize"));
});

test("SNIP on a 784 → 20,000 CSR layer keeps the heap within a small multiple of the model's bytes (its dense twin is 63 MB)", () => {
  assertSmall("snip", runPhase("snip"));
});

// SNIP must look at every one of the 2.5·10⁹ positions (its time is O(rows·cols), about 45 s here),
// but its memory stays O(nnz): row chunks of the regenerated initialization and a running top-k.
test("SNIP on the 784-50000-50000-10 model keeps the heap within 4× its CSR bytes", () => {
  assertSmall("snip-large", runPhase("snip-large", 400), 300);
});
