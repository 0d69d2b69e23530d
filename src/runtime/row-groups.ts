// Lays a CSR weight out for the small-batch kernel (csrRowGroups in assembly/runtime/rows.ts): rows sorted by length and taken four at a time, their entries interleaved step by step (SELL-4), so that one SIMD vector accumulates four rows at once.
//
// Why: one row per vector (a dot product of ~40 gathered entries) pays a horizontal sum, a scalar
// tail and a serial accumulator chain per row; that per-row latency, not the gathers, bounded the
// batch-1 forward. Four rows in the four lanes need none of that, and sorting by length makes the
// four rows of a group nearly equally long, so little padding is read.
import type { CompactWeight } from "./compact-model.js";

/** Bytes of one group record: [full steps, masked steps, 0, 0, bias × 4 (f32), output byte offset × 4]. */
export const ROW_GROUP_RECORD_BYTES = 48;
/** Bytes of one full step ([input byte offset × 4, value × 4]); a masked step adds a lane mask × 4. */
export const FULL_STEP_BYTES = 32;
export const MASKED_STEP_BYTES = 48;

export interface RowGroupLayout {
  /** One record per group of four rows (int32 words; bias as float32 bits). */
  records: Int32Array;
  /** The steps of every group, one group after the other. */
  steps: Int32Array;
  /** Groups: ceil(rows / 4). */
  count: number;
}

/**
 * The SELL-4 layout of `weight` with its `bias`. Group g holds the rows of rank 4g..4g+3 by
 * (stored entries, row index). Step j of a group holds each lane's j-th entry: the byte offset of
 * its input (column × 4) and its value. The first `full` steps (the shortest row's length) hold
 * an entry in every lane; the `masked` steps after them (up to the longest row's length) carry a
 * mask that zeroes the lanes whose row has ended, so a padded lane adds exactly 0·0 whatever the
 * input holds (an infinite or NaN input stays out of rows that do not read it). A lane past the
 * last row (rows not a multiple of 4) has no entries and writes to its group's first row, which
 * the kernel stores last.
 */
export function rowGroupLayout(weight: CompactWeight, bias: Float32Array): RowGroupLayout {
  const { rows, rowPtr, colIdx, values } = weight;
  const length = (r: number) => rowPtr[r + 1] - rowPtr[r];
  const order = Array.from({ length: rows }, (_, r) => r).sort((a, b) => length(a) - length(b) || a - b);
  const count = Math.ceil(rows / 4);
  const records = new Int32Array((count * ROW_GROUP_RECORD_BYTES) / 4);
  const recordFloats = new Float32Array(records.buffer);
  const groupRows = (g: number) => order.slice(4 * g, 4 * g + 4);
  let stepWords = 0;
  for (let g = 0; g < count; g++) {
    const lengths = groupRows(g).map(length);
    const full = lengths.length < 4 ? 0 : Math.min(...lengths);
    stepWords += (full * FULL_STEP_BYTES + (Math.max(...lengths) - full) * MASKED_STEP_BYTES) / 4;
  }
  const steps = new Int32Array(stepWords);
  const stepFloats = new Float32Array(steps.buffer);
  let at = 0;
  for (let g = 0; g < count; g++) {
    const lanes = groupRows(g);
    const lengths = lanes.map(length);
    const full = lanes.length < 4 ? 0 : Math.min(...lengths);
    const longest = Math.max(...lengths);
    const record = (g * ROW_GROUP_RECORD_BYTES) / 4;
    records[record] = full;
    records[record + 1] = longest - full;
    for (let lane = 0; lane < 4; lane++) {
      recordFloats[record + 4 + lane] = lane < lanes.length ? bias[lanes[lane]] : 0;
      records[record + 8 + lane] = 4 * (lanes[lane] ?? lanes[0]);
    }
    for (let j = 0; j < longest; j++) {
      for (let lane = 0; lane < 4; lane++) {
        const present = lane < lanes.length && j < lengths[lane];
        const entry = present ? rowPtr[lanes[lane]] + j : -1;
        steps[at + lane] = present ? 4 * colIdx[entry] : 0;
        stepFloats[at + 4 + lane] = present ? values[entry] : 0;
        if (j >= full) steps[at + 8 + lane] = present ? -1 : 0;
      }
      at += (j < full ? FULL_STEP_BYTES : MASKED_STEP_BYTES) / 4;
    }
  }
  return { records, steps, count };
}
