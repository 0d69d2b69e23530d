// Writes a quantized checkpoint: the safetensors checkpoint with each quantized weight's integer codes and F32 scales in place of its float values.
//
// Per quantized weight <name> (see README "Quantization"):
//   dense/masked  <name>            I8 codes in the weight's shape (int8), or U8 [ceil(n/2)] (int4, packed)
//   CSR           <name>.values     I8 [nnz] codes, or U8 [ceil(nnz/2)]; crow_indices/col_indices as always
//   both          <name>_scale      F32 [rows] (per-row) or [1] (per-tensor); weight = code × scale of its row
// A mask (<name>_mask), biases and batch norm are stored as in a float checkpoint. __metadata__
// "quantization" holds the scheme, bits, granularity, zero point and per-layer non-zeros.
import { checkpointMetadata, modelTensors, type CheckpointInfo } from "../io/checkpoint.js";
import { writeSafetensors, type TensorToWrite } from "../io/safetensors.js";
import type { Model } from "../nn/presets.js";
import type { ModelQuantization, QuantizedWeight } from "./quantize-model.js";
import { packInt4, type QuantBits } from "./rows.js";

/** The JSON of __metadata__ "quantization". */
export interface QuantizationMetadata {
  scheme: "symmetric";
  bits: QuantBits;
  granularity: ModelQuantization["granularity"];
  zero_point: 0;
  layers: Record<string, { shape: number[]; nnz_before: number; nnz_after: number }>;
}

export function quantizationMetadata(quantization: ModelQuantization): QuantizationMetadata {
  return {
    scheme: quantization.scheme, bits: quantization.bits, granularity: quantization.granularity, zero_point: 0,
    layers: Object.fromEntries(quantization.layers.map((l) => [l.name, { shape: l.shape, nnz_before: l.nonzeroBefore, nnz_after: l.nonzeroAfter }])),
  };
}

/** The codes as stored: I8 in `shape` for int8, U8 packed two per byte (flat) for int4. */
function codesTensor(codes: Int8Array, bits: QuantBits, shape: number[]): TensorToWrite {
  return bits === 8 ? { dtype: "I8", shape, values: codes } : { dtype: "U8", shape: [Math.ceil(codes.length / 2)], values: packInt4(codes) };
}

/** The tensors of a quantized checkpoint: the float checkpoint's, with codes in place of each quantized weight's values, plus its scales. */
export function quantizedTensors(model: Model, quantization: ModelQuantization): [string, TensorToWrite][] {
  const byName = new Map<string, QuantizedWeight>(quantization.layers.map((l) => [l.name, l]));
  const out: [string, TensorToWrite][] = [];
  const written = new Set<string>();
  for (const [name, t] of modelTensors(model)) {
    const dense = byName.get(name);
    const csr = name.endsWith(".values") ? byName.get(name.slice(0, -".values".length)) : undefined;
    const layer = dense ?? csr;
    if (layer === undefined) {
      out.push([name, t]);
      continue;
    }
    if (layer.codes.length !== t.values.length || (dense !== undefined) !== (layer.storage !== "csr")) {
      throw new Error(`quantize: ${layer.name} holds ${t.values.length} ${dense ? "dense" : "CSR"} values but its quantization has ${layer.codes.length} ${layer.storage} codes; quantize the model again after changing it`);
    }
    out.push([name, codesTensor(layer.codes, quantization.bits, [...t.shape])]);
    out.push([`${layer.name}_scale`, { dtype: "F32", shape: [layer.scales.length], values: layer.scales }]);
    written.add(layer.name);
  }
  const missing = [...byName.keys()].filter((name) => !written.has(name));
  if (missing.length > 0) throw new Error(`quantize: the model has no weight ${missing.join(", ")} that its quantization describes`);
  return out;
}

/** Writes `model` (already quantized by `quantizeModel`) as a quantized checkpoint, atomically. */
export function saveQuantizedCheckpoint(path: string, model: Model, quantization: ModelQuantization, info: Omit<CheckpointInfo, "spec">): void {
  const metadata = checkpointMetadata(model, info);
  metadata.quantization = JSON.stringify(quantizationMetadata(quantization));
  writeSafetensors(path, quantizedTensors(model, quantization), metadata);
}
