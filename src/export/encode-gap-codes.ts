// Encodes column gaps as order-k exp-Golomb codes (the `csr-expgolomb` structure), and picks the order with the fewest bytes.
import { MAX_GAP_ORDER } from "../runtime/decode-gap-codes.js";

/** Bits of gap g as an order-k exp-Golomb code: 2·⌊log2((g >> k) + 1)⌋ + 1 + k. */
function codeBits(gap: number, order: number): number {
  const v = Math.floor(gap / 2 ** order) + 1;
  return 2 * (31 - Math.clz32(v)) + 1 + order;
}

/** Calls `visit` with each entry's column gap (its column minus the previous column + 1; the first of a row counts from 0). */
function forEachGap(rowPtr: Int32Array, colIdx: Int32Array, visit: (gap: number) => void): void {
  for (let r = 0; r + 1 < rowPtr.length; r++) {
    let next = 0;
    for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) {
      visit(colIdx[i] - next);
      next = colIdx[i] + 1;
    }
  }
}

/** The order 0..MAX_GAP_ORDER whose codes take the fewest bytes (the lowest on a tie), and those bytes. */
export function bestGapOrder(rowPtr: Int32Array, colIdx: Int32Array): { order: number; bytes: number } {
  // Per-order totals from a histogram of gaps by bit length would be faster; a pass per order is O(16·nnz) and simple.
  const bits = new Float64Array(MAX_GAP_ORDER + 1);
  forEachGap(rowPtr, colIdx, (gap) => {
    for (let k = 0; k <= MAX_GAP_ORDER; k++) bits[k] += codeBits(gap, k);
  });
  let order = 0;
  for (let k = 1; k <= MAX_GAP_ORDER; k++) if (bits[k] < bits[order]) order = k;
  return { order, bytes: Math.ceil(bits[order] / 8) };
}

/** The bit stream (most significant bit first, zero-padded to a byte) of the order-`order` codes of the gaps. */
export function encodeGapCodes(rowPtr: Int32Array, colIdx: Int32Array, order: number): Uint8Array {
  let total = 0;
  forEachGap(rowPtr, colIdx, (gap) => (total += codeBits(gap, order)));
  const out = new Uint8Array(Math.ceil(total / 8));
  let bit = 0;
  const put = (value: number, count: number) => {
    for (let b = count - 1; b >= 0; b--) {
      if (Math.floor(value / 2 ** b) % 2 === 1) out[bit >> 3] |= 0x80 >> (bit & 7);
      bit++;
    }
  };
  forEachGap(rowPtr, colIdx, (gap) => {
    const v = Math.floor(gap / 2 ** order) + 1;
    const length = 32 - Math.clz32(v);
    bit += length - 1;
    put(v, length);
    put(gap % 2 ** order, order);
  });
  return out;
}
