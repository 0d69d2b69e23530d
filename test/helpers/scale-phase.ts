// One phase of the large-sparse-layer scale test, run in its own process so that its peak memory (wasm heap and process RSS) is its own.
//
// Usage: node scale-phase.js <phase> <checkpoint path>; prints one JSON line last:
// { modelBytes, heapPeakBytes, rssGrowthBytes, seconds }. Phases: build (build and save the model),
// load, info (the function `sparsetrain info` calls), run-log (a run log's layer counts and mask
// snapshot), prune (magnitude, lottery snapshot and rewind,
// structured neurons and shrinking), quantize (a QAT swap, int4 post-training, write and
// read back), snip (a smaller layer, two batches), snip-large (SNIP on the
// large model itself with one batch: it regenerates the dense initialization of all 2.5·10⁹
// positions three times, for the forward pass, the input gradient and the scores).
import { heapStats, resetPeak } from "../../src/backend/heap.js";
import { infoCommand } from "../../src/cli/checkpoint-commands.js";
import { Dataset } from "../../src/data/dataset.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import { saveQuantizedCheckpoint } from "../../src/quantize/checkpoint-write.js";
import { FakeQuantizer } from "../../src/quantize/qat.js";
import { quantizeModel } from "../../src/quantize/quantize-model.js";
import { rewind, snapshot } from "../../src/sparse/prune/flows.js";
import { pruneModel } from "../../src/sparse/prune/pruner.js";
import { shrinkStructures } from "../../src/sparse/prune/shrink.js";
import { snipPrune } from "../../src/sparse/snip.js";
import { Rng } from "../../src/tensor/rng.js";
import { weightLayerStats } from "../../src/nn/layer-stats.js";
import { maskLayers } from "../../src/train/mask-snapshot.js";

/** 784 → 50,000 → 50,000 → 10 with both hidden layers CSR; the 50,000 × 50,000 one at 0.05% (1.25 M non-zeros). */
export const largeSpec: ModelSpec = { preset: "mlp", inputShape: [784], widths: [50_000, 50_000], classes: 10, seed: 1, sparse: { "0": 0.01, "2": 0.0005 } };
/**
 * SNIP scores every position, so its model is smaller: 784 → 20,000 → 10 with the hidden layer CSR
 * at 2% (its dense twin: 63 MB of values). Batches of 2 keep activations (O(batch·width)) below the CSR bytes.
 */
export const snipSpec: ModelSpec = { preset: "mlp", inputShape: [784], widths: [20_000], classes: 10, seed: 1, sparse: { "0": 0.02 } };

/** Bytes the model's parameters take as stored: CSR arrays (row pointers, columns, values) and dense tensors. */
export function modelBytes(model: Model): number {
  return model.net.parameters().reduce((sum, p) => sum + (p.sparse ? 4 * (p.sparse.rows + 1) + 8 * p.sparse.nnz : 4 * p.tensor.size), 0);
}

function randomData(count: number, features: number, classes: number): Dataset {
  const rng = new Rng(3, "scale-phase/data");
  const x = new Float32Array(count * features), y = new Int32Array(count);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  for (let i = 0; i < count; i++) y[i] = rng.int(classes);
  return new Dataset(x, y, [features], classes, "random");
}

/** Runs the phase; returns how to get the model it measured (for `info`, loaded after measuring). */
function run(phase: string, path: string): () => Model {
  switch (phase) {
    case "build": {
      const model = buildModel(largeSpec);
      saveCheckpoint(path, model, { step: 0, epoch: 0, seed: 1 });
      return () => model;
    }
    case "load": {
      const model = loadCheckpoint(path).model;
      return () => model;
    }
    case "info": {
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = () => true; // the table is not what is measured
      try {
        infoCommand(path, { json: true });
      } finally {
        process.stdout.write = write;
      }
      return () => loadCheckpoint(path).model;
    }
    case "run-log": {
      // What a run logs per epoch and per mask snapshot, on the loaded model (loading is measured too).
      const model = loadCheckpoint(path).model;
      const layers = weightLayerStats(model);
      const masks = maskLayers(model);
      if (layers[1].stored !== model.net.parameters()[2].sparse!.nnz || masks[1].grid.rows !== 64 || masks[1].grid.cols !== 64) throw new Error("scale-phase run-log: wrong counts");
      return () => model;
    }
    case "prune": {
      const model = loadCheckpoint(path).model;
      const saved = snapshot(model.net.parameters());
      pruneModel(model, { criterion: "magnitude", amount: 0.5 }, null);
      rewind(model.net.parameters(), saved, null);
      pruneModel(model, { criterion: "magnitude", amount: 0.3, structure: "neurons" }, null);
      shrinkStructures(model, null);
      return () => loadCheckpoint(path).model; // the model as loaded, before pruning
    }
    case "quantize": {
      // Post-training int4 (quantize, write, read back) and one fake-quantized training swap.
      const model = loadCheckpoint(path).model;
      const swap = new FakeQuantizer({ bits: 4, granularity: "per-row", startEpoch: 0 });
      swap.swapIn({ parameters: model.net.parameters(), epoch: 0 });
      swap.restore();
      const quantization = quantizeModel(model, { bits: 4 });
      saveQuantizedCheckpoint(`${path}.int4`, model, quantization, { step: 0, epoch: 0, seed: 1 });
      const loaded = loadCheckpoint(`${path}.int4`);
      if (loaded.quantization?.bits !== 4) throw new Error("scale-phase quantize: the file read back is not int4");
      return () => loaded.model;
    }
    case "snip": {
      const model = buildModel(snipSpec);
      snipPrune(model, randomData(4, 784, 10), { seed: 1, batches: 2, batchSize: 2 });
      return () => model;
    }
    case "snip-large": {
      const model = buildModel(largeSpec);
      snipPrune(model, randomData(4, 784, 10), { seed: 1, batches: 1, batchSize: 2 });
      return () => model;
    }
    default:
      throw new Error(`scale-phase: unknown phase "${phase}"`);
  }
}

const [phase, path] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
const heapBefore = heapStats().bytesInUse;
resetPeak();
const started = performance.now();
const measured = run(phase, path);
const seconds = (performance.now() - started) / 1000;
const heapPeakBytes = heapStats().peakBytes - heapBefore;
const rssGrowthBytes = process.resourceUsage().maxRSS * 1024 - rssBefore;
const result = { modelBytes: modelBytes(measured()), heapPeakBytes, rssGrowthBytes, seconds };
process.stdout.write(`${JSON.stringify(result)}\n`);
