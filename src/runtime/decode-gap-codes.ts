// Decodes and checks exp-Golomb column gap codes (the `csr-expgolomb` structure of a compact file) into column indices.
import type { TensorSource } from "./safetensors-view.js";

/** The largest exp-Golomb order a file may use (docs/compact-format.md, "Column gap codes"). */
export const MAX_GAP_ORDER = 15;

/**
 * Column indices from a bit stream of order-k exp-Golomb codes, read most significant bit first:
 * within a row, entry i's column is the previous column + 1 + its gap (the first entry's gap is its
 * column). A gap g is z zero bits, then the z + 1 bits of v = (g >> k) + 1 (which start with a 1),
 * then the k low bits of g. Every code must end inside the stream, no column may reach `cols`, the
 * bits after the last code must be zeros of the last byte only.
 */
export function decodeGapCodes(stream: Uint8Array, order: number, rowPtr: Int32Array, cols: number, prefix: string, source: TensorSource): Int32Array {
  const rows = rowPtr.length - 1;
  const colIdx = new Int32Array(rowPtr[rows]);
  const totalBits = stream.length * 8;
  const where = `${prefix}.col_codes`;
  let bit = 0;
  const readBit = (row: number): number => {
    if (bit >= totalBits) source.fail(`${where}: ends (${stream.length} bytes) inside row ${row}, which has ${rowPtr[row + 1] - rowPtr[row]} entries`);
    const b = (stream[bit >> 3] >> (7 - (bit & 7))) & 1;
    bit++;
    return b;
  };
  for (let r = 0; r < rows; r++) {
    let next = 0;
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      let zeros = 0;
      while (readBit(r) === 0) {
        // 2^zeros − 1 already exceeds any column count this format allows (and keeps the arithmetic exact).
        if (++zeros > 31) source.fail(`${where}: row ${r} has a code of more than 31 leading zeros, a gap past the ${cols} columns`);
      }
      let v = 1;
      for (let z = 0; z < zeros; z++) v = v * 2 + readBit(r);
      let low = 0;
      for (let b = 0; b < order; b++) low = low * 2 + readBit(r);
      const column = next + (v - 1) * 2 ** order + low;
      if (column >= cols) source.fail(`${where}: row ${r} runs to column ${column}, past the ${cols} columns`);
      colIdx[i] = column;
      next = column + 1;
    }
  }
  const usedBytes = Math.ceil(bit / 8);
  if (usedBytes !== stream.length) source.fail(`${where}: ${stream.length - usedBytes} bytes after the last row's codes`);
  if (bit % 8 !== 0 && (stream[usedBytes - 1] & (0xff >> (bit % 8))) !== 0) source.fail(`${where}: the ${8 - (bit % 8)} padding bits after the last code must be 0`);
  return colIdx;
}
