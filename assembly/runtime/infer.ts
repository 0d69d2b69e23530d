// The inference module's one entry point: runs a whole network, described by a program of fixed-size operation records in this module's memory, in one call.
//
// Built on its own (scripts/build-kernels.mjs, into build/runtime/{simd,relaxed}/infer.wasm and
// the generated src/runtime/inference-wasm.ts), with its own memory: no training kernel, no
// shared memory. src/runtime/inference-plan.ts writes the weights and the program; the
// operation codes and record layout below must match it.
import { activateRange } from "./activate";
import { conv2d, maxPool } from "./conv-pool";
import { csrLanes, denseLanes, fromLanes, paddedBatch, toLanes } from "./lanes";
import { normalizeLanes, normalizeRows } from "./normalize";
import { csrRowGroups, denseRows } from "./rows";

/** Words (int32) per operation record: [code, source buffer, destination buffer, arguments…]. */
const OP_WORDS: i32 = 24;

const NORMALIZE_ROWS: i32 = 1;
const NORMALIZE_LANES: i32 = 2;
const ACTIVATE_ROWS: i32 = 3;
const ACTIVATE_LANES: i32 = 4;
const CSR_ROWS: i32 = 5;
const DENSE_ROWS: i32 = 6;
const CSR_LANES: i32 = 7;
const DENSE_LANES: i32 = 8;
const CONV2D: i32 = 9;
const MAXPOOL: i32 = 10;
const TO_LANES: i32 = 11;
const FROM_LANES: i32 = 12;

/** Where this module's static data ends: the loader places weights, program and buffers above it. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Runs `count` operations from `program` on a batch; buffer 0 is `bufferA` (holding the raw
 * inputs, batch-major, on entry), buffer 1 is `bufferB`. Both hold at least
 * (largest activation per example) × (batch rounded up to 4) floats.
 */
export function run(program: usize, count: i32, batch: i32, bufferA: usize, bufferB: usize): void {
  for (let i = 0; i < count; i++) {
    const op = program + (<usize>(i * OP_WORDS) << 2);
    const code = load<i32>(op);
    const x = load<i32>(op, 4) == 0 ? bufferA : bufferB;
    const y = load<i32>(op, 8) == 0 ? bufferA : bufferB;
    const a3 = load<i32>(op, 12), a4 = load<i32>(op, 16), a5 = load<i32>(op, 20), a6 = load<i32>(op, 24);
    const a7 = load<i32>(op, 28), a8 = load<i32>(op, 32), a9 = load<i32>(op, 36), a10 = load<i32>(op, 40);
    switch (code) {
      case NORMALIZE_ROWS: normalizeRows(batch, a3, a4, a5, a6, a7, x, y); break;
      case NORMALIZE_LANES: normalizeLanes(batch, a3, a4, a5, a6, a7, x, y); break;
      case ACTIVATE_ROWS: activateRange(a4, reinterpret<f32>(a5), x, a3 * batch); break;
      case ACTIVATE_LANES: activateRange(a4, reinterpret<f32>(a5), x, a3 * paddedBatch(batch)); break;
      case CSR_ROWS: csrRowGroups(batch, a3, a4, a5, a6, a7, a8, reinterpret<f32>(a9), x, y); break;
      case DENSE_ROWS: denseRows(batch, a3, a4, a5, a6, a7, reinterpret<f32>(a8), x, y); break;
      case CSR_LANES: csrLanes(batch, a3, a5, a6, a7, a8, a9, reinterpret<f32>(a10), x, y); break;
      case DENSE_LANES: denseLanes(batch, a3, a4, a5, a6, a7, reinterpret<f32>(a8), x, y); break;
      case CONV2D:
        conv2d(batch, a3, a4, a5, a6, a7, a8, a9, a10, load<i32>(op, 44), load<i32>(op, 48), load<i32>(op, 52), load<i32>(op, 56),
          load<i32>(op, 60), load<i32>(op, 64), reinterpret<f32>(load<i32>(op, 68)), x, y);
        break;
      case MAXPOOL: maxPool(batch * a3, a4, a5, a6, a7, a8, a9, a10, x, y); break;
      case TO_LANES: toLanes(batch, a3, x, y); break;
      case FROM_LANES: fromLanes(batch, a3, x, y); break;
      default: unreachable();
    }
  }
}
