// Writes a trained Model as an ONNX model: the inference layers of fold-model.ts as a float32 graph, or with int8/int4 weights dequantized per output channel (QDQ).
//
// The graph takes raw inputs [batch, features] float32 (the training normalization folded in, as
// in the compact file) and returns logits [batch, classes]; the batch dimension is dynamic. Weights
// are dense initializers: ONNX runtimes densify a sparse_initializer at load, and no standard
// operator consumes a sparse tensor, so storing the non-zeros only would make the file smaller
// but not the computation (the compact format is for that).
//
// Quantized weights are INT8 (or INT4, packed two per byte) codes with one float scale and a zero
// point of 0 per output channel, read by DequantizeLinear with axis 0: a Linear weight is stored
// [out, in] and multiplied by Gemm with transB = 1, a convolution's [Cout, Cin, k, k], so axis 0
// is the output channel in both. Opset 21 is the first with INT4 in DequantizeLinear and has Gelu.
import type { Normalizer } from "../data/normalize.js";
import { packageVersion } from "../io/checkpoint.js";
import type { Model } from "../nn/presets.js";
import type { QuantBits, QuantGranularity } from "../quantize/rows.js";
import type { CompactActivation } from "../runtime/compact-model.js";
import { deployedWeight, foldModel, type FoldedWeightLayer } from "./fold-model.js";
import { batchedFloatValue, codeTensor, encodeModel, floatTensor, int64Tensor, node, type NodeProto, type TensorProto } from "./onnx-protos.js";

export const ONNX_OPSET = 21;
/** IR version 10 goes with opset 21 (ONNX 1.16). */
const ONNX_IR_VERSION = 10;
export const ONNX_INPUT = "input";
export const ONNX_OUTPUT = "logits";

export interface OnnxExportOptions {
  /** The training input normalization (from the checkpoint): folded into the first layer where exact, else Sub and Mul first. */
  normalizer?: Normalizer;
  /** Quantize the weights (per output channel) to int8 or int4 codes; default float32. */
  quantize?: { bits: QuantBits; granularity?: QuantGranularity } | null;
}

type Graph = { nodes: NodeProto[]; initializers: TensorProto[] };

/** The ONNX model (serialized ModelProto) of `model`: raw inputs in, logits out. */
export function exportOnnxModel(model: Model, options: OnnxExportOptions = {}): Uint8Array {
  const bits = options.quantize?.bits ?? null;
  const folded = foldModel(model, options.normalizer, bits, { granularity: options.quantize?.granularity, target: "ONNX" });
  const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
  const outputSize = model.net.outputShape(model.inputShape).reduce((a, b) => a * b, 1);
  const graph: Graph = { nodes: [], initializers: [] };
  let x = ONNX_INPUT;
  // The input is flat, as the dataset files hold it; an image model reshapes it after any explicit normalization.
  let shaped = model.inputShape.length === 1;
  folded.forEach((layer, i) => {
    const name = `layers.${i}`;
    if (layer.kind !== "normalize" && !shaped) {
      graph.initializers.push(int64Tensor("input_shape", [-1, ...model.inputShape]));
      graph.nodes.push(node("Reshape", [x, "input_shape"], ["input_image"]));
      x = "input_image";
      shaped = true;
    }
    switch (layer.kind) {
      case "normalize":
        graph.initializers.push(floatTensor(`${name}.shift`, [layer.shift.length], Float32Array.from(layer.shift)));
        graph.initializers.push(floatTensor(`${name}.factor`, [layer.factor.length], Float32Array.from(layer.factor)));
        graph.nodes.push(node("Sub", [x, `${name}.shift`], [`${name}.shifted`]), node("Mul", [`${name}.shifted`, `${name}.factor`], [name]));
        x = name;
        break;
      case "linear":
      case "conv2d":
        x = weightLayer(graph, layer, name, x, bits);
        break;
      case "maxpool":
        graph.nodes.push(node("MaxPool", [x], [name], { kernel_shape: [layer.kernel, layer.kernel], strides: [layer.stride, layer.stride], pads: Array(4).fill(layer.padding) }));
        x = name;
        break;
      case "flatten":
        graph.nodes.push(node("Flatten", [x], [name], { axis: 1 }));
        x = name;
        break;
      case "activation":
        x = activation(graph, layer.activation, layer.negativeSlope, x, name);
        break;
    }
  });
  graph.nodes.push(node("Identity", [x], [ONNX_OUTPUT]));
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "sparsetrain",
    producerVersion: packageVersion(),
    graph: {
      name: "sparsetrain",
      input: [batchedFloatValue(ONNX_INPUT, [inputSize])],
      output: [batchedFloatValue(ONNX_OUTPUT, [outputSize])],
      initializer: graph.initializers,
      node: graph.nodes,
    },
  });
}

/** Gemm (transB) or Conv with its bias, the weight dense float32 or DequantizeLinear of int codes, then the fused activation; returns the output's name. */
function weightLayer(graph: Graph, layer: FoldedWeightLayer, name: string, x: string, bits: QuantBits | null): string {
  const { rows, cols } = layer;
  const weight = deployedWeight(layer, bits === null ? "float32" : bits === 8 ? "int8" : "int4");
  const dims = layer.conv ? [rows, layer.conv.inChannels, layer.conv.kernel, layer.conv.kernel] : [rows, cols];
  if (weight.codes !== undefined && weight.scales !== undefined) {
    const codes = new Int8Array(rows * cols);
    scatter(weight.rowPtr, weight.colIdx, cols, (i) => weight.codes![i], codes);
    graph.initializers.push(
      codeTensor(`${name}.weight_quantized`, dims, codes, bits!),
      floatTensor(`${name}.weight_scale`, [rows], weight.scales),
      codeTensor(`${name}.weight_zero_point`, [rows], new Int8Array(rows), bits!),
    );
    graph.nodes.push(node("DequantizeLinear", [`${name}.weight_quantized`, `${name}.weight_scale`, `${name}.weight_zero_point`], [`${name}.weight`], { axis: 0 }));
  } else {
    const values = new Float32Array(rows * cols);
    scatter(weight.rowPtr, weight.colIdx, cols, (i) => weight.floats![i], values);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`${layer.source}: folded weight ${weight.floats![bad]} at row ${Math.floor(bad / cols)} does not fit in float32`);
    graph.initializers.push(floatTensor(`${name}.weight`, dims, values));
  }
  const bias = Float32Array.from(layer.bias);
  if (!bias.every(Number.isFinite)) throw new RangeError(`${layer.source}: folded bias is not finite in float32`);
  graph.initializers.push(floatTensor(`${name}.bias`, [rows], bias));
  const output = layer.activation === "identity" ? name : `${name}.linear`;
  if (layer.conv) {
    const { kernel, stride, padding } = layer.conv;
    graph.nodes.push(node("Conv", [x, `${name}.weight`, `${name}.bias`], [output], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: Array(4).fill(padding) }));
  } else {
    graph.nodes.push(node("Gemm", [x, `${name}.weight`, `${name}.bias`], [output], { transB: 1 }));
  }
  return layer.activation === "identity" ? output : activation(graph, layer.activation, layer.negativeSlope, output, name);
}

/** Writes CSR entries into a dense row-major array. */
function scatter(rowPtr: Int32Array, colIdx: Int32Array, cols: number, value: (i: number) => number, out: Float32Array | Int8Array): void {
  for (let r = 0; r + 1 < rowPtr.length; r++) for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) out[r * cols + colIdx[i]] = value(i);
}

const activationOps: Record<Exclude<CompactActivation, "identity">, string> = { relu: "Relu", "leaky-relu": "LeakyRelu", tanh: "Tanh", sigmoid: "Sigmoid", gelu: "Gelu" };

/** One activation node (Gelu is the exact erf form, PyTorch's default and ONNX's approximate = "none"); returns `output`. */
function activation(graph: Graph, kind: CompactActivation, negativeSlope: number, x: string, output: string): string {
  if (kind === "identity") {
    graph.nodes.push(node("Identity", [x], [output]));
    return output;
  }
  graph.nodes.push(node(activationOps[kind], [x], [output], kind === "leaky-relu" ? { alpha: { float: negativeSlope } } : {}));
  return output;
}
