// Post-training quantization of a model's Linear and Conv2d weights (dense, masked or CSR) to int8/int4 codes with symmetric scales, dropping the zeros rounding creates.
//
// Weight-only: biases, batch norm and activations stay float32 (the weights are what a sparse model
// stores most of; activations would need calibration data). After `quantizeModel` the model holds
// the dequantized weights (code × scale, exactly what a quantized checkpoint loads back), and a
// weight's structure keeps only the entries with a non-zero code: a CSR loses the others, a mask
// loses them, an unmasked dense weight simply holds zeros there. The non-zero count never grows,
// because a zero quantizes to the code 0 (zero point 0).
import { isQuantBits, isQuantGranularity, QUANT_BITS, type QuantGranularity, denseRowOffsets, dequantizeRows, quantizeRows, type QuantBits } from "./rows.js";
import { hasSparseWeight } from "../nn/layer.js";
import type { Model } from "../nn/presets.js";
import type { NamedParameter } from "../nn/sequential.js";
import { isPrunableWeight, weightShape } from "../sparse/prune/prunable.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { tensor } from "../tensor/tensor.js";
import { Linear } from "../nn/linear.js";
import { Conv2d } from "../nn/conv2d.js";

export interface QuantizeOptions {
  bits: QuantBits;
  /** Default "per-row". */
  granularity?: QuantGranularity;
}

/** One quantized weight: its codes and scales, and what quantization did to its non-zeros. */
export interface QuantizedWeight {
  name: string;
  storage: "dense" | "masked" | "csr";
  /** PyTorch shape: [out, in] or [Cout, Cin, k, k]. */
  shape: number[];
  /** Codes of the stored entries after quantization: every entry of a dense weight (row-major), the kept CSR entries in CSR order. */
  codes: Int8Array;
  /** One per row (per-row) or one (per-tensor); finite and > 0. */
  scales: Float32Array;
  /** Entries the structure keeps: CSR entries, the ones of a mask, every entry of an unmasked dense weight. */
  storedBefore: number;
  storedAfter: number;
  nonzeroBefore: number;
  nonzeroAfter: number;
}

export interface ModelQuantization {
  scheme: "symmetric";
  bits: QuantBits;
  granularity: QuantGranularity;
  layers: QuantizedWeight[];
}

/** The weights `quantizeModel` quantizes: those of Linear, SparseLinear and Conv2d layers (never biases, batch norm or gates). */
export function quantizableWeights(model: Model): NamedParameter[] {
  return model.net.parameters().filter(isPrunableWeight);
}

/**
 * Quantizes every Linear and Conv2d weight of `model` in place (see the file header) and returns the
 * codes, scales and per-layer non-zero counts that a quantized checkpoint stores.
 */
export function quantizeModel(model: Model, options: QuantizeOptions): ModelQuantization {
  if (!isQuantBits(options.bits)) throw new RangeError(`quantize: bits must be ${QUANT_BITS.join(" or ")}, got ${String(options.bits)}`);
  const granularity = options.granularity ?? "per-row";
  if (!isQuantGranularity(granularity)) throw new RangeError(`quantize: granularity must be per-row or per-tensor, got ${String(granularity)}`);
  const layers = quantizableWeights(model).map((p) => (p.sparse ? quantizeCsr(p, options.bits, granularity) : quantizeDense(p, options.bits, granularity)));
  return { scheme: "symmetric", bits: options.bits, granularity, layers };
}

/** Row offsets for `granularity`: the weight's rows, or one row spanning all `length` entries. */
function offsetsFor(granularity: QuantGranularity, perRow: () => ArrayLike<number>, length: number): ArrayLike<number> {
  return granularity === "per-row" ? perRow() : [0, length];
}

function countNonzero(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) n++;
  return n;
}

function quantizeDense(p: NamedParameter, bits: QuantBits, granularity: QuantGranularity): QuantizedWeight {
  const shape = weightShape(p);
  const w = p.tensor.data;
  const rows = shape[0];
  const offsets = offsetsFor(granularity, () => denseRowOffsets(rows, w.length / rows), w.length);
  const nonzeroBefore = countNonzero(w);
  const storedBefore = p.mask ? countNonzero(p.mask.data) : w.length;
  const { codes, scales } = quantizeRows(w, offsets, bits);
  w.set(dequantizeRows(codes, scales, offsets));
  if (p.mask) {
    // The mask keeps exactly the non-zero codes: rounding to 0 prunes that weight for good.
    const mask = tensor(Float32Array.from(codes, (c) => (c !== 0 ? 1 : 0)), p.tensor.shape);
    if (!(p.layer instanceof Linear || p.layer instanceof Conv2d)) throw new Error(`quantize: ${p.name} has a mask but its layer ${p.layer.describe()} cannot hold one`);
    p.layer.setMask(mask);
  }
  return {
    name: p.name, storage: p.mask ? "masked" : "dense", shape, codes, scales,
    storedBefore, storedAfter: p.mask ? countNonzero(codes) : w.length, nonzeroBefore, nonzeroAfter: countNonzero(codes),
  };
}

function quantizeCsr(p: NamedParameter, bits: QuantBits, granularity: QuantGranularity): QuantizedWeight {
  const m = p.sparse!;
  const values = m.values.data, rowPtr = m.rowPtr, colIdx = m.colIdx;
  const { codes, scales } = quantizeRows(values, offsetsFor(granularity, () => rowPtr, m.nnz), bits);
  // Keep the entries whose code is non-zero, row by row (CSR order is preserved).
  const keptRowPtr = new Int32Array(m.rows + 1);
  const keptCols: number[] = [];
  const keptCodes: number[] = [];
  for (let r = 0; r < m.rows; r++) {
    for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
      if (codes[k] === 0) continue;
      keptCols.push(colIdx[k]);
      keptCodes.push(codes[k]);
    }
    keptRowPtr[r + 1] = keptCols.length;
  }
  const kept = Int8Array.from(keptCodes);
  const dequantized = dequantizeRows(kept, scales, offsetsFor(granularity, () => keptRowPtr, kept.length));
  if (!hasSparseWeight(p.layer)) throw new Error(`quantize: layer of ${p.name} cannot hold a sparse weight`);
  const nonzeroBefore = countNonzero(values);
  const storedBefore = m.nnz;
  p.layer.setSparseWeight(SparseMatrix.fromCSR({ rows: m.rows, cols: m.cols, rowPtr: keptRowPtr, colIdx: keptCols, values: dequantized }));
  return {
    name: p.name, storage: "csr", shape: weightShape(p), codes: kept, scales,
    storedBefore, storedAfter: kept.length, nonzeroBefore, nonzeroAfter: kept.length,
  };
}
