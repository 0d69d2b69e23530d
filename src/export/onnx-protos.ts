// Building blocks of an ONNX ModelProto (tensors, attributes, nodes, typed values) on top of onnx-proto's protobufjs classes.
import onnxProto from "onnx-proto";
import { packInt4 } from "../quantize/rows.js";

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

/**
 * TensorProto.DataType codes. INT4 (22, ONNX 1.16) is newer than onnx-proto's enum (ONNX 1.10),
 * but protobufjs writes an enum field as its number, so the code is all the file needs.
 */
export const ONNX_FLOAT = 1;
export const ONNX_INT8 = 3;
export const ONNX_INT64 = 7;
export const ONNX_INT4 = 22;

const ATTRIBUTE_INT = 2;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INTS = 7;

/** Little-endian bytes of a typed array (ONNX raw_data is little-endian, as is every platform Node runs on). */
function rawBytes(values: Float32Array | Int8Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export function floatTensor(name: string, dims: number[], values: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: ONNX_FLOAT, rawData: rawBytes(values) };
}

export function int64Tensor(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims: [values.length], dataType: ONNX_INT64, rawData: rawBytes(BigInt64Array.from(values, BigInt)) };
}

/** Integer codes as an INT8 tensor, or as INT4 packed two per byte (low nibble first, as packInt4 and ONNX both pack). */
export function codeTensor(name: string, dims: number[], codes: Int8Array, bits: 8 | 4): onnxProto.onnx.ITensorProto {
  return bits === 8
    ? { name, dims, dataType: ONNX_INT8, rawData: rawBytes(codes) }
    : { name, dims, dataType: ONNX_INT4, rawData: packInt4(codes) };
}

type AttributeValue = number | number[] | { float: number };

/** A node; integer attributes as numbers or lists of numbers, float attributes as { float }. */
export function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(attributes).map(([name, value]): onnxProto.onnx.IAttributeProto =>
    typeof value === "number" ? { name, type: ATTRIBUTE_INT, i: value }
    : Array.isArray(value) ? { name, type: ATTRIBUTE_INTS, ints: value }
    : { name, type: ATTRIBUTE_FLOAT, f: value.float });
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute };
}

/** A float32 graph input or output of shape [batch, ...dims] with a symbolic (dynamic) batch dimension. */
export function batchedFloatValue(name: string, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: "batch" }, ...dims.map((d) => ({ dimValue: d }))] } } } };
}

export function encodeModel(model: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
