// Reads a compact model file (bytes → a validated CompactModel): every header field, tensor, index and shape is checked, and every problem is an Error naming the file, layer and tensor.
//
// The format is documented in docs/compact-format.md. This file and everything it imports stay
// inside src/runtime/, with no Node-only API: the runtime must bundle small for a web page.
import { COMPACT_ACTIVATIONS, COMPACT_FORMAT, COMPACT_VERSION, EXPGOLOMB_VERSION, WEIGHT_STRUCTURES, WEIGHT_VALUE_TYPES, type CompactActivation, type CompactLayer, type CompactModel, type WeightStructure, type WeightValueType } from "./compact-model.js";
import { crc32Hex } from "./crc32.js";
import { MAX_GAP_ORDER } from "./decode-gap-codes.js";
import { decodeWeight, type WeightLayout } from "./decode-weight.js";
import { CompactFormatError, oneLine, viewSafetensors, type TensorSource, type TensorView, type ViewDtype } from "./safetensors-view.js";
import { readFloats } from "./tensor-values.js";

/** No activation of one example may exceed this many values: a corrupt shape must fail here, not allocate gigabytes later. */
export const MAX_ACTIVATION_VALUES = 2 ** 28;
const METADATA_KEYS = ["format", "version", "model", "crc32"];

type Json = Record<string, unknown>;

/** Reads and validates a compact model file; `source` (a file name) starts every error message. */
export function readCompactModel(bytes: Uint8Array, source = "compact model"): CompactModel {
  const file = viewSafetensors(bytes, source);
  const fail = (problem: string): never => {
    throw new CompactFormatError(`${source}: ${oneLine(problem)}`);
  };
  const { metadata } = file;
  if (metadata.format !== COMPACT_FORMAT) {
    fail(`metadata "format" is ${JSON.stringify(metadata.format)}, expected "${COMPACT_FORMAT}" (is this a training checkpoint? export it first)`);
  }
  if (!/^[0-9]{1,9}$/.test(metadata.version ?? "")) fail(`metadata "version" is ${JSON.stringify(metadata.version)}, expected a version number such as "${COMPACT_VERSION}"`);
  const version = Number(metadata.version);
  if (version < 1 || version > COMPACT_VERSION) fail(`format version ${version} is not supported by this reader (it reads versions 1 to ${COMPACT_VERSION})`);
  for (const key of Object.keys(metadata)) if (!METADATA_KEYS.includes(key)) fail(`unknown metadata key "${key}" (expected ${METADATA_KEYS.join(", ")})`);
  if (!/^[0-9a-f]{8}$/.test(metadata.crc32 ?? "")) fail(`metadata "crc32" is ${JSON.stringify(metadata.crc32)}, expected 8 lowercase hexadecimal digits`);
  if (typeof metadata.model !== "string") fail(`metadata "model" (the layout) is missing`);
  let layout: unknown;
  try {
    layout = JSON.parse(metadata.model);
  } catch {
    // The engine's own message ("Unexpected end of JSON input", …) differs between runtimes; the key names the problem.
    fail(`metadata "model" (the layout) is not valid JSON`);
  }
  const taken = new Set<string>();
  const model = readLayout(layout, version, tensorSource(file.tensors, taken, fail), fail);
  for (const name of file.tensors.keys()) if (!taken.has(name)) fail(`tensor "${name}" belongs to no layer of the layout`);
  const checksum = crc32Hex(new TextEncoder().encode(metadata.model), file.data);
  if (checksum !== metadata.crc32) fail(`checksum mismatch: the layout and data have CRC-32 ${checksum}, the header says ${metadata.crc32}; the file is corrupted`);
  return model;
}

/** Hands out the file's tensors by name, checking dtype and shape (-1: any length), and records in `taken` which were used. */
function tensorSource(tensors: Map<string, TensorView>, taken: Set<string>, fail: (problem: string) => never): TensorSource {
  return {
    fail,
    take(name, dtypes, shape) {
      const t = tensors.get(name);
      if (t === undefined) return fail(`tensor "${name}" is missing`);
      if (!dtypes.includes(t.dtype)) fail(`tensor "${name}" has dtype ${t.dtype}, expected ${dtypes.join(" or ")}`);
      const fits = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
      if (!fits) fail(`tensor "${name}" has shape [${t.shape.join(", ")}], expected [${shape.map((d) => (d === -1 ? "any" : d)).join(", ")}]`);
      taken.add(name);
      return t;
    },
  };
}

function readLayout(layout: unknown, version: number, tensors: TensorSource, fail: (problem: string) => never): CompactModel {
  const top = object(layout, "layout", fail);
  knownKeys(top, "layout", ["input_shape", "layers", "class_names"], fail);
  const inputShape = shapeOf(top.input_shape, "layout.input_shape", fail);
  if (inputShape.length !== 1 && inputShape.length !== 3) fail(`layout.input_shape [${inputShape.join(", ")}] must be [features] or [channels, height, width]`);
  if (!Array.isArray(top.layers) || top.layers.length === 0) fail(`layout.layers must be a non-empty list, got ${JSON.stringify(top.layers)}`);
  let shape = inputShape;
  const layers: CompactLayer[] = (top.layers as unknown[]).map((entry, i) => {
    const layer = readLayer(entry, i, shape, version, tensors, fail);
    const size = layer.outputShape.reduce((a, b) => a * b, 1);
    if (size > MAX_ACTIVATION_VALUES) fail(`layers.${i}: output shape [${layer.outputShape.join(", ")}] exceeds ${MAX_ACTIVATION_VALUES} values per example`);
    shape = layer.outputShape;
    return layer;
  });
  if (shape.length !== 1) fail(`the last layer's output shape [${shape.join(", ")}] must be flat [classes]; add a flatten layer`);
  const outputSize = shape[0];
  let classNames: string[] | null = null;
  if (top.class_names !== undefined && top.class_names !== null) {
    const names = top.class_names;
    if (!Array.isArray(names) || names.length !== outputSize || !names.every((n) => typeof n === "string")) {
      fail(`layout.class_names must be a list of ${outputSize} strings (one per output), got ${JSON.stringify(names).slice(0, 80)}`);
    }
    classNames = names as string[];
  }
  return { version, inputShape, inputSize: inputShape.reduce((a, b) => a * b, 1), outputSize, classNames, layers };
}

function readLayer(entry: unknown, i: number, inputShape: number[], version: number, tensors: TensorSource, fail: (problem: string) => never): CompactLayer {
  const where = `layers.${i}`;
  const layer = object(entry, where, fail);
  const kind = layer.kind;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const image = (): [number, number, number] => {
    if (inputShape.length !== 3) fail(`${where} (${kind}): needs an image input [channels, height, width], got [${inputShape.join(", ")}]`);
    return inputShape as [number, number, number];
  };
  switch (kind) {
    case "normalize": {
      knownKeys(layer, where, ["kind"], fail);
      const shift = readFloats(tensors.take(`${where}.shift`, ["F32"], [-1]));
      const factor = readFloats(tensors.take(`${where}.factor`, ["F32"], [-1]));
      for (const [name, values] of [["shift", shift], ["factor", factor]] as const) {
        if (values.length !== 1 && values.length !== size) fail(`tensor "${where}.${name}" has ${values.length} values, expected 1 or ${size} (one per input feature)`);
        if (!values.every(Number.isFinite)) fail(`tensor "${where}.${name}" holds a value that is not finite`);
      }
      return { kind, shift, factor, inputShape, outputShape: inputShape };
    }
    case "linear": {
      knownKeys(layer, where, ["kind", "in_features", "out_features", "activation", "negative_slope", "weight"], fail);
      const inFeatures = integer(layer, "in_features", where, 1, fail);
      const outFeatures = integer(layer, "out_features", where, 1, fail);
      if (inputShape.length !== 1 || inputShape[0] !== inFeatures) fail(`${where} (linear): in_features ${inFeatures} does not match its input shape [${inputShape.join(", ")}]`);
      const { activation, negativeSlope } = readActivation(layer, where, fail);
      const weight = decodeWeight(weightLayout(layer.weight, outFeatures, inFeatures, version, where, fail), `${where}.weight`, tensors);
      const bias = readBias(tensors, where, outFeatures, fail);
      return { kind, weight, bias, activation, negativeSlope, inputShape, outputShape: [outFeatures] };
    }
    case "conv2d": {
      knownKeys(layer, where, ["kind", "in_channels", "out_channels", "kernel", "stride", "padding", "activation", "negative_slope", "weight"], fail);
      const [c, h, w] = image();
      const inChannels = integer(layer, "in_channels", where, 1, fail);
      const outChannels = integer(layer, "out_channels", where, 1, fail);
      const kernel = integer(layer, "kernel", where, 1, fail);
      const stride = integer(layer, "stride", where, 1, fail);
      const padding = integer(layer, "padding", where, 0, fail);
      if (inChannels !== c) fail(`${where} (conv2d): in_channels ${inChannels} does not match its input shape [${inputShape.join(", ")}]`);
      if (padding >= kernel) fail(`${where} (conv2d): padding ${padding} must be smaller than the kernel ${kernel}`);
      const outputShape = [outChannels, poolOrConvSize(h, kernel, stride, padding), poolOrConvSize(w, kernel, stride, padding)];
      if (outputShape[1] < 1 || outputShape[2] < 1) fail(`${where} (conv2d): a ${kernel}×${kernel} kernel does not fit the ${h}×${w} input (padding ${padding})`);
      const { activation, negativeSlope } = readActivation(layer, where, fail);
      const weight = decodeWeight(weightLayout(layer.weight, outChannels, inChannels * kernel * kernel, version, where, fail), `${where}.weight`, tensors);
      const bias = readBias(tensors, where, outChannels, fail);
      return { kind, weight, bias, activation, negativeSlope, inChannels, outChannels, kernel, stride, padding, inputShape, outputShape };
    }
    case "maxpool": {
      knownKeys(layer, where, ["kind", "kernel", "stride", "padding"], fail);
      const [c, h, w] = image();
      const kernel = integer(layer, "kernel", where, 1, fail);
      const stride = integer(layer, "stride", where, 1, fail);
      const padding = integer(layer, "padding", where, 0, fail);
      // PyTorch's rule: a window must never lie entirely in the padding.
      if (2 * padding > kernel) fail(`${where} (maxpool): padding ${padding} must be at most half the kernel ${kernel}`);
      const outputShape = [c, poolOrConvSize(h, kernel, stride, padding), poolOrConvSize(w, kernel, stride, padding)];
      if (outputShape[1] < 1 || outputShape[2] < 1) fail(`${where} (maxpool): a ${kernel}×${kernel} window does not fit the ${h}×${w} input`);
      return { kind, kernel, stride, padding, inputShape, outputShape };
    }
    case "flatten":
      knownKeys(layer, where, ["kind"], fail);
      return { kind, inputShape, outputShape: [size] };
    case "activation": {
      knownKeys(layer, where, ["kind", "activation", "negative_slope"], fail);
      return { kind, ...readActivation(layer, where, fail), inputShape, outputShape: inputShape };
    }
    default:
      return fail(`${where}: unknown layer kind ${JSON.stringify(kind)} (version ${COMPACT_VERSION} knows normalize, linear, conv2d, maxpool, flatten, activation)`);
  }
}

function poolOrConvSize(n: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((n + 2 * padding - kernel) / stride) + 1;
}

function weightLayout(value: unknown, rows: number, cols: number, version: number, where: string, fail: (problem: string) => never): WeightLayout {
  const w = object(value, `${where}.weight`, fail);
  const coded = w.structure === "csr-expgolomb";
  knownKeys(w, `${where}.weight`, coded ? ["structure", "values", "nnz", "gap_order"] : ["structure", "values", "nnz"], fail);
  if (!WEIGHT_STRUCTURES.includes(w.structure as WeightStructure)) fail(`${where}.weight.structure ${JSON.stringify(w.structure)} is not one of ${WEIGHT_STRUCTURES.join(", ")}`);
  if (coded && version < EXPGOLOMB_VERSION) fail(`${where}.weight.structure "csr-expgolomb" needs format version ${EXPGOLOMB_VERSION}, but the file says version ${version}`);
  const gapOrder = coded ? w.gap_order : undefined;
  if (coded && !(Number.isSafeInteger(gapOrder) && (gapOrder as number) >= 0 && (gapOrder as number) <= MAX_GAP_ORDER)) {
    fail(`${where}.weight.gap_order ${JSON.stringify(gapOrder)} must be an integer in 0..${MAX_GAP_ORDER}`);
  }
  if (!WEIGHT_VALUE_TYPES.includes(w.values as WeightValueType)) fail(`${where}.weight.values ${JSON.stringify(w.values)} is not one of ${WEIGHT_VALUE_TYPES.join(", ")}`);
  if (rows * cols > Number.MAX_SAFE_INTEGER) fail(`${where}.weight: ${rows}×${cols} is too large`);
  const nnz = integer(w, "nnz", `${where}.weight`, 0, fail);
  return { rows, cols, structure: w.structure as WeightStructure, valueType: w.values as WeightValueType, nnz, ...(coded ? { gapOrder: gapOrder as number } : {}) };
}

function readBias(tensors: TensorSource, where: string, rows: number, fail: (problem: string) => never): Float32Array {
  const bias = readFloats(tensors.take(`${where}.bias`, ["F32"], [rows]));
  if (!bias.every(Number.isFinite)) fail(`tensor "${where}.bias" holds a value that is not finite`);
  return bias;
}

function readActivation(layer: Json, where: string, fail: (problem: string) => never): { activation: CompactActivation; negativeSlope: number } {
  const activation = layer.activation as CompactActivation;
  if (!COMPACT_ACTIVATIONS.includes(activation)) fail(`${where}.activation ${JSON.stringify(layer.activation)} is not one of ${COMPACT_ACTIVATIONS.join(", ")}`);
  if (activation !== "leaky-relu") {
    if (layer.negative_slope !== undefined) fail(`${where}.negative_slope is only allowed with activation "leaky-relu"`);
    return { activation, negativeSlope: 0 };
  }
  const slope = layer.negative_slope;
  if (typeof slope !== "number" || !Number.isFinite(slope)) fail(`${where}.negative_slope ${JSON.stringify(slope)} must be a finite number for "leaky-relu"`);
  return { activation, negativeSlope: slope as number };
}

function object(value: unknown, where: string, fail: (problem: string) => never): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${where} must be a JSON object, got ${JSON.stringify(value)?.slice(0, 60)}`);
  return value as Json;
}

function knownKeys(value: Json, where: string, allowed: string[], fail: (problem: string) => never): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(`${where}: unknown field "${key}" (expected ${allowed.join(", ")})`);
}

function integer(value: Json, key: string, where: string, min: number, fail: (problem: string) => never): number {
  const v = value[key];
  if (!(Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= MAX_ACTIVATION_VALUES)) fail(`${where}.${key} ${JSON.stringify(v)} must be an integer in ${min}..${MAX_ACTIVATION_VALUES}`);
  return v as number;
}

function shapeOf(value: unknown, where: string, fail: (problem: string) => never): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= MAX_ACTIVATION_VALUES)) {
    fail(`${where} ${JSON.stringify(value)?.slice(0, 60)} must be a non-empty list of positive integers`);
  }
  const shape = value as number[];
  if (shape.reduce((a, b) => a * b, 1) > MAX_ACTIVATION_VALUES) fail(`${where} [${shape.join(", ")}] exceeds ${MAX_ACTIVATION_VALUES} values per example`);
  return shape;
}

export type { ViewDtype };
