// SNIP (Lee et al. 2019): choose a sparse layer's connections at initialization by connection sensitivity |∂L/∂w · w|, global top-k.
//
// Every sparse layer is scored at its dense initialization (weights U(±1/√fan_in), as a dense
// Linear would have them): the loss gradient is accumulated over a few training batches, and the
// budget Σ nnz of the layers as built is given to the positions with the largest |g·w| over all
// sparse layers together. Each layer then becomes a CSR holding its chosen positions with their
// initial values.
//
// A sparse Linear layer is never made dense: a stand-in (snip-dense-layer.ts) regenerates its dense
// weights in row chunks, and the scores stream chunk by chunk into a running top-k, so memory is
// O(budget + chunk + batch activations), not O(rows·cols) (time is rows·cols per pass: SNIP looks
// at every position). A sparse convolution's filter matrix (Cout × Cin·k², small) is still filled
// completely for the passes.
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
import { SparseLinear } from "../nn/sparse-linear.js";
import { TopK } from "./dynamic/top-k.js";
import { SnipDenseLayer } from "./snip-dense-layer.js";

export interface SnipOptions {
  seed: number;
  /** Batches whose gradients are summed for the scores. */
  batches: number;
  batchSize: number;
  /** Weights per row chunk of a sparse Linear layer's dense stand-in (default 65536; tests use small ones). */
  chunkValues?: number;
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

/** How one sparse weight is scored: through a chunked dense stand-in (Linear) or a filled CSR (convolution). */
type ScoredWeight =
  | { param: SparseParameter; stand: SnipDenseLayer }
  | { param: SparseParameter; stand: null };

type SparseParameter = NamedParameter & { sparse: SparseMatrix };

/**
 * Re-chooses the positions of every sparse weight of `model` by SNIP, keeping the total number of
 * non-zeros the layers were built with. Call before the optimizer exists.
 */
export function snipPrune(model: Model, data: Dataset, options: SnipOptions): SnipCounts {
  const sparse = model.net.parameters().filter((p): p is SparseParameter => p.sparse !== undefined);
  const budget = sparse.reduce((a, p) => a + p.sparse.nnz, 0);
  if (sparse.length === 0) return {};

  const layers = model.net.layers;
  const scored: ScoredWeight[] = sparse.map((p) => {
    if (!hasSparseWeight(p.layer)) throw new Error(`snip: ${p.name} cannot change its sparse structure`);
    const stream = `snip/${p.name}/init`;
    if (p.layer instanceof SparseLinear) {
      const stand = new SnipDenseLayer(p.layer, options.seed, stream, options.chunkValues);
      layers[p.layerIndex] = stand;
      return { param: p, stand };
    }
    p.layer.setSparseWeight(fullMatrix(p.sparse.rows, p.sparse.cols, new Rng(options.seed, stream)));
    return { param: p, stand: null };
  });
  try {
    accumulateGradients(model, data, options);
    const chosen = topScores(model, scored, budget);
    return keepChosen(model, scored, chosen);
  } finally {
    for (const s of scored) {
      if (s.stand === null) continue;
      layers[s.param.layerIndex] = s.stand.layer;
      s.stand.dispose();
    }
    // The first training step must not add SNIP's gradients to its own.
    for (const p of model.net.parameters()) {
      p.tensor.grad?.dispose();
      p.tensor.grad = null;
    }
  }
}

/** Forward and backward over the first `options.batches` batches, in eval mode (no dropout randomness: the model's stream stays untouched). */
function accumulateGradients(model: Model, data: Dataset, options: SnipOptions): void {
  const loader = new BatchLoader(data, { batchSize: options.batchSize, shuffleSeed: options.seed });
  const batches = Math.min(options.batches, loader.batchesPerEpoch);
  const wasTraining = model.net.training;
  model.net.eval();
  try {
    for (let b = 0; b < batches; b++) {
      const batch = loader.fill(0, b);
      tidy(() => {
        const x = empty([batch.size, data.featureSize]);
        x.data.set(batch.features);
        const logits = model.net.forward(viewAs(x, [batch.size, ...model.inputShape]));
        backward(crossEntropy(logits, batch.labels, { reduction: "mean" }));
      });
    }
  } finally {
    model.net.train(wasTraining);
  }
}

/** Global top-k of |g·w| over all scored weights, as sorted global positions (layer offset + row·cols + col). */
function topScores(model: Model, scored: ScoredWeight[], budget: number): Float64Array {
  const top = new TopK(budget);
  let offset = 0;
  for (const { param, stand } of scored) {
    const cols = param.sparse.cols;
    if (stand !== null) {
      if (stand.recordedBatches === 0) throw new Error(`snip: ${param.name} received no gradient (is the layer used by the model?)`);
      stand.forEachGradientChunk((first, n, w, g) => {
        const base = offset + first * cols;
        let threshold = top.threshold();
        for (let i = 0; i < n * cols; i++) {
          const score = Math.abs(g[i] * w[i]);
          if (score >= threshold) {
            top.push(score, base + i);
            threshold = top.threshold();
          }
        }
      });
    } else {
      const full = fullParameter(model, param);
      const w = full.tensor.data, g = full.tensor.grad?.data;
      if (g === undefined) throw new Error(`snip: ${param.name} received no gradient (is the layer used by the model?)`);
      for (let i = 0; i < w.length; i++) {
        const score = Math.abs(g[i] * w[i]);
        if (score >= top.threshold()) top.push(score, offset + i);
      }
    }
    offset += param.sparse.rows * cols;
  }
  return top.positionsByScore().sort();
}

/** The parameter of `param`'s layer now (its filled CSR, for a convolution). */
function fullParameter(model: Model, param: SparseParameter): NamedParameter {
  return model.net.parameters().find((p) => p.name === param.name)!;
}

/** Gives each weight its chosen positions (sorted global positions) with their initial values; returns the counts. */
function keepChosen(model: Model, scored: ScoredWeight[], chosen: Float64Array): SnipCounts {
  const counts: SnipCounts = {};
  let offset = 0, k = 0;
  for (const { param, stand } of scored) {
    const { rows, cols } = param.sparse;
    const end = offset + rows * cols;
    let count = 0;
    while (k + count < chosen.length && chosen[k + count] < end) count++;
    const rowPtr = new Int32Array(rows + 1), colIdx = new Int32Array(count), values = new Float32Array(count);
    for (let j = 0; j < count; j++) {
      const index = chosen[k + j] - offset;
      const row = Math.floor(index / cols);
      rowPtr[row + 1]++;
      colIdx[j] = index - row * cols;
    }
    for (let i = 0; i < rows; i++) rowPtr[i + 1] += rowPtr[i];
    if (stand !== null) {
      // One more pass over the stream to read the initial values at the chosen positions.
      let j = 0;
      stand.forEachChunk((first, n) => {
        const w = stand.chunk.values.data, chunkEnd = offset + (first + n) * cols, chunkStart = offset + first * cols;
        for (; j < count && chosen[k + j] < chunkEnd; j++) values[j] = w[chosen[k + j] - chunkStart];
      });
      const layer = stand.layer;
      layer.setSparseWeight(layer.weight.withStructure(rowPtr, colIdx, values));
    } else {
      const full = fullParameter(model, param);
      const w = full.tensor.data;
      for (let j = 0; j < count; j++) values[j] = w[chosen[k + j] - offset];
      if (hasSparseWeight(full.layer)) full.layer.setSparseWeight(full.sparse!.withStructure(rowPtr, colIdx, values));
    }
    counts[param.name] = count;
    k += count;
    offset = end;
  }
  return counts;
}
