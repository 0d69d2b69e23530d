// Decodes and checks one weight of a compact file (dense, CSR with one-byte or exp-Golomb coded column gaps, or bitmask; float32, float16, int8 or int4 values) into CSR with float32 values.
import type { CompactWeight, WeightStructure, WeightValueType } from "./compact-model.js";
import { decodeGapCodes } from "./decode-gap-codes.js";
import type { TensorSource, TensorView, ViewDtype } from "./safetensors-view.js";

import { readFloats, readIntegers, unpackInt4Codes } from "./tensor-values.js";

/** A column gap byte of 255 adds 255 to the gap and stores no entry (docs/compact-format.md, "Column gaps"). */
export const GAP_ESCAPE = 255;

export interface WeightLayout {
  rows: number;
  cols: number;
  structure: WeightStructure;
  valueType: WeightValueType;
  /** Stored (non-zero) entries; rows·cols for a dense weight. */
  nnz: number;
  /** csr-expgolomb only: the exp-Golomb order of the column gap codes. */
  gapOrder?: number;
}

/** Decodes the weight `layout` describes from the tensors `prefix`.values, .scales, .row_ptr, .col_gaps, .col_codes, .bitmask. */
export function decodeWeight(layout: WeightLayout, prefix: string, source: TensorSource): CompactWeight {
  const { rows, cols, structure, valueType, nnz } = layout;
  const taken: TensorView[] = [];
  const take = (name: string, dtypes: readonly ViewDtype[], shape: readonly number[]) => {
    const t = source.take(`${prefix}.${name}`, dtypes, shape);
    taken.push(t);
    return t;
  };
  if (!(Number.isSafeInteger(nnz) && nnz >= 0 && nnz <= rows * cols)) source.fail(`${prefix}: "nnz" ${nnz} must be an integer in 0..rows·cols = ${rows * cols}`);
  if (structure === "dense" && nnz !== rows * cols) source.fail(`${prefix}: a dense weight stores rows·cols = ${rows * cols} values, but "nnz" is ${nnz}`);
  // The values come first: their tensor proves the file really holds nnz entries before anything of that size is allocated.
  const valueShape = structure === "dense" ? [rows, cols] : [nnz];
  let values: Float32Array, codes: Int8Array | undefined, scales: Float32Array | undefined;
  if (valueType === "float32" || valueType === "float16") {
    values = readFloats(take("values", [valueType === "float32" ? "F32" : "F16"], valueShape));
    checkFinite(values, `${prefix}.values`, source);
  } else {
    if (valueType === "int8") {
      codes = Int8Array.from(readIntegers(take("values", ["I8"], valueShape)));
    } else {
      const packed = take("values", ["U8"], [Math.ceil(nnz / 2)]);
      const unpacked = unpackInt4Codes(packed.bytes, nnz);
      if (unpacked.badTail) source.fail(`${prefix}.values: the unused high nibble after the last of ${nnz} int4 codes must be 0`);
      codes = unpacked.codes;
    }
    scales = readFloats(take("scales", ["F32"], [rows]));
    for (let r = 0; r < rows; r++) {
      if (!(Number.isFinite(scales[r]) && scales[r] > 0)) source.fail(`${prefix}.scales: row ${r} has scale ${scales[r]}, expected a finite number > 0`);
    }
    values = new Float32Array(nnz);
  }
  let rowPtr: Int32Array, colIdx: Int32Array;
  if (structure === "dense") {
    rowPtr = Int32Array.from({ length: rows + 1 }, (_, r) => r * cols);
    colIdx = Int32Array.from({ length: nnz }, (_, i) => i % cols);
  } else if (structure === "csr") {
    rowPtr = readRowPointers(take("row_ptr", ["U8", "U16", "U32"], [rows + 1]), rows, nnz, prefix, source);
    colIdx = decodeColumnGaps(take("col_gaps", ["U8"], [-1]).bytes, rowPtr, cols, prefix, source);
  } else if (structure === "csr-expgolomb") {
    if (layout.gapOrder === undefined) source.fail(`${prefix}: a csr-expgolomb weight needs "gap_order"`);
    rowPtr = readRowPointers(take("row_ptr", ["U8", "U16", "U32"], [rows + 1]), rows, nnz, prefix, source);
    colIdx = decodeGapCodes(take("col_codes", ["U8"], [-1]).bytes, layout.gapOrder, rowPtr, cols, prefix, source);
  } else {
    ({ rowPtr, colIdx } = decodeBitmask(take("bitmask", ["U8"], [Math.ceil((rows * cols) / 8)]).bytes, rows, cols, nnz, prefix, source));
  }
  if (codes !== undefined && scales !== undefined) {
    for (let r = 0; r < rows; r++) {
      for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) values[i] = codes[i] * scales[r];
    }
    checkFinite(values, `${prefix}.values (code × scale)`, source);
  }
  const weight: CompactWeight = { rows, cols, structure, valueType, rowPtr, colIdx, values, storedBytes: 0, ...(codes && scales ? { codes, scales } : {}) };
  weight.storedBytes = taken.reduce((sum, t) => sum + t.bytes.length, 0);
  return weight;
}

function checkFinite(values: Float32Array, what: string, source: TensorSource): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) source.fail(`${what}: value ${i} is ${values[i]}, expected a finite number`);
  }
}

function readRowPointers(t: TensorView, rows: number, nnz: number, prefix: string, source: TensorSource): Int32Array {
  const ptr = readIntegers(t);
  if (ptr[0] !== 0) source.fail(`${prefix}.row_ptr: starts at ${ptr[0]}, expected 0`);
  for (let r = 0; r < rows; r++) {
    if (ptr[r + 1] < ptr[r]) source.fail(`${prefix}.row_ptr: decreases from ${ptr[r]} to ${ptr[r + 1]} at row ${r}; row pointers must not decrease`);
  }
  if (ptr[rows] !== nnz) source.fail(`${prefix}.row_ptr: ends at ${ptr[rows]}, but "nnz" is ${nnz}`);
  return Int32Array.from(ptr);
}

/**
 * Column indices from one-byte gaps: within a row, entry k's column is the previous column + 1 +
 * its gap (the first entry's gap counts from column 0); a byte of 255 adds 255 and stores no entry.
 * Every byte must be used, every column must be < cols.
 */
export function decodeColumnGaps(gaps: Uint8Array, rowPtr: Int32Array, cols: number, prefix: string, source: TensorSource): Int32Array {
  const rows = rowPtr.length - 1;
  const colIdx = new Int32Array(rowPtr[rows]);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    let next = 0;
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      let column = next;
      for (;;) {
        if (at >= gaps.length) source.fail(`${prefix}.col_gaps: ends (${gaps.length} bytes) inside row ${r}, which has ${rowPtr[r + 1] - rowPtr[r]} entries`);
        const byte = gaps[at++];
        column += byte;
        if (column >= cols) source.fail(`${prefix}.col_gaps: row ${r} runs to column ${column}, past the ${cols} columns`);
        if (byte !== GAP_ESCAPE) break;
      }
      colIdx[i] = column;
      next = column + 1;
    }
  }
  if (at !== gaps.length) source.fail(`${prefix}.col_gaps: ${gaps.length - at} bytes after the last row's entries`);
  return colIdx;
}

/** Positions from a row-major bitmask (bit i = entry i, least significant bit first); its popcount must equal nnz and the padding bits be 0. */
export function decodeBitmask(mask: Uint8Array, rows: number, cols: number, nnz: number, prefix: string, source: TensorSource): { rowPtr: Int32Array; colIdx: Int32Array } {
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    let b = mask[i];
    while (b) {
      b &= b - 1;
      count++;
    }
  }
  const total = rows * cols;
  if (total % 8 !== 0 && mask[mask.length - 1] >> (total % 8) !== 0) source.fail(`${prefix}.bitmask: padding bits after the ${total} entries must be 0`);
  if (count !== nnz) source.fail(`${prefix}.bitmask: ${count} bits set, but "nnz" is ${nnz}`);
  const rowPtr = new Int32Array(rows + 1);
  const colIdx = new Int32Array(nnz);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if ((mask[i >> 3] >> (i & 7)) & 1) colIdx[k++] = c;
    }
    rowPtr[r + 1] = k;
  }
  return { rowPtr, colIdx };
}
