// `sparsetrain eval` and `sparsetrain info`: evaluate a checkpoint on its test set, or list its layers with shapes, non-zeros, bytes and (quantized files) bits and scales; exported compact and ONNX files go to compact-file-commands.ts and onnx-file-commands.ts.
import { statSync } from "node:fs";
import type { Dataset } from "../data/dataset.js";
import { loadImageDataset, type ImageDatasetName } from "../data/mnist.js";
import { applyNormalizer } from "../data/normalize.js";
import { loadCheckpoint, type LoadedCheckpoint } from "../io/checkpoint.js";
import { checkpointLayerInfo, layerInfoTable } from "../io/checkpoint-layer-info.js";
import { readSafetensors } from "../io/safetensors.js";
import { evaluate } from "../train/evaluate.js";
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

// The row computation lives in the library (`sparsetrain report` prints the same table); re-exported for the other commands.
export { layerBytes, range } from "../io/checkpoint-layer-info.js";

export function infoCommand(path: string, options: { json?: boolean }): void {
  if (isCompactFile(path)) return infoCompactFile(path, options);
  if (isOnnxFile(path)) return infoOnnxFile(path, options);
  const checkpoint = loadCheckpoint(path);
  const { tensors } = readSafetensors(path);
  const quantization = checkpoint.quantization;
  const layers = checkpointLayerInfo(checkpoint, tensors);
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
  const rows = layerInfoTable(layers, quantization !== undefined);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join("  ")).join("\n") + "\n");
  process.stdout.write(`${summary.model}, step ${summary.step}, epoch ${summary.epoch}: ${counts.nonzero}/${counts.total} non-zero (sparsity ${(100 * summary.sparsity).toFixed(2)}%), file ${summary.file_bytes} bytes\n`);
  if (quantization) process.stdout.write(`quantized: int${quantization.bits} weights, ${quantization.granularity} scales (symmetric, zero point 0); biases and batch norm float32\n`);
  if (checkpoint.metrics) process.stdout.write(`metrics: ${JSON.stringify(checkpoint.metrics)}\n`);
}
