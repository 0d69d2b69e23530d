// Reads the quantized weights of a checkpoint: validates the "quantization" metadata, codes and scales, and replaces them by the float32 values code × scale.
//
// The loader then sees an ordinary float checkpoint, so every check and every reader of models
// (eval, prune, export) works on quantized files unchanged. The layout is that of checkpoint-write.ts.
import { z } from "zod";
import { parseMetadataJson } from "../io/checkpoint-metadata.js";
import { int64ToInt32, oneLine, type StoredTensor } from "../io/safetensors.js";
import { planModel, type LayerPlan, type ModelSpec } from "../nn/presets.js";
import { expected, nonNegativeInt, oneOf, positiveInt } from "../recipe/fields.js";
import { validateCsr } from "../tensor/sparse-matrix.js";

import { dequantizeRows, denseRowOffsets, qmax, QUANT_GRANULARITIES, unpackInt4, type QuantBits, type QuantGranularity } from "./rows.js";

const layerSchema = z.strictObject({
  shape: z.array(positiveInt(), expected("a list of integers >= 1")),
  nnz_before: nonNegativeInt(),
  nnz_after: nonNegativeInt(),
}, expected("an object {shape, nnz_before, nnz_after}"));

const quantizationSchema = z.strictObject({
  scheme: z.literal("symmetric", expected('"symmetric"')),
  bits: z.literal([8, 4], expected("8 or 4")),
  granularity: oneOf(QUANT_GRANULARITIES),
  zero_point: z.literal(0, expected("0 (symmetric quantization)")),
  layers: z.record(z.string(), layerSchema, expected("a mapping of weight names to {shape, nnz_before, nnz_after}")),
}, expected("an object {scheme, bits, granularity, zero_point, layers}"));

/** What a quantized checkpoint says about its quantization, for `info` and for callers that need float weights. */
export interface CheckpointQuantization {
  scheme: "symmetric";
  bits: QuantBits;
  granularity: QuantGranularity;
  layers: { name: string; nonzeroBefore: number; nonzeroAfter: number; scales: Float32Array }[];
}

/**
 * If the metadata says the checkpoint is quantized, validates every quantized weight and replaces
 * its codes in `tensors` by float32 values (and removes its scales); returns the quantization, or
 * undefined for a float checkpoint. Errors are one line naming `path` and the tensor or field.
 */
export function dequantizeStoredWeights(metadata: Record<string, string>, tensors: Map<string, StoredTensor>, spec: ModelSpec, path: string): CheckpointQuantization | undefined {
  const header = parseMetadataJson(metadata, "quantization", path, quantizationSchema, false);
  if (header === undefined) return undefined;
  let plan: LayerPlan[];
  try {
    plan = planModel(spec);
  } catch (error) {
    throw new Error(`${path}: metadata "model": ${(error as Error).message}`);
  }
  const bits = header.bits as QuantBits;
  const granularity = header.granularity as QuantGranularity;
  const layers: CheckpointQuantization["layers"] = [];
  for (const [name, recorded] of Object.entries(header.layers)) {
    const weight = weightLayer(plan, name, spec, path);
    const where = `${path}: metadata "quantization" layer ${oneLine(name)}`;
    if (recorded.shape.join() !== weight.shape.join()) throw new Error(`${where}: shape [${recorded.shape.join(", ")}], but the model's weight is [${weight.shape.join(", ")}]`);
    if (recorded.nnz_after > recorded.nnz_before) throw new Error(`${where}: nnz_after ${recorded.nnz_after} > nnz_before ${recorded.nnz_before}; quantization never adds non-zeros`);
    const decoded = weight.sparse
      ? dequantizeCsr(tensors, name, weight.shape, bits, granularity, path)
      : dequantizeDense(tensors, name, weight.shape, bits, granularity, path);
    if (decoded.nonzero !== recorded.nnz_after) {
      throw new Error(`${where}: nnz_after ${recorded.nnz_after}, but tensor "${decoded.codesName}" holds ${decoded.nonzero} non-zero codes`);
    }
    layers.push({ name, nonzeroBefore: recorded.nnz_before, nonzeroAfter: recorded.nnz_after, scales: decoded.scales });
  }
  return { scheme: "symmetric", bits, granularity, layers };
}

/** The Linear or Conv2d weight `name` (layers.<i>.weight) of the planned model. */
function weightLayer(plan: LayerPlan[], name: string, spec: ModelSpec, path: string): { shape: number[]; sparse: boolean } {
  const index = /^layers\.(\d+)\.weight$/.exec(name)?.[1];
  const layer = index !== undefined ? plan[Number(index)] : undefined;
  if (layer?.kind === "linear") return { shape: [layer.outFeatures, layer.inFeatures], sparse: spec.sparse?.[index!] !== undefined };
  if (layer?.kind === "conv") return { shape: [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel], sparse: spec.sparse?.[index!] !== undefined };
  const weights = plan.flatMap((l, i) => (l.kind === "linear" || l.kind === "conv" ? [`layers.${i}.weight`] : []));
  throw new Error(`${path}: metadata "quantization" names ${oneLine(name)}, which is not a Linear or Conv2d weight of ${spec.preset} (weights: ${weights.join(", ")})`);
}

/** The `count` codes of tensor `name`: I8 of `shape` (int8) or U8 [ceil(count/2)] packed (int4), each within ±qmax. */
function readCodes(tensors: Map<string, StoredTensor>, name: string, count: number, shape: number[], bits: QuantBits, path: string): Int8Array {
  const t = tensors.get(name);
  const expectedShape = bits === 8 ? shape : [Math.ceil(count / 2)];
  const dtype = bits === 8 ? "I8" : "U8";
  if (t === undefined) throw new Error(`${path}: tensor "${name}" is missing (the int${bits} codes, ${dtype} of shape [${expectedShape.join(", ")}])`);
  if (t.dtype !== dtype) throw new Error(`${path}: tensor "${name}" is ${t.dtype}, expected ${dtype} (int${bits} codes${bits === 4 ? ", two per byte" : ""})`);
  if (t.shape.join() !== expectedShape.join() || t.shape.length !== expectedShape.length) {
    throw new Error(`${path}: tensor "${name}" has shape [${t.shape.join(", ")}], expected [${expectedShape.join(", ")}] (int${bits} codes of ${count} weights)`);
  }
  if (bits === 4 && count % 2 === 1 && (t.values[t.values.length - 1] as number) >> 4 !== 0) {
    throw new Error(`${path}: tensor "${name}": the unused high nibble of its last byte is not 0`);
  }
  const codes = bits === 8 ? (t.values as Int8Array) : unpackInt4(t.values as Uint8Array, count);
  const m = qmax(bits);
  const bad = codes.findIndex((c) => c < -m || c > m);
  if (bad >= 0) throw new Error(`${path}: tensor "${name}": code ${codes[bad]} at index ${bad} is outside ±${m} (symmetric int${bits})`);
  return codes;
}

/** The scales of `weight`: F32, one per row (per-row) or one (per-tensor), each finite and > 0. */
function readScales(tensors: Map<string, StoredTensor>, weight: string, rows: number, granularity: QuantGranularity, path: string): Float32Array {
  const name = `${weight}_scale`;
  const count = granularity === "per-row" ? rows : 1;
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`${path}: tensor "${name}" is missing (F32 [${count}], the ${granularity} scales of ${weight})`);
  if (t.dtype !== "F32") throw new Error(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
  if (t.shape.length !== 1 || t.shape[0] !== count) {
    throw new Error(`${path}: tensor "${name}" has shape [${t.shape.join(", ")}], expected [${count}] (${granularity === "per-row" ? `one scale per row of the ${rows} rows` : "one scale for the whole weight"})`);
  }
  const scales = t.values as Float32Array;
  const bad = scales.findIndex((s) => !(Number.isFinite(s) && s > 0));
  if (bad >= 0) throw new Error(`${path}: tensor "${name}": scale ${scales[bad]} at index ${bad} is not a finite number > 0`);
  tensors.delete(name);
  return scales;
}

function countNonzero(codes: ArrayLike<number>, keep: (i: number) => boolean = () => true): number {
  let n = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] !== 0 && keep(i)) n++;
  return n;
}

interface Decoded {
  codesName: string;
  nonzero: number;
  scales: Float32Array;
}

function dequantizeDense(tensors: Map<string, StoredTensor>, name: string, shape: number[], bits: QuantBits, granularity: QuantGranularity, path: string): Decoded {
  const size = shape.reduce((a, b) => a * b, 1);
  const codes = readCodes(tensors, name, size, shape, bits, path);
  const scales = readScales(tensors, name, shape[0], granularity, path);
  const mask = tensors.get(`${name}_mask`);
  // A masked weight's codes are 0 where the mask is 0: the writer keeps the mask equal to the non-zero codes.
  if (mask?.dtype === "U8" && mask.values.length === size) {
    const bad = codes.findIndex((c, i) => c !== 0 && mask.values[i] === 0);
    if (bad >= 0) throw new Error(`${path}: tensor "${name}": code ${codes[bad]} at index ${bad} is non-zero where ${name}_mask is 0`);
  }
  const offsets = granularity === "per-row" ? denseRowOffsets(shape[0], size / shape[0]) : [0, size];
  tensors.set(name, { dtype: "F32", shape, values: dequantizeRows(codes, scales, offsets) });
  return { codesName: name, nonzero: countNonzero(codes), scales };
}

function indexTensor(tensors: Map<string, StoredTensor>, name: string, path: string): Int32Array {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`${path}: tensor "${name}" is missing`);
  if (!(t.values instanceof BigInt64Array || t.values instanceof Int32Array)) throw new Error(`${path}: tensor "${name}" is ${t.dtype}, expected I64 or I32`);
  if (t.shape.length !== 1) throw new Error(`${path}: tensor "${name}" has shape [${t.shape.join(", ")}], expected one dimension`);
  return int64ToInt32(t.values, `${path}: tensor "${name}"`);
}

function dequantizeCsr(tensors: Map<string, StoredTensor>, name: string, shape: number[], bits: QuantBits, granularity: QuantGranularity, path: string): Decoded {
  const rows = shape[0], cols = shape.slice(1).reduce((a, b) => a * b, 1);
  const rowPtr = indexTensor(tensors, `${name}.crow_indices`, path);
  const colIdx = indexTensor(tensors, `${name}.col_indices`, path);
  const nnz = colIdx.length;
  const codesName = `${name}.values`;
  const codes = readCodes(tensors, codesName, nnz, [nnz], bits, path);
  try {
    validateCsr(rows, cols, rowPtr, colIdx, nnz);
  } catch (error) {
    throw new Error(`${path}: sparse weight ${name}: ${(error as Error).message}`);
  }
  const scales = readScales(tensors, name, rows, granularity, path);
  tensors.set(codesName, { dtype: "F32", shape: [nnz], values: dequantizeRows(codes, scales, granularity === "per-row" ? rowPtr : [0, nnz]) });
  return { codesName, nonzero: countNonzero(codes), scales };
}
