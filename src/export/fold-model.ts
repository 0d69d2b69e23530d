// Turns a trained Model into inference layers: weights as CSR over their non-zeros (quantized per row if asked), batch norm and the input normalization folded in where exact, dropout gone.
//
// Folding keeps zeros zero: batch norm multiplies a weight row by γ/√(var+ε) and the input
// normalization multiplies rows (one scalar factor) or columns (per-feature factors), so a pruned
// weight stays 0 and the structure is the trained one.
//
// Quantization happens BEFORE folding, on the model's own weights (the per-row codes and scales
// of src/quantize/rows.ts, exactly what fake quantization and quantization-aware training use).
// The row-wise folds then only multiply a row's scale (a negative factor flips its codes' signs),
// so the file's codes are the model's codes. A per-feature normalization would multiply columns,
// which no per-row scale can express: with int8/int4 it stays an explicit normalization step.
import type { Normalizer } from "../data/normalize.js";
import { ActivationLayer, Dropout, Flatten } from "../nn/activations.js";
import { BatchNorm } from "../nn/batch-norm.js";
import { Conv2d } from "../nn/conv2d.js";
import type { Layer } from "../nn/layer.js";
import { Linear } from "../nn/linear.js";
import { Pool2d } from "../nn/pool.js";
import type { Model } from "../nn/presets.js";
import { SparseLinear } from "../nn/sparse-linear.js";
import { quantizeRows, type QuantBits, type QuantGranularity } from "../quantize/rows.js";
import type { CompactActivation, WeightValueType } from "../runtime/compact-model.js";
import type { FinalWeight } from "./encode-weight.js";

export interface FoldedWeightLayer {
  kind: "linear" | "conv2d";
  /** "layers.3 (Linear(…))", for errors. */
  source: string;
  rows: number;
  cols: number;
  /** CSR over the non-zero weights of the trained (or quantized) model, before any fold. */
  rowPtr: Int32Array;
  colIdx: Int32Array;
  /** The weights as the model computes with them (code × scale when quantized). */
  values: Float64Array;
  codes?: Int8Array;
  scales?: Float32Array;
  /** Deployed weight = values[r, c] · rowFactor[r] · colFactor[c]. */
  rowFactor: Float64Array;
  colFactor: Float64Array | null;
  bias: Float64Array;
  activation: CompactActivation;
  negativeSlope: number;
  conv?: { inChannels: number; outChannels: number; kernel: number; stride: number; padding: number };
}

export type FoldedLayer =
  | FoldedWeightLayer
  | { kind: "normalize"; shift: number[]; factor: number[] }
  | { kind: "maxpool"; kernel: number; stride: number; padding: number }
  | { kind: "flatten" }
  | { kind: "activation"; activation: CompactActivation; negativeSlope: number };

export interface FoldOptions {
  /** One scale per row (default), or one per weight as a per-tensor quantized checkpoint has: re-quantizing its values then reproduces its codes. */
  granularity?: QuantGranularity;
  /** What the model is exported to, for errors (default "the compact format"). */
  target?: string;
}

const activationNames: Record<string, CompactActivation> = { ReLU: "relu", LeakyReLU: "leaky-relu", Tanh: "tanh", Sigmoid: "sigmoid", GELU: "gelu" };

/** The inference layers of `model`, with `normalizer` (the training input normalization) folded in or kept as a first step. */
export function foldModel(model: Model, normalizer: Normalizer | undefined, bits: QuantBits | null, options: FoldOptions = {}): FoldedLayer[] {
  const granularity = options.granularity ?? "per-row";
  const target = options.target ?? "the compact format";
  const layers: FoldedLayer[] = [];
  const last = () => layers[layers.length - 1];
  model.net.layers.forEach((layer, i) => {
    const source = `layers.${i} (${layer.describe()})`;
    if (layer instanceof Dropout) return;
    if (layer instanceof Linear || layer instanceof SparseLinear || layer instanceof Conv2d) {
      layers.push(weightLayer(layer, source, bits, granularity));
    } else if (layer instanceof BatchNorm) {
      const previous = last();
      if (previous === undefined || (previous.kind !== "linear" && previous.kind !== "conv2d") || previous.activation !== "identity" || previous.rows !== layer.channels) {
        throw new Error(`${source}: batch norm can be exported only right after a Linear or Conv2d with ${layer.channels} outputs, which it is folded into`);
      }
      foldBatchNorm(previous, layer);
    } else if (layer instanceof ActivationLayer) {
      const activation = activationNames[layer.kind];
      if (activation === undefined) throw new Error(`${source}: activation ${layer.kind} cannot be exported to ${target}`);
      const previous = last();
      const negativeSlope = activation === "leaky-relu" ? layer.slope : 0;
      if (previous !== undefined && (previous.kind === "linear" || previous.kind === "conv2d") && previous.activation === "identity") {
        previous.activation = activation;
        previous.negativeSlope = negativeSlope;
      } else {
        layers.push({ kind: "activation", activation, negativeSlope });
      }
    } else if (layer instanceof Pool2d && layer.mode === "max") {
      layers.push({ kind: "maxpool", kernel: layer.kernel, stride: layer.stride, padding: layer.padding });
    } else if (layer instanceof Flatten) {
      layers.push({ kind: "flatten" });
    } else {
      throw unsupported(layer, source, target);
    }
  });
  applyNormalizer(layers, normalizer, model.inputShape, bits);
  return layers;
}

function unsupported(layer: Layer, source: string, target: string): Error {
  return new Error(`${source}: layer ${layer.kind} cannot be exported to ${target} (supported: Linear, Conv2d, BatchNorm, MaxPool2d, Flatten, Dropout, ReLU, LeakyReLU, Tanh, Sigmoid, GELU)`);
}

/** A weight layer's non-zeros as CSR (a mask applied, exact zeros dropped), quantized (per row, or per tensor with its one scale given to every row) when `bits` is given. */
function weightLayer(layer: Linear | SparseLinear | Conv2d, source: string, bits: QuantBits | null, granularity: QuantGranularity): FoldedWeightLayer {
  let rows: number, cols: number, dense: { values: Float32Array; mask: Float32Array | null } | null = null;
  let sparse: { rowPtr: Int32Array; colIdx: Int32Array; values: Float32Array } | null = null;
  if (layer instanceof SparseLinear || (layer instanceof Conv2d && layer.sparseWeight !== null)) {
    const m = layer instanceof SparseLinear ? layer.weight : layer.sparseWeight!;
    rows = m.rows;
    cols = m.cols;
    sparse = { rowPtr: m.rowPtr.slice(), colIdx: m.colIdx.slice(), values: m.values.toArray() };
  } else {
    const weight = layer instanceof Linear ? layer.weight : layer.weight!;
    rows = weight.shape[0];
    cols = weight.size / rows;
    dense = { values: weight.toArray(), mask: layer.mask?.toArray() ?? null };
  }
  // Gather the non-zeros row by row.
  const rowPtr = new Int32Array(rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (sparse !== null) {
      for (let i = sparse.rowPtr[r]; i < sparse.rowPtr[r + 1]; i++) {
        if (sparse.values[i] !== 0) {
          colIdx.push(sparse.colIdx[i]);
          values.push(sparse.values[i]);
        }
      }
    } else {
      for (let c = 0; c < cols; c++) {
        const v = dense!.values[r * cols + c] * (dense!.mask === null ? 1 : dense!.mask[r * cols + c]);
        if (v !== 0) {
          colIdx.push(c);
          values.push(v);
        }
      }
    }
    rowPtr[r + 1] = colIdx.length;
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${source}: weight ${values[i]} is not finite; a model with NaN or infinite weights cannot be exported`);
  }
  const bias = Float64Array.from(layer.bias?.toArray() ?? new Float32Array(rows));
  const activation = { activation: "identity" as CompactActivation, negativeSlope: 0, rowFactor: new Float64Array(rows).fill(1), colFactor: null, bias };
  const conv = layer instanceof Conv2d ? { inChannels: layer.inChannels, outChannels: layer.outChannels, kernel: layer.kernel, stride: layer.stride, padding: layer.padding } : undefined;
  const base = { kind: conv ? "conv2d" as const : "linear" as const, source, rows, cols, ...activation, ...(conv ? { conv } : {}) };
  if (bits === null) return { ...base, rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) };
  // Quantized: codes of 0 (weights below half a step) are dropped, so the structure holds non-zeros only.
  const quantized = quantizeRows(values, granularity === "per-row" ? rowPtr : [0, values.length], bits);
  const codes = quantized.codes;
  const scales = quantized.scales.length === rows ? quantized.scales : new Float32Array(rows).fill(quantized.scales[0]);
  const keptPtr = new Int32Array(rows + 1);
  const keptCols: number[] = [], keptCodes: number[] = [], keptValues: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      if (codes[i] === 0) continue;
      keptCols.push(colIdx[i]);
      keptCodes.push(codes[i]);
      keptValues.push(Math.fround(codes[i] * scales[r]));
    }
    keptPtr[r + 1] = keptCols.length;
  }
  return { ...base, rowPtr: keptPtr, colIdx: Int32Array.from(keptCols), values: Float64Array.from(keptValues), codes: Int8Array.from(keptCodes), scales };
}

/** y = γ(z − μ)/√(var + ε) + β folded into z = W·x + b: row r scaled by c = γ/√(var + ε), b' = c(b − μ) + β. */
function foldBatchNorm(layer: FoldedWeightLayer, bn: BatchNorm): void {
  const gamma = bn.weight.toArray(), beta = bn.bias.toArray(), mean = bn.runningMean.toArray(), variance = bn.runningVar.toArray();
  for (let r = 0; r < layer.rows; r++) {
    const c = gamma[r] / Math.sqrt(variance[r] + bn.eps);
    layer.rowFactor[r] *= c;
    layer.bias[r] = c * (layer.bias[r] - mean[r]) + beta[r];
  }
}

/**
 * x' = (x − shift)·factor folded into the first layer when that is exact: W·x' + b = (W·factor)·x +
 * (b − W·(shift·factor)). Exact for a Linear (scalar or per-feature), and for an unpadded
 * convolution with one scalar pair (every output sees every weight of its filter on real pixels;
 * zero padding would be zero in normalized, not raw, units). Otherwise an explicit first step.
 */
function applyNormalizer(layers: FoldedLayer[], normalizer: Normalizer | undefined, inputShape: number[], bits: QuantBits | null): void {
  if (normalizer === undefined || normalizer.kind === "none") return;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const { shift, factor } = normalizer;
  for (const [name, values] of [["shift", shift], ["factor", factor]] as const) {
    if (!Array.isArray(values) || (values.length !== 1 && values.length !== size) || !values.every(Number.isFinite)) {
      throw new RangeError(`normalizer.${name}: expected 1 or ${size} finite numbers (one per input feature), got ${JSON.stringify(values)?.slice(0, 80)}`);
    }
  }
  const scalar = shift.length === 1 && factor.length === 1;
  const first = layers[0];
  const foldable = first !== undefined && (first.kind === "linear" ? scalar || bits === null : first.kind === "conv2d" && scalar && first.conv!.padding === 0);
  if (!foldable) {
    layers.unshift({ kind: "normalize", shift: [...shift], factor: [...factor] });
    return;
  }
  const layer = first as FoldedWeightLayer;
  const at = (values: number[], c: number) => values[values.length === 1 ? 0 : c];
  for (let r = 0; r < layer.rows; r++) {
    let correction = 0;
    for (let i = layer.rowPtr[r]; i < layer.rowPtr[r + 1]; i++) {
      // A convolution column is (ci·k + ky)·k + kx; with one scalar pair its feature does not matter.
      const c = layer.colIdx[i];
      correction += layer.values[i] * at(shift, c) * at(factor, c);
    }
    layer.bias[r] -= correction * layer.rowFactor[r];
  }
  if (scalar) for (let r = 0; r < layer.rows; r++) layer.rowFactor[r] *= factor[0];
  else layer.colFactor = Float64Array.from({ length: layer.cols }, (_, c) => at(factor, c));
}

/** Applies the folds' row and column factors: to float values directly; to int codes as a row-scale change (a negative factor flips the codes). */
export function deployedWeight(layer: FoldedWeightLayer, valueType: WeightValueType): FinalWeight {
  const { rows, cols, rowPtr, colIdx, rowFactor, colFactor } = layer;
  if (layer.codes === undefined || layer.scales === undefined) {
    const floats = new Float64Array(layer.values.length);
    for (let r = 0; r < rows; r++) {
      for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) floats[i] = layer.values[i] * rowFactor[r] * (colFactor === null ? 1 : colFactor[colIdx[i]]);
    }
    return { rows, cols, rowPtr, colIdx, valueType, floats };
  }
  const codes = layer.codes.slice();
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const scale = Math.fround(layer.scales[r] * Math.abs(rowFactor[r]));
    if (scale === Infinity) throw new RangeError(`${layer.source}: row ${r}'s folded scale overflows float32`);
    // A factor of 0 (batch norm γ = 0), or one that makes the row's weights vanish below float32, zeroes the row.
    const vanished = !(scale > 0);
    scales[r] = vanished ? 1 : scale;
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) codes[i] = vanished ? 0 : rowFactor[r] < 0 ? -codes[i] : codes[i];
  }
  return { rows, cols, rowPtr, colIdx, valueType, codes, scales };
}
