// SNIP (Lee et al. 2019): choose a sparse layer's connections at initialization by connection sensitivity |∂L/∂w · w|, global top-k.
//
// Every sparse layer is first filled completely (a CSR at density 1 holding dense initial weights
// U(±1/√fan_in), as a dense Linear would have them), the loss gradient is accumulated over a few
// training batches (the sparse kernels compute it at every stored, i.e. every, position), and the
// budget Σ nnz of the layers as built is given to the positions with the largest |g·w| over all
// sparse layers together. Each layer then becomes a CSR holding its chosen positions with their
// initial values.
//
// NOTE: this is the one place where a sparse layer is transiently dense (weights, gradient and a
// dense column index): SNIP needs the gradient at every position once, at initialization. It is
// not chunked; for layers whose dense twin does not fit in memory use `init: random`.
import { backward } from "../autograd/engine.js";
import { crossEntropy } from "../autograd/ops/loss.js";
import { BatchLoader } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import type { Model } from "../nn/presets.js";
import type { NamedParameter } from "../nn/sequential.js";
import { fillUniform } from "../tensor/init.js";
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { empty, tidy, viewAs } from "../tensor/tensor.js";
import { hasSparseWeight } from "../nn/layer.js";
import { TopK } from "./dynamic/top-k.js";

export interface SnipOptions {
  seed: number;
  /** Batches whose gradients are summed for the scores. */
  batches: number;
  batchSize: number;
}

/** What SNIP chose: non-zeros per sparse weight (by name). */
export type SnipCounts = Record<string, number>;

function fullMatrix(rows: number, cols: number, rng: Rng): SparseMatrix {
  const rowPtr = Int32Array.from({ length: rows + 1 }, (_, i) => i * cols);
  const colIdx = Int32Array.from({ length: rows * cols }, (_, p) => p % cols);
  const bound = 1 / Math.sqrt(cols);
  const values = fillUniform(empty([rows * cols]), rng, -bound, bound);
  return SparseMatrix.fromCSR({ rows, cols, rowPtr, colIdx, values });
}

/**
 * Re-chooses the positions of every sparse weight of `model` by SNIP, keeping the total number of
 * non-zeros the layers were built with. Call before the optimizer exists.
 */
export function snipPrune(model: Model, data: Dataset, options: SnipOptions): SnipCounts {
  const sparse = model.net.parameters().filter((p): p is NamedParameter & { sparse: SparseMatrix } => p.sparse !== undefined);
  const budget = sparse.reduce((a, p) => a + p.sparse.nnz, 0);
  if (sparse.length === 0) return {};

  for (const p of sparse) {
    if (!hasSparseWeight(p.layer)) throw new Error(`snip: ${p.name} cannot change its sparse structure`);
    p.layer.setSparseWeight(fullMatrix(p.sparse.rows, p.sparse.cols, new Rng(options.seed, `snip/${p.name}/init`)));
  }
  const full = model.net.parameters().filter((p) => p.sparse !== undefined);

  const loader = new BatchLoader(data, { batchSize: options.batchSize, shuffleSeed: options.seed });
  const batches = Math.min(options.batches, loader.batchesPerEpoch);
  const wasTraining = model.net.training;
  model.net.eval(); // no dropout randomness: the model's random stream stays untouched
  for (let b = 0; b < batches; b++) {
    const batch = loader.fill(0, b);
    tidy(() => {
      const x = empty([batch.size, data.featureSize]);
      x.data.set(batch.features);
      const logits = model.net.forward(viewAs(x, [batch.size, ...model.inputShape]));
      backward(crossEntropy(logits, batch.labels, { reduction: "mean" }));
    });
  }
  model.net.train(wasTraining);

  // Global top-k of |g·w| over all sparse layers; position = layer offset + row·cols + col.
  const top = new TopK(budget);
  const offsets: number[] = [];
  let offset = 0;
  for (const p of full) {
    offsets.push(offset);
    const w = p.tensor.data, g = p.tensor.grad?.data;
    if (g === undefined) throw new Error(`snip: ${p.name} received no gradient (is the layer used by the model?)`);
    for (let i = 0; i < w.length; i++) {
      const score = Math.abs(g[i] * w[i]);
      if (score >= top.threshold()) top.push(score, offset + i);
    }
    offset += w.length;
  }
  const chosen = top.positionsByScore().sort();

  const counts: SnipCounts = {};
  let k = 0;
  full.forEach((p, l) => {
    const matrix = p.sparse!;
    const end = l + 1 < offsets.length ? offsets[l + 1] : offset;
    const rowPtr = new Int32Array(matrix.rows + 1);
    const colIdx: number[] = [];
    const values: number[] = [];
    const w = p.tensor.data;
    for (; k < chosen.length && chosen[k] < end; k++) {
      const index = chosen[k] - offsets[l];
      const row = Math.floor(index / matrix.cols);
      rowPtr[row + 1]++;
      colIdx.push(index - row * matrix.cols);
      values.push(w[index]);
    }
    for (let i = 0; i < matrix.rows; i++) rowPtr[i + 1] += rowPtr[i];
    counts[p.name] = colIdx.length;
    if (hasSparseWeight(p.layer)) p.layer.setSparseWeight(matrix.withStructure(rowPtr, colIdx, values));
  });
  // The first training step must not add SNIP's gradients to its own.
  for (const p of model.net.parameters()) {
    p.tensor.grad?.dispose();
    p.tensor.grad = null;
  }
  return counts;
}
