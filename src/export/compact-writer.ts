// Writes a trained Model as a compact model file (docs/compact-format.md): folded, optionally quantized, each weight in its smallest structure.
import type { Normalizer } from "../data/normalize.js";
import type { Model } from "../nn/presets.js";
import type { QuantBits } from "../quantize/rows.js";
import { EXPGOLOMB_VERSION, WEIGHT_STRUCTURES, WEIGHT_VALUE_TYPES, type WeightStructure, type WeightValueType } from "../runtime/compact-model.js";
import { encodeCompactContainer, type CompactTensor } from "./compact-container.js";
import { encodeWeight } from "./encode-weight.js";
import { deployedWeight, foldModel, type FoldOptions } from "./fold-model.js";

export interface CompactExportOptions {
  /** How weights are stored (default float32); int8/int4 with one scale per output row. */
  values?: WeightValueType;
  /** The training input normalization (from the checkpoint): folded into the first layer where exact, else the first step. */
  normalizer?: Normalizer;
  /** One name per output, if known. */
  classNames?: string[];
  /** Force one structure for every weight (tests, comparisons); default "auto": per layer the smallest. */
  structure?: WeightStructure | "auto";
  /** int8/int4: "per-tensor" re-quantizes a per-tensor quantized checkpoint with its one scale (stored once per row). */
  granularity?: FoldOptions["granularity"];
}

/** The compact file of `model`: it takes raw inputs (as the dataset files hold them) and returns the model's logits. */
export function exportCompactModel(model: Model, options: CompactExportOptions = {}): Uint8Array {
  const valueType = options.values ?? "float32";
  if (!WEIGHT_VALUE_TYPES.includes(valueType)) throw new RangeError(`compact export: values must be one of ${WEIGHT_VALUE_TYPES.join(", ")}, got ${JSON.stringify(valueType)}`);
  const structure = options.structure ?? "auto";
  if (structure !== "auto" && !WEIGHT_STRUCTURES.includes(structure)) throw new RangeError(`compact export: structure must be auto or one of ${WEIGHT_STRUCTURES.join(", ")}, got ${JSON.stringify(structure)}`);
  const bits: QuantBits | null = valueType === "int8" ? 8 : valueType === "int4" ? 4 : null;
  const folded = foldModel(model, options.normalizer, bits, { granularity: options.granularity });
  const outputs = model.net.outputShape(model.inputShape).reduce((a, b) => a * b, 1);
  const names = options.classNames;
  if (names !== undefined && (names.length !== outputs || !names.every((n) => typeof n === "string"))) {
    throw new RangeError(`compact export: ${names.length} class names for a model with ${outputs} outputs`);
  }
  const tensors: CompactTensor[] = [];
  let version = 1;
  const layers = folded.map((layer, i) => {
    const prefix = `layers.${i}`;
    switch (layer.kind) {
      case "normalize":
        tensors.push({ name: `${prefix}.shift`, dtype: "F32", shape: [layer.shift.length], values: Float32Array.from(layer.shift) });
        tensors.push({ name: `${prefix}.factor`, dtype: "F32", shape: [layer.factor.length], values: Float32Array.from(layer.factor) });
        return { kind: "normalize" };
      case "linear":
      case "conv2d": {
        const encoded = encodeWeight(deployedWeight(layer, valueType), `${prefix}.weight`, structure);
        tensors.push(...encoded.tensors);
        if (encoded.layout.structure === "csr-expgolomb") version = EXPGOLOMB_VERSION;
        const bias = Float32Array.from(layer.bias);
        if (!bias.every(Number.isFinite)) throw new RangeError(`${layer.source}: folded bias is not finite in float32`);
        tensors.push({ name: `${prefix}.bias`, dtype: "F32", shape: [layer.rows], values: bias });
        const activation = { activation: layer.activation, ...(layer.activation === "leaky-relu" ? { negative_slope: layer.negativeSlope } : {}) };
        if (layer.kind === "linear") return { kind: "linear", in_features: layer.cols, out_features: layer.rows, ...activation, weight: encoded.layout };
        const c = layer.conv!;
        return { kind: "conv2d", in_channels: c.inChannels, out_channels: c.outChannels, kernel: c.kernel, stride: c.stride, padding: c.padding, ...activation, weight: encoded.layout };
      }
      case "maxpool":
        return { kind: "maxpool", kernel: layer.kernel, stride: layer.stride, padding: layer.padding };
      case "flatten":
        return { kind: "flatten" };
      case "activation":
        return { kind: "activation", activation: layer.activation, ...(layer.activation === "leaky-relu" ? { negative_slope: layer.negativeSlope } : {}) };
    }
  });
  const layout = { input_shape: model.inputShape, ...(names !== undefined ? { class_names: names } : {}), layers };
  // The lowest version that holds the file, so that a version-1 reader still reads every file it could.
  return encodeCompactContainer(tensors, layout, version);
}
