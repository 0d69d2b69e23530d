// Encodes one weight of a compact file: values as float32, float16, int8 or int4 (per-row scales), positions dense, as CSR with one-byte or exp-Golomb coded column gaps, or as a bitmask, whichever is smallest.
import { packInt4 } from "../quantize/rows.js";
import type { WeightStructure, WeightValueType } from "../runtime/compact-model.js";
import { GAP_ESCAPE } from "../runtime/decode-weight.js";
import type { CompactTensor } from "./compact-container.js";
import { bestGapOrder, encodeGapCodes } from "./encode-gap-codes.js";
import { numberToFloat16Bits } from "./float16.js";

/** A weight ready to encode: CSR over its non-zero entries, with float values or integer codes and row scales. */
export interface FinalWeight {
  rows: number;
  cols: number;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  valueType: WeightValueType;
  /** float32/float16: the values (float64, rounded here). */
  floats?: Float64Array;
  /** int8/int4: the codes and per-row scales. */
  codes?: Int8Array;
  scales?: Float32Array;
}

/** Roughly what one tensor entry costs in the JSON header; counted so that the choice weighs the whole file. */
export const HEADER_BYTES_PER_TENSOR = 80;

const valueBits: Record<WeightValueType, number> = { float32: 32, float16: 16, int8: 8, int4: 4 };

/** The narrowest unsigned dtype that holds every row pointer (0..nnz). */
export function rowPointerDtype(nnz: number): "U8" | "U16" | "U32" {
  return nnz <= 0xff ? "U8" : nnz <= 0xffff ? "U16" : "U32";
}

/** Bytes of the column gaps of a CSR structure: one per entry plus one per escape (each full 255 of a gap). */
export function columnGapBytes(rowPtr: Int32Array, colIdx: Int32Array): number {
  let bytes = 0;
  for (let r = 0; r + 1 < rowPtr.length; r++) {
    let next = 0;
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      bytes += 1 + Math.floor((colIdx[i] - next) / GAP_ESCAPE);
      next = colIdx[i] + 1;
    }
  }
  return bytes;
}

/** Bytes each structure would take (data plus header entries), for the choice and for reports. */
export function weightEncodingCosts(rows: number, cols: number, rowPtr: Int32Array, colIdx: Int32Array, valueType: WeightValueType): Record<WeightStructure, number> {
  const nnz = rowPtr[rows];
  const valueBytes = (count: number) => Math.ceil((count * valueBits[valueType]) / 8);
  const scaleBytes = valueType === "int8" || valueType === "int4" ? 4 * rows + HEADER_BYTES_PER_TENSOR : 0;
  const rowPointerBytes = (rows + 1) * { U8: 1, U16: 2, U32: 4 }[rowPointerDtype(nnz)];
  return {
    dense: valueBytes(rows * cols) + scaleBytes + HEADER_BYTES_PER_TENSOR,
    csr: valueBytes(nnz) + scaleBytes + rowPointerBytes + columnGapBytes(rowPtr, colIdx) + 3 * HEADER_BYTES_PER_TENSOR,
    bitmask: valueBytes(nnz) + scaleBytes + Math.ceil((rows * cols) / 8) + 2 * HEADER_BYTES_PER_TENSOR,
    "csr-expgolomb": valueBytes(nnz) + scaleBytes + rowPointerBytes + bestGapOrder(rowPtr, colIdx).bytes + 3 * HEADER_BYTES_PER_TENSOR,
  };
}

/** The smallest structure; on a tie the simpler one (dense, then bitmask, then CSR, then CSR with exp-Golomb codes, which also needs version 2). */
export function chooseStructure(costs: Record<WeightStructure, number>): WeightStructure {
  let best: WeightStructure = "dense";
  for (const s of ["bitmask", "csr", "csr-expgolomb"] as const) if (costs[s] < costs[best]) best = s;
  return best;
}

export function encodeColumnGaps(rowPtr: Int32Array, colIdx: Int32Array): Uint8Array {
  const out = new Uint8Array(columnGapBytes(rowPtr, colIdx));
  let at = 0;
  for (let r = 0; r + 1 < rowPtr.length; r++) {
    let next = 0;
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      let gap = colIdx[i] - next;
      for (; gap >= GAP_ESCAPE; gap -= GAP_ESCAPE) out[at++] = GAP_ESCAPE;
      out[at++] = gap;
      next = colIdx[i] + 1;
    }
  }
  return out;
}

export function encodeBitmask(rows: number, cols: number, rowPtr: Int32Array, colIdx: Int32Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((rows * cols) / 8));
  for (let r = 0; r < rows; r++) {
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      const bit = r * cols + colIdx[i];
      out[bit >> 3] |= 1 << (bit & 7);
    }
  }
  return out;
}

/**
 * Rounds float values to the stored type and drops entries that became zero (a float16 underflow),
 * so that the stored structure holds exactly the non-zeros. Codes of 0 are dropped the same way.
 */
function storedEntries(w: FinalWeight, where: string): { rowPtr: Int32Array; colIdx: Int32Array; stored: Float32Array | Uint16Array | Int8Array } {
  const nnz = w.rowPtr[w.rows];
  const all: Float32Array | Uint16Array | Int8Array =
    w.valueType === "float32" ? Float32Array.from(w.floats!) : w.valueType === "float16" ? Uint16Array.from(w.floats!, numberToFloat16Bits) : w.codes!;
  if (all.length !== nnz) throw new Error(`${where}: ${all.length} values for ${nnz} positions`);
  const keep = (i: number) => (w.valueType === "float16" ? (all[i] & 0x7fff) !== 0 : all[i] !== 0);
  for (let i = 0; i < nnz; i++) {
    const bad = w.valueType === "float32" ? !Number.isFinite(all[i]) : w.valueType === "float16" ? (all[i] & 0x7c00) === 0x7c00 : false;
    if (bad) throw new RangeError(`${where}: weight ${w.floats![i]} does not fit in ${w.valueType}`);
  }
  const rowPtr = new Int32Array(w.rows + 1);
  const kept: number[] = [];
  for (let r = 0; r < w.rows; r++) {
    for (let i = w.rowPtr[r]; i < w.rowPtr[r + 1]; i++) if (keep(i)) kept.push(i);
    rowPtr[r + 1] = kept.length;
  }
  const colIdx = Int32Array.from(kept, (i) => w.colIdx[i]);
  const stored = all instanceof Float32Array ? Float32Array.from(kept, (i) => all[i]) : all instanceof Uint16Array ? Uint16Array.from(kept, (i) => all[i]) : Int8Array.from(kept, (i) => all[i]);
  return { rowPtr, colIdx, stored };
}

/** Tensors `prefix`.values (and .scales, .row_ptr, .col_gaps, .col_codes or .bitmask) and the layout entry of one weight. */
export function encodeWeight(w: FinalWeight, prefix: string, structure: WeightStructure | "auto"): { tensors: CompactTensor[]; layout: { structure: WeightStructure; values: WeightValueType; nnz: number; gap_order?: number } } {
  const { rows, cols, valueType } = w;
  const { rowPtr, colIdx, stored } = storedEntries(w, prefix);
  const chosen = structure === "auto" ? chooseStructure(weightEncodingCosts(rows, cols, rowPtr, colIdx, valueType)) : structure;
  let values: Float32Array | Uint16Array | Int8Array = stored;
  let gapOrder: number | undefined;
  const tensors: CompactTensor[] = [];
  if (chosen === "dense") {
    values = new (stored.constructor as typeof Float32Array | typeof Uint16Array | typeof Int8Array)(rows * cols);
    for (let r = 0; r < rows; r++) for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) values[r * cols + colIdx[i]] = stored[i];
  } else if (chosen === "csr" || chosen === "csr-expgolomb") {
    const nnz = rowPtr[rows];
    const dtype = rowPointerDtype(nnz);
    const pointers = dtype === "U8" ? Uint8Array.from(rowPtr) : dtype === "U16" ? Uint16Array.from(rowPtr) : Uint32Array.from(rowPtr);
    tensors.push({ name: `${prefix}.row_ptr`, dtype, shape: [rows + 1], values: pointers });
    if (chosen === "csr") {
      const gaps = encodeColumnGaps(rowPtr, colIdx);
      tensors.push({ name: `${prefix}.col_gaps`, dtype: "U8", shape: [gaps.length], values: gaps });
    } else {
      gapOrder = bestGapOrder(rowPtr, colIdx).order;
      const codes = encodeGapCodes(rowPtr, colIdx, gapOrder);
      tensors.push({ name: `${prefix}.col_codes`, dtype: "U8", shape: [codes.length], values: codes });
    }
  } else {
    tensors.push({ name: `${prefix}.bitmask`, dtype: "U8", shape: [Math.ceil((rows * cols) / 8)], values: encodeBitmask(rows, cols, rowPtr, colIdx) });
  }
  const count = values.length;
  const shape = chosen === "dense" ? [rows, cols] : [count];
  if (valueType === "float32") tensors.push({ name: `${prefix}.values`, dtype: "F32", shape, values });
  else if (valueType === "float16") tensors.push({ name: `${prefix}.values`, dtype: "F16", shape, values });
  else if (valueType === "int8") tensors.push({ name: `${prefix}.values`, dtype: "I8", shape, values });
  else {
    const packed = packInt4(values);
    tensors.push({ name: `${prefix}.values`, dtype: "U8", shape: [packed.length], values: packed });
  }
  if (valueType === "int8" || valueType === "int4") tensors.push({ name: `${prefix}.scales`, dtype: "F32", shape: [rows], values: w.scales! });
  return { tensors, layout: { structure: chosen, values: valueType, nnz: chosen === "dense" ? rows * cols : rowPtr[rows], ...(gapOrder !== undefined ? { gap_order: gapOrder } : {}) } };
}
