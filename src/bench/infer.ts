// `sparsetrain bench infer`: file sizes and inference latency of our compact file and runtime beside onnxruntime-node and TensorFlow.js (wasm) on the same models, measured in one run.
//
// Models are built with seeded initial weights and random sparse structure: latency depends on
// the shapes and the number of stored weights, not on what training taught them.
import { gzipSync } from "node:zlib";
import { exportCompactModel } from "../export/compact-writer.js";
import { exportOnnxModel } from "../export/onnx-export.js";
import { buildModel, type ModelSpec } from "../nn/presets.js";
import { readCompactModel } from "../runtime/compact-reader.js";
import { loadModel } from "../runtime/index.js";
import { Rng } from "../tensor/rng.js";
import { loadOnnxRuntime, ORT_CONFIGS, ortSession, tfjsPredict, type OrtSession, type Predict } from "./infer-peers.js";
import { dynamicInt8Onnx } from "./onnx-dynamic-int8.js";
import { loadTfjsWasm } from "./tfjs-peer.js";

export type InferEngine = "sparsetrain" | "onnxruntime" | "tfjs-wasm";
export type InferDtype = "float32" | "int8";

export interface InferBenchRow {
  engine: InferEngine;
  model: string;
  /** Fraction of weights stored (1 = dense). */
  density: number;
  dtype: InferDtype;
  batch: number;
  /** Microseconds per predict call (raw inputs in, logits out): the fastest round. */
  us: number;
  /** Bytes of the file the engine runs (ours: compact; onnxruntime: ONNX; TensorFlow.js: its float32 weights), raw and gzipped. */
  bytes: number;
  bytes_gzip: number;
  /** The engine's configuration: for onnxruntime the fastest of those tried. */
  config: string;
  /** onnxruntime's µs (its fastest configuration, same dtype; float32 for TensorFlow.js) over this row's. */
  vs_onnxruntime?: number;
}

export interface InferModelCase {
  name: string;
  density: number;
  spec: ModelSpec;
}

const MLP_LAYERS = ["0", "2", "4"];
const LENET5_LAYERS = ["0", "2", "5", "7"];
const sparseAt = (layers: string[], density: number) => (density === 1 ? undefined : Object.fromEntries(layers.map((l) => [l, density])));

/** LeNet-300-100 dense, 95% and 98% sparse; LeNet-5 (Caffe variant) dense and 90% sparse; every weight layer at the density. */
export const INFER_MODELS: readonly InferModelCase[] = [
  ...[1, 0.05, 0.02].map((density) => ({
    name: "lenet-300-100", density,
    spec: { preset: "lenet-300-100" as const, inputShape: [784], classes: 10, sparse: sparseAt(MLP_LAYERS, density), seed: 1 },
  })),
  ...[1, 0.1].map((density) => ({
    name: "lenet-5", density,
    spec: { preset: "lenet-5" as const, inputShape: [1, 28, 28], classes: 10, sparse: sparseAt(LENET5_LAYERS, density), seed: 1 },
  })),
];

/** MNIST's training normalization (mean and 1/std of the raw pixels), folded into every export as training would. */
const MNIST_NORMALIZER = { kind: "standardize" as const, shift: [33.32], factor: [1 / 78.57] };

export interface InferBenchOptions {
  /** Timed rounds; each round times every contender once, in turn (default 7). */
  rounds?: number;
  /** Milliseconds of calls per timed sample (default 20). */
  sampleMs?: number;
  batches?: number[];
  models?: readonly InferModelCase[];
  dtypes?: InferDtype[];
  onRow?: (row: InferBenchRow) => void;
  /** Why a peer could not be measured. */
  onNote?: (line: string) => void;
}

interface Contender {
  engine: InferEngine;
  config: string;
  predict: Predict;
  bytes: Uint8Array;
}

const sizes = (bytes: Uint8Array) => ({ bytes: bytes.length, bytes_gzip: gzipSync(bytes, { level: 9 }).length });

/** Times every model, dtype and batch; returns the rows (also given to onRow as they are measured). */
export async function benchInfer(options: InferBenchOptions = {}): Promise<InferBenchRow[]> {
  const rounds = options.rounds ?? 7;
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`bench infer: rounds must be a positive integer, got ${rounds}`);
  const sampleMs = options.sampleMs ?? 20;
  const note = options.onNote ?? (() => {});
  const ort = await loadOnnxRuntime().catch((error: Error) => (note(`onnxruntime-node skipped: ${error.message}`), null));
  const tfjs = await loadTfjsWasm().catch((error: Error) => (note(`TensorFlow.js skipped: ${error.message}`), null));
  const rows: InferBenchRow[] = [];
  const rng = new Rng(7, "bench/infer");
  for (const modelCase of options.models ?? INFER_MODELS) {
    const model = buildModel(modelCase.spec);
    for (const dtype of options.dtypes ?? ["float32", "int8"]) {
      const compact = exportCompactModel(model, { values: dtype, normalizer: MNIST_NORMALIZER });
      const decoded = readCompactModel(compact);
      const ours = await loadModel(compact);
      const contenders: Contender[] = [{ engine: "sparsetrain", config: `runtime ${ours.kernels}`, predict: (x, b) => ours.predict(x, b), bytes: compact }];
      const sessions: OrtSession[] = [];
      if (ort !== null) {
        const exported = exportOnnxModel(model, { normalizer: MNIST_NORMALIZER, quantize: dtype === "int8" ? { bits: 8 } : null });
        const graphs = dtype === "int8" ? [{ form: "QDQ", onnx: exported }, { form: "dynamic int8", onnx: dynamicInt8Onnx(exported) }] : [{ form: "float32", onnx: exported }];
        for (const { form, onnx } of graphs) {
          for (const config of ORT_CONFIGS) {
            const session = await ortSession(ort, onnx, decoded.inputSize, config);
            sessions.push(session);
            // Bytes: the file we export (the dynamic form is a rewrite of it made for this benchmark).
            contenders.push({ engine: "onnxruntime", config: `${form}, ${config.name}`, predict: session.predict, bytes: exported });
          }
        }
      }
      const tfModel = tfjs !== null && dtype === "float32" ? tfjsPredict(tfjs.tf, decoded) : null;
      if (tfModel !== null) contenders.push({ engine: "tfjs-wasm", config: `wasm, ${tfjs!.threads} thread`, predict: tfModel.predict, bytes: denseFloatBytes(decoded) });
      for (const batch of options.batches ?? [1, 128]) {
        const inputs = Float32Array.from({ length: batch * decoded.inputSize }, () => Math.floor(rng.uniform() * 256));
        await checkAgreement(contenders, inputs, batch, `${modelCase.name} ${density(modelCase)} ${dtype}`);
        const times = await timeRounds(contenders, inputs, batch, rounds, sampleMs);
        for (const row of summarize(contenders, times, modelCase, dtype, batch)) {
          rows.push(row);
          options.onRow?.(row);
        }
      }
      ours.dispose();
      tfModel?.dispose();
      for (const s of sessions) await s.release();
    }
  }
  if (rows.length === 0) throw new Error("bench infer: nothing was measured");
  return rows;
}

const density = (m: InferModelCase) => (m.density === 1 ? "dense" : `${+(100 * (1 - m.density)).toFixed(1)}% sparse`);

/** The model's weights and biases as float32, as a TensorFlow.js weights file holds them (4 bytes per parameter, zeros included). */
function denseFloatBytes(model: ReturnType<typeof readCompactModel>): Uint8Array {
  const floats = model.layers.reduce((sum, l) => sum + (l.kind === "linear" || l.kind === "conv2d" ? l.weight.rows * l.weight.cols + l.bias.length : 0), 0);
  const out = new Float32Array(floats);
  let at = 0;
  for (const l of model.layers) {
    if (l.kind !== "linear" && l.kind !== "conv2d") continue;
    const { rows, cols, rowPtr, colIdx, values } = l.weight;
    for (let r = 0; r < rows; r++) for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) out[at + r * cols + colIdx[i]] = values[i];
    out.set(l.bias, at + rows * cols);
    at += rows * cols + l.bias.length;
  }
  return new Uint8Array(out.buffer);
}

/** Every peer computes the same logits as ours (a benchmark of a different model would mean nothing). */
async function checkAgreement(contenders: Contender[], inputs: Float32Array, batch: number, what: string): Promise<void> {
  const reference = await contenders[0].predict(inputs, batch);
  const scale = 1 + reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (const c of contenders.slice(1)) {
    const logits = await c.predict(inputs, batch);
    // Dynamic int8 also quantizes the activations: its logits differ by more than rounding.
    const tolerance = c.config.startsWith("dynamic") ? 0.1 : 1e-3;
    let worst = 0;
    for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(logits[i] - reference[i]));
    if (!(logits.length === reference.length && worst <= tolerance * scale)) {
      throw new Error(`bench infer: ${c.engine} (${c.config}) on ${what} at batch ${batch} differs from our runtime by ${worst} (logits up to ${scale - 1}); expected at most ${tolerance * scale}`);
    }
  }
}

/** Each contender's fastest round (µs per call): rounds interleave the contenders, so a noisy neighbour slows all alike. */
async function timeRounds(contenders: Contender[], inputs: Float32Array, batch: number, rounds: number, sampleMs: number): Promise<number[]> {
  const calls = contenders.map(() => 1);
  // Warm-up and calibration: enough calls per sample for sampleMs, so timer resolution does not matter.
  for (let i = 0; i < contenders.length; i++) {
    const start = performance.now();
    let n = 0;
    do {
      await contenders[i].predict(inputs, batch);
      n++;
    } while (performance.now() - start < Math.max(sampleMs, 5));
    calls[i] = Math.max(1, Math.round((n * sampleMs) / (performance.now() - start)));
  }
  const best = contenders.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const { predict } = contenders[i];
      // A pause before each sample lets the previous contender's idle threads stop spinning
      // (onnxruntime's intra-op pool spins after a run), so they do not share the core with this one.
      await idle(IDLE_MS);
      const start = performance.now();
      for (let k = 0; k < calls[i]; k++) await predict(inputs, batch);
      best[i] = Math.min(best[i], ((performance.now() - start) * 1000) / calls[i]);
    }
  }
  return best;
}

/** The pause before each timed sample, in milliseconds. */
const IDLE_MS = 20;

function idle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One row per engine: onnxruntime's fastest configuration only (named), ratios to it. */
function summarize(contenders: Contender[], times: number[], modelCase: InferModelCase, dtype: InferDtype, batch: number): InferBenchRow[] {
  const base = { model: modelCase.name, density: modelCase.density, dtype, batch };
  const fastest = (engine: InferEngine) => {
    let best = -1;
    contenders.forEach((c, i) => { if (c.engine === engine && (best < 0 || times[i] < times[best])) best = i; });
    return best;
  };
  const rows: InferBenchRow[] = [];
  const ortIndex = fastest("onnxruntime");
  for (const engine of ["sparsetrain", "onnxruntime", "tfjs-wasm"] as const) {
    const i = fastest(engine);
    if (i < 0) continue;
    const us = Number(times[i].toFixed(2));
    const config = engine === "onnxruntime" ? `${contenders[i].config} (fastest of ${contenders.filter((c) => c.engine === engine).length})` : contenders[i].config;
    const ratio = ortIndex < 0 ? {} : { vs_onnxruntime: Number((times[ortIndex] / times[i]).toFixed(2)) };
    rows.push({ engine, ...base, us, ...sizes(contenders[i].bytes), config, ...ratio });
  }
  return rows;
}
