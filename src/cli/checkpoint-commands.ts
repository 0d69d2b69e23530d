// `sparsetrain eval` and `sparsetrain info`: evaluate a checkpoint on its test set, or list its layers with shapes, non-zeros, bytes and (quantized files) bits and scales; exported compact and ONNX files go to compact-file-commands.ts and onnx-file-commands.ts.
import { statSync } from "node:fs";
import type { Dataset } from "../data/dataset.js";
import { loadImageDataset, type ImageDatasetName } from "../data/mnist.js";
import { applyNormalizer } from "../data/normalize.js";
import { loadCheckpoint, type LoadedCheckpoint } from "../io/checkpoint.js";
import { readSafetensors } from "../io/safetensors.js";
import { evaluate } from "../train/evaluate.js";
import { parameterStats } from "../train/layer-stats.js";
import { countParameters } from "../train/run.js";
import { evalCompactFile, infoCompactFile, isCompactFile } from "./compact-file-commands.js";
import { evalOnnxFile, infoOnnxFile, isOnnxFile } from "./onnx-file-commands.js";

/**
 * The test split a checkpoint is evaluated on: `data` if given, else the image dataset its recipe
 * trained on, normalized as in training. `limit` keeps the first examples only.
 */
export function checkpointTestSet(checkpoint: LoadedCheckpoint, options: { data?: ImageDatasetName; dataDir?: string; limit?: number }): { dataset: ImageDatasetName; test: Dataset } {
  const recipeData = (checkpoint.recipe as { data?: { dataset?: string } } | undefined)?.data?.dataset;
  const dataset = options.data ?? (recipeData === "mnist" || recipeData === "fashion-mnist" ? recipeData : undefined);
  if (dataset === undefined) throw new Error(`${checkpoint.path}: trained on "${recipeData ?? "unknown"}" data; pass --data mnist or --data fashion-mnist`);
  const { test: all } = loadImageDataset(dataset, options.dataDir);
  // The model must fit the data: a mismatch would otherwise surface deep inside a kernel.
  const features = checkpoint.model.inputShape.reduce((a, b) => a * b, 1);
  if (all.featureSize !== features || all.classCount !== checkpoint.spec.classes) {
    throw new Error(`${checkpoint.path}: the model takes ${features} features and predicts ${checkpoint.spec.classes} classes; ${dataset} has ${all.featureSize} features and ${all.classCount} classes`);
  }
  const test = options.limit !== undefined ? all.limit(options.limit) : all;
  if (checkpoint.normalizer) applyNormalizer(checkpoint.normalizer, test);
  return { dataset, test };
}

export async function evalCommand(path: string, options: { data?: ImageDatasetName; dataDir?: string; json?: boolean }): Promise<void> {
  if (isCompactFile(path)) return evalCompactFile(path, options);
  if (isOnnxFile(path)) evalOnnxFile(path);
  const checkpoint = loadCheckpoint(path);
  const { dataset, test } = checkpointTestSet(checkpoint, options);
  const started = performance.now();
  const result = evaluate(checkpoint.model, test);
  const counts = countParameters(checkpoint.model.net.parameters());
  const summary = {
    checkpoint: path, dataset, test_accuracy: result.accuracy, test_loss: result.loss, examples: result.count,
    params_total: counts.total, params_nonzero: counts.nonzero, sparsity: 1 - counts.nonzero / counts.total,
    seconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(`${dataset} test: accuracy ${(100 * result.accuracy).toFixed(2)}%, loss ${result.loss.toFixed(4)} on ${result.count} examples\n`);
  process.stdout.write(`confusion matrix (rows: true class, columns: predicted):\n${result.confusion.map((r) => r.map((v) => String(v).padStart(5)).join("")).join("\n")}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** Bytes a parameter takes in the file: its values or codes, CSR indices, mask and scales. */
export function layerBytes(tensors: Map<string, { values: { byteLength: number } }>, name: string): number {
  let bytes = 0;
  for (const [n, t] of tensors) {
    if (n === name || n.startsWith(`${name}.`) || n === `${name}_mask` || n === `${name}_scale`) bytes += t.values.byteLength;
  }
  return bytes;
}

/** Smallest and largest of `values` (a loop: spreading a long array into Math.min overflows the stack). */
export function range(values: ArrayLike<number>): [number, number] {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  return [min, max];
}

/** How a quantized weight is stored, for `info`. */
interface LayerQuantization {
  bits: number;
  granularity: string;
  scales: number;
  scale_min: number;
  scale_max: number;
}

interface LayerInfo {
  name: string;
  kind: string;
  shape: number[];
  storage: "dense" | "masked" | "csr";
  stored: number;
  nonzero: number;
  density: number;
  bytes: number;
  /** Present for the quantized weights of a quantized checkpoint. */
  quantization?: LayerQuantization;
}

export function infoCommand(path: string, options: { json?: boolean }): void {
  if (isCompactFile(path)) return infoCompactFile(path, options);
  if (isOnnxFile(path)) return infoOnnxFile(path, options);
  const checkpoint = loadCheckpoint(path);
  const { tensors } = readSafetensors(path);
  const quantization = checkpoint.quantization;
  const quantized = new Map(quantization?.layers.map((l) => [l.name, l]));
  const layers: LayerInfo[] = checkpoint.model.net.parameters().map((p) => {
    const { name, layer, shape, storage, stored, nonzero, density } = parameterStats(p);
    const q = quantized.get(p.name);
    const [scaleMin, scaleMax] = q ? range(q.scales) : [0, 0];
    return {
      name, kind: layer, shape, storage, stored, nonzero, density, bytes: layerBytes(tensors, p.name),
      ...(q && quantization ? { quantization: { bits: quantization.bits, granularity: quantization.granularity, scales: q.scales.length, scale_min: scaleMin, scale_max: scaleMax } } : {}),
    };
  });
  const counts = countParameters(checkpoint.model.net.parameters());
  const summary = {
    checkpoint: path, model: checkpoint.spec.preset, step: checkpoint.step, epoch: checkpoint.epoch,
    params_total: counts.total, params_nonzero: counts.nonzero, sparsity: 1 - counts.nonzero / counts.total,
    file_bytes: statSync(path).size, sparsetrain_version: checkpoint.metadata.sparsetrain_version, metrics: checkpoint.metrics ?? null,
    quantization: quantization ? { scheme: quantization.scheme, bits: quantization.bits, granularity: quantization.granularity, zero_point: 0 } : null,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...summary, layers })}\n`);
    return;
  }
  const rows = [["name", "layer", "shape", "storage", "stored", "non-zero", "density", "bytes", ...(quantization ? ["values", "scales"] : [])]];
  for (const l of layers) {
    const q = l.quantization;
    const values = q ? [`int${q.bits}`, `${q.scales} in [${q.scale_min.toPrecision(4)}, ${q.scale_max.toPrecision(4)}]`] : ["float32", ""];
    rows.push([l.name, l.kind, `[${l.shape.join(", ")}]`, l.storage, String(l.stored), String(l.nonzero), `${(100 * l.density).toFixed(2)}%`, String(l.bytes), ...(quantization ? values : [])]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join("  ")).join("\n") + "\n");
  process.stdout.write(`${summary.model}, step ${summary.step}, epoch ${summary.epoch}: ${counts.nonzero}/${counts.total} non-zero (sparsity ${(100 * summary.sparsity).toFixed(2)}%), file ${summary.file_bytes} bytes\n`);
  if (quantization) process.stdout.write(`quantized: int${quantization.bits} weights, ${quantization.granularity} scales (symmetric, zero point 0); biases and batch norm float32\n`);
  if (checkpoint.metrics) process.stdout.write(`metrics: ${JSON.stringify(checkpoint.metrics)}\n`);
}
