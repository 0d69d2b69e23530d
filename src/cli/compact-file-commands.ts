// `eval` and `info` of an exported compact model file: its accuracy on the raw test images (the WebAssembly runtime users deploy), and its layers with encoding, value type and bytes.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { IMAGE_CLASS_NAMES, loadImageDataset, type ImageDatasetName } from "../data/mnist.js";
import { COMPACT_FORMAT, type CompactLayer } from "../runtime/compact-model.js";
import { readCompactModel } from "../runtime/compact-reader.js";
import { loadModel, type RuntimeModel } from "../runtime/index.js";

/** Examples per predict call: bounds the runtime's activation buffers. */
const EVAL_CHUNK = 500;

/** Whether `path` is a compact model file: a safetensors header whose metadata "format" says so (anything unreadable is left to the checkpoint reader's errors). */
export function isCompactFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) !== 8) return false;
    const length = size.readBigUInt64LE(0);
    if (length > BigInt(Math.min(statSync(path).size - 8, 100_000_000))) return false;
    const header = Buffer.alloc(Number(length));
    readSync(fd, header, 0, header.length, 8);
    const metadata = (JSON.parse(header.toString("utf8")) as { __metadata__?: { format?: unknown } }).__metadata__;
    return metadata?.format === COMPACT_FORMAT;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The dataset a compact file's class names belong to, if they are those of one. */
function datasetOfClassNames(names: string[] | null): ImageDatasetName | undefined {
  if (names === null) return undefined;
  return (Object.keys(IMAGE_CLASS_NAMES) as ImageDatasetName[]).find((d) => IMAGE_CLASS_NAMES[d].join("\n") === names.join("\n"));
}

export async function evalCompactFile(path: string, options: { data?: ImageDatasetName; dataDir?: string; json?: boolean }): Promise<void> {
  const bytes = readFileSync(path);
  const model = readCompactModel(bytes, path);
  const dataset = options.data ?? datasetOfClassNames(model.classNames);
  if (dataset === undefined) throw new Error(`${path}: a compact model file without the class names of a known dataset; pass --data mnist or --data fashion-mnist`);
  const { test } = loadImageDataset(dataset, options.dataDir);
  if (test.featureSize !== model.inputSize || test.classCount !== model.outputSize) {
    throw new Error(`${path}: the model takes ${model.inputSize} features and predicts ${model.outputSize} classes; ${dataset} has ${test.featureSize} features and ${test.classCount} classes`);
  }
  const started = performance.now();
  // Raw features, as the dataset files hold them: the exported model has the normalization folded in.
  const runtime = await loadModel(bytes, { source: path });
  const result = evaluateLogits(runtime, test.features, test.labels, test.classCount);
  runtime.dispose();
  process.stdout.write(`${dataset} test: accuracy ${(100 * result.accuracy).toFixed(2)}%, loss ${result.loss.toFixed(4)} on ${result.count} examples (compact file, WebAssembly runtime on raw inputs)\n`);
  process.stdout.write(`confusion matrix (rows: true class, columns: predicted):\n${result.confusion.map((r) => r.map((v) => String(v).padStart(5)).join("")).join("\n")}\n`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      file: path, format: COMPACT_FORMAT, dataset, test_accuracy: result.accuracy, test_loss: result.loss, examples: result.count,
      confusion: result.confusion, seconds: (performance.now() - started) / 1000,
    })}\n`);
  }
}

/** Accuracy, mean cross-entropy (float64, log-sum-exp) and confusion matrix of the model's logits; ties go to the first class, as argmax does. */
function evaluateLogits(model: RuntimeModel, features: Float32Array, labels: Int32Array, classes: number) {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0, correct = 0;
  const count = labels.length;
  for (let start = 0; start < count; start += EVAL_CHUNK) {
    const batch = Math.min(EVAL_CHUNK, count - start);
    const logits = model.predict(features.subarray(start * model.inputSize, (start + batch) * model.inputSize), batch);
    for (let b = 0; b < batch; b++) {
      const row = logits.subarray(b * classes, (b + 1) * classes);
      let best = 0;
      for (let c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(row[c] - row[best]);
      const label = labels[start + b];
      lossSum += Math.log(sum) - (row[label] - row[best]);
      confusion[label][best]++;
      if (best === label) correct++;
    }
  }
  return { accuracy: correct / Math.max(1, count), loss: lossSum / Math.max(1, count), count, confusion };
}

interface CompactLayerInfo {
  index: number;
  kind: CompactLayer["kind"];
  input_shape: number[];
  output_shape: number[];
  activation?: string;
  weight_shape?: number[];
  encoding?: string;
  values?: string;
  nonzero?: number;
  density?: number;
  /** Bytes of the layer's tensors in the file (weight structure, values, scales, bias; normalization shift and factor). */
  bytes: number;
}

function layerInfo(layer: CompactLayer, index: number): CompactLayerInfo {
  const base = { index, kind: layer.kind, input_shape: layer.inputShape, output_shape: layer.outputShape };
  if (layer.kind === "linear" || layer.kind === "conv2d") {
    const w = layer.weight;
    let nonzero = 0;
    for (let i = 0; i < w.values.length; i++) if (w.values[i] !== 0) nonzero++;
    const weightShape = layer.kind === "conv2d" ? [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel] : [w.rows, w.cols];
    return {
      ...base, activation: layer.activation, weight_shape: weightShape, encoding: w.structure, values: w.valueType,
      nonzero, density: nonzero / (w.rows * w.cols), bytes: w.storedBytes + layer.bias.byteLength,
    };
  }
  if (layer.kind === "activation") return { ...base, activation: layer.activation, bytes: 0 };
  if (layer.kind === "normalize") return { ...base, bytes: layer.shift.byteLength + layer.factor.byteLength };
  return { ...base, bytes: 0 };
}

export function infoCompactFile(path: string, options: { json?: boolean }): void {
  const model = readCompactModel(readFileSync(path), path);
  const layers = model.layers.map(layerInfo);
  const fileBytes = statSync(path).size;
  const weights = layers.filter((l) => l.weight_shape !== undefined);
  const total = weights.reduce((sum, l) => sum + l.weight_shape!.reduce((a, b) => a * b, 1), 0);
  const nonzero = weights.reduce((sum, l) => sum + l.nonzero!, 0);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      file: path, format: COMPACT_FORMAT, version: model.version, input_shape: model.inputShape, outputs: model.outputSize, class_names: model.classNames,
      weights_total: total, weights_nonzero: nonzero, file_bytes: fileBytes, layers,
    })}\n`);
    return;
  }
  const rows = [["layer", "kind", "shape", "activation", "encoding", "values", "non-zero", "density", "bytes"]];
  for (const l of layers) {
    const shape = l.weight_shape ? `[${l.weight_shape.join(", ")}]` : `[${l.input_shape.join(", ")}] → [${l.output_shape.join(", ")}]`;
    const weight = l.weight_shape ? [l.encoding!, l.values!, String(l.nonzero), `${(100 * l.density!).toFixed(2)}%`] : ["", "", "", ""];
    rows.push([`layers.${l.index}`, l.kind, shape, l.activation ?? "", ...weight, String(l.bytes)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd()).join("\n") + "\n");
  process.stdout.write(`compact model file, version ${model.version}: input [${model.inputShape.join(", ")}] raw features, ${model.outputSize} outputs`
    + `${model.classNames ? ` (${model.classNames.join(", ")})` : ""}; ${nonzero}/${total} weights non-zero (sparsity ${(100 * (1 - nonzero / Math.max(1, total))).toFixed(2)}%), file ${fileBytes} bytes\n`);
}
