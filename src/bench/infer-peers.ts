// The peers `bench infer` times our runtime against: onnxruntime-node sessions in every configuration tried, and a TensorFlow.js (wasm) forward pass built from the same decoded weights.
import type { CompactLayer, CompactModel } from "../runtime/compact-model.js";
import type { TfjsPeer } from "./tfjs-peer.js";

type Ort = typeof import("onnxruntime-node");
type Tf = TfjsPeer["tf"];
type TfTensor = ReturnType<Tf["tensor"]>;

/** The version in package.json's devDependencies, for the install hint. */
export const ONNXRUNTIME_VERSION = "1.30.0";

/** onnxruntime-node, loaded on demand (a development dependency: a runtime user never needs it). */
export async function loadOnnxRuntime(): Promise<Ort> {
  try {
    const ort = (await import("onnxruntime-node")) as Ort & { default?: Ort };
    return ort.default ?? ort;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") throw error;
    throw new Error(`onnxruntime-node is not installed (the benchmark peers are development dependencies); to measure it: npm install onnxruntime-node@${ONNXRUNTIME_VERSION}`);
  }
}

/** A configuration of onnxruntime: the session options that differ between the ones tried. */
export interface OrtConfig {
  name: string;
  intraOpNumThreads: number;
}

/** Every configuration tried (all with graphOptimizationLevel "all" and sequential execution): one and two intra-op threads. */
export const ORT_CONFIGS: readonly OrtConfig[] = [1, 2].map((threads) => ({ name: `${threads} thread${threads > 1 ? "s" : ""}`, intraOpNumThreads: threads }));

export type Predict = (inputs: Float32Array, batch: number) => Promise<Float32Array> | Float32Array;

export interface OrtSession {
  predict: Predict;
  release(): Promise<void>;
}

/** An onnxruntime session of `onnx` (input "input", output "logits") in configuration `config`. */
export async function ortSession(ort: Ort, onnx: Uint8Array, inputSize: number, config: OrtConfig): Promise<OrtSession> {
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: config.intraOpNumThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  return {
    predict: async (inputs, batch) => (await session.run({ input: new ort.Tensor("float32", inputs, [batch, inputSize]) })).logits.data as Float32Array,
    release: () => session.release(),
  };
}

type TfLayer = (x: TfTensor) => TfTensor;

/**
 * The model's forward pass in TensorFlow.js, from the decoded float32 weights: fused matMul/conv2d
 * with bias and ReLU, images NHWC (TensorFlow's native layout; the first linear layer after a
 * flatten takes its columns in H, W, C order, so no transpose runs at inference).
 */
export function tfjsPredict(tf: Tf, model: CompactModel): { predict: Predict; dispose(): void } {
  const weights: TfTensor[] = [];
  const keep = (t: TfTensor) => (weights.push(t), t);
  let flattenedFrom: number[] | null = null;
  const layers = model.layers.map((layer): TfLayer => {
    if (layer.kind === "flatten") flattenedFrom = layer.inputShape;
    const from = flattenedFrom;
    if (layer.kind === "linear") flattenedFrom = null;
    return tfLayer(tf, layer, keep, layer.kind === "linear" ? from : null);
  });
  const image = model.inputShape.length === 3;
  const [c, h, w] = model.inputShape;
  return {
    predict: (inputs, batch) => {
      const out = tf.tidy(() => {
        let x: TfTensor = tf.tensor(inputs, image ? [batch, c, h, w] : [batch, model.inputSize]);
        // [batch, 1, H, W] and [batch, H, W, 1] hold the same floats; more channels need a transpose.
        if (image) x = c === 1 ? tf.reshape(x, [batch, h, w, 1]) : tf.transpose(x, [0, 2, 3, 1]);
        for (const layer of layers) x = layer(x);
        return x;
      });
      const logits = out.dataSync() as Float32Array;
      out.dispose();
      return logits;
    },
    dispose: () => weights.forEach((t) => t.dispose()),
  };
}

const FUSED: Partial<Record<string, "linear" | "relu" | "sigmoid">> = { identity: "linear", relu: "relu", sigmoid: "sigmoid" };

function tfLayer(tf: Tf, layer: CompactLayer, keep: (t: TfTensor) => TfTensor, flattenedFrom: number[] | null): TfLayer {
  switch (layer.kind) {
    case "normalize": {
      const shift = keep(tf.tensor(layer.shift)), factor = keep(tf.tensor(layer.factor));
      return (x) => tf.mul(tf.sub(x, shift), factor);
    }
    case "activation":
      return (x) => applyActivation(tf, layer.activation, layer.negativeSlope, x);
    case "flatten":
      return (x) => tf.reshape(x, [x.shape[0], -1]);
    case "maxpool":
      return (x) => tf.maxPool(x as Parameters<Tf["maxPool"]>[0], layer.kernel, layer.stride, layer.padding === 0 ? "valid" : layer.padding);
    case "linear":
    case "conv2d": {
      const { rows, cols, rowPtr, colIdx, values } = layer.weight;
      const dense = new Float32Array(rows * cols);
      const k = layer.kind === "conv2d" ? layer.kernel : 1;
      const inChannels = layer.kind === "conv2d" ? layer.inChannels : 1;
      // TensorFlow wants a linear weight as [in, out] and a filter as [k, k, Cin, Cout]; a linear
      // layer after a flatten of [C, H, W] reads its inputs in H, W, C order.
      const position = (col: number): number => {
        if (layer.kind === "conv2d") {
          const ci = Math.floor(col / (k * k)), ky = Math.floor(col / k) % k, kx = col % k;
          return ((ky * k + kx) * inChannels + ci);
        }
        if (flattenedFrom === null) return col;
        const [C, H, W] = flattenedFrom;
        const ci = Math.floor(col / (H * W)), y = Math.floor(col / W) % H, x = col % W;
        return (y * W + x) * C + ci;
      };
      for (let r = 0; r < rows; r++) for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) dense[position(colIdx[i]) * rows + r] = values[i];
      const bias = keep(tf.tensor1d(layer.bias));
      const fused = FUSED[layer.activation];
      const after = (y: TfTensor) => (fused === undefined ? applyActivation(tf, layer.activation, layer.negativeSlope, y) : y);
      if (layer.kind === "linear") {
        const weight = keep(tf.tensor2d(dense, [cols, rows]));
        return (x) => after(tf.fused.matMul({ a: x as Parameters<Tf["matMul"]>[0], b: weight as Parameters<Tf["matMul"]>[1], bias, activation: fused ?? "linear" }));
      }
      const filter = keep(tf.tensor4d(dense, [k, k, inChannels, rows]));
      const pad = layer.padding === 0 ? "valid" : layer.padding;
      return (x) => after(tf.fused.conv2d({ x: x as Parameters<Tf["conv2d"]>[0], filter: filter as Parameters<Tf["conv2d"]>[1], strides: layer.stride, pad, bias, activation: fused ?? "linear" }));
    }
  }
}

function applyActivation(tf: Tf, activation: string, slope: number, x: TfTensor): TfTensor {
  switch (activation) {
    case "identity": return x;
    case "relu": return tf.relu(x);
    case "leaky-relu": return tf.leakyRelu(x, slope);
    case "tanh": return tf.tanh(x);
    case "sigmoid": return tf.sigmoid(x);
    default: throw new Error(`bench infer: TensorFlow.js peer has no ${activation} activation`);
  }
}
