// Tiny run folders for the report tests, written exactly as docs/run-log-format.md (v2) describes: metrics.jsonl, masks.jsonl and a real final.safetensors.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { buildModel } from "../../src/nn/presets.js";
import { Rng } from "../../src/tensor/rng.js";

export interface SyntheticRunOptions {
  name: string;
  /** `sparsity.method` (null: dense training). */
  method: string | null;
  /** Density of the first layer (the model is 784-16-8-10, layer 0 sparse when below 1). */
  density: number;
  epochs?: number;
  seed?: number;
  /** Log λ and zeroFraction (a regularization method such as l0). */
  regularization?: boolean;
  /** Write update lines (a dynamic method such as rigl). */
  updates?: boolean;
}

export interface SyntheticRun {
  dir: string;
  /** The lines written to metrics.jsonl, as objects. */
  lines: Record<string, unknown>[];
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Writes a run folder `root/name` and returns it with the metrics lines it holds. */
export function writeSyntheticRun(root: string, options: SyntheticRunOptions): SyntheticRun {
  const dir = join(root, options.name);
  mkdirSync(dir, { recursive: true });
  const epochs = options.epochs ?? 4;
  const seed = options.seed ?? 1;
  const rng = new Rng(seed, "synthetic-run");
  const spec = { preset: "mlp" as const, inputShape: [1, 28, 28], classes: 10, widths: [16, 8], seed, ...(options.density < 1 ? { sparse: { "0": options.density } } : {}) };
  const model = buildModel(spec);
  const recipe = { name: options.name, seed, data: { dataset: "mnist" }, ...(options.method ? { sparsity: { method: options.method } } : {}) };
  const weights = model.net.parameters().filter((p) => p.name.endsWith(".weight"));
  const layerStats = () => weights.map((p) => {
    const shape = p.sparse ? [p.sparse.rows, p.sparse.cols] : [...p.tensor.shape];
    let nonzero = 0;
    for (const v of p.tensor.data) if (v !== 0) nonzero++;
    return { name: p.name, layer: p.layer.kind, shape, storage: p.sparse ? "csr" : p.mask ? "masked" : "dense", stored: p.tensor.size, nonzero, density: nonzero / (shape[0] * shape[1]) };
  });
  const total = weights.reduce((s, p) => s + (p.sparse ? p.sparse.rows * p.sparse.cols : p.tensor.size), 0);
  const nonzero = layerStats().reduce((s, l) => s + l.nonzero, 0);
  const sparsity = 1 - nonzero / total;
  const stepsPerEpoch = 10;
  const lines: Record<string, unknown>[] = [{
    kind: "start", version: 2, name: options.name, time: "2025-01-01T00:00:00.000Z", step: 0, method: options.method, dataset: "mnist", inputShape: [1, 28, 28], classes: 10,
    trainExamples: 640, stepsPerEpoch, totalSteps: stepsPerEpoch * epochs, epochs, threads: 1, recipe, layers: layerStats(),
  }];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const step = epoch * stepsPerEpoch;
    if (options.updates) {
      lines.push({
        kind: "update", step: step - 5, epoch, method: options.method, dropFraction: round4(0.3 * (1 - epoch / (epochs + 1))),
        layers: layerStats().map((l, i) => ({ name: l.name, dropped: 40 - 5 * epoch + i, grown: 40 - 5 * epoch + i, nnz: l.nonzero, density: l.density })),
      });
    }
    lines.push({
      kind: "epoch", epoch, step, trainLoss: round4(2.3 / epoch + 0.1 * rng.uniform()), trainAccuracy: round4(0.5 + 0.1 * epoch + 0.01 * rng.uniform()),
      valLoss: round4(2.4 / epoch + 0.1 * rng.uniform()), valAccuracy: round4(0.45 + 0.1 * epoch + 0.01 * rng.uniform()), seconds: round4(0.5 + rng.uniform()),
      samplesPerSecond: round4(1000 + 100 * rng.uniform()), lr: round4(0.1 * (1 - (epoch - 1) / epochs)), time: "2025-01-01T00:00:01.000Z", sparsity,
      layers: layerStats(),
      ...(options.regularization ? { lambda: round4(1e-4 * epoch), zeroFraction: round4(sparsity * epoch / epochs) } : {}),
    });
  }
  const confusion = Array.from({ length: 10 }, (_, t) => Array.from({ length: 10 }, (_, p) => (t === p ? 15 + rng.int(5) : rng.int(3))));
  const correct = confusion.reduce((s, r, t) => s + r[t], 0), count = confusion.flat().reduce((a, b) => a + b, 0);
  // As the trainer counts them: the final line's parameter counts include biases; epoch lines count weights only.
  const allParameters = model.net.parameters();
  const paramsTotal = allParameters.reduce((s, p) => s + (p.sparse ? p.sparse.rows * p.sparse.cols : p.tensor.size), 0);
  const paramsNonzero = allParameters.reduce((s, p) => s + p.tensor.data.reduce((n: number, v: number) => n + (v !== 0 ? 1 : 0), 0), 0);
  const final = {
    kind: "final", final: true, step: epochs * stepsPerEpoch, test_accuracy: correct / count, test_loss: round4(0.4 + 0.1 * rng.uniform()), confusion,
    params_total: paramsTotal, params_nonzero: paramsNonzero, sparsity: 1 - paramsNonzero / paramsTotal, seconds: round4(3 + rng.uniform()), layers: layerStats(),
  };
  lines.push(final);
  writeFileSync(join(dir, "metrics.jsonl"), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  saveCheckpoint(join(dir, "final.safetensors"), model, { recipe, step: epochs * stepsPerEpoch, epoch: epochs, seed, metrics: { test_accuracy: final.test_accuracy, test_loss: final.test_loss } });
  writeFileSync(join(dir, "masks.jsonl"), ["start", "middle", "end"].map((phase, k) => JSON.stringify({
    kind: "mask", phase, step: [0, Math.ceil(epochs / 2), epochs][k] * stepsPerEpoch, epoch: [0, Math.ceil(epochs / 2), epochs][k],
    layers: weights.map((p, i) => {
      const [rows, cols] = p.sparse ? [p.sparse.rows, p.sparse.cols] : p.tensor.shape;
      const grid = { rows: Math.min(rows, 64), cols: Math.min(cols, 64), density: [] as number[] };
      for (let c = 0; c < grid.rows * grid.cols; c++) grid.density.push(round4(rng.uniform() * (i === 0 ? options.density : 1)));
      const inputs = i === 0 ? { shape: [28, 28], density: Array.from({ length: 784 }, (_, j) => round4(((j % 28) / 28) * rng.uniform())) } : undefined;
      return { name: p.name, rows, cols, grid, ...(inputs ? { inputs } : {}) };
    }),
  })).join("\n") + "\n");
  return { dir, lines };
}
