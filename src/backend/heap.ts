// One shared WebAssembly memory holding every tensor, index array and workspace, with its allocator.
//
// All kernels (TypeScript reference and WebAssembly SIMD) address data by byte offset into this
// memory. It is a *shared* memory: views on it never detach when it grows, and worker threads can
// map the same bytes for data-parallel training. A worker started by src/parallel adopts the main
// thread's memory (passed in workerData) and allocates only inside a private arena the main thread
// reserved for it, so the two allocators never hand out the same bytes and the worker never grows
// the memory. Blocks are managed by a TLSF allocator (block-allocator.ts) that splits and merges
// free blocks, so arrays whose sizes drift (CSR structure changes) reuse freed memory.
import { isMainThread, workerData } from "node:worker_threads";
import { BLOCK_ALIGN, BlockAllocator, blockBytes } from "./block-allocator.js";

/** Bytes below this offset belong to kernel modules' static data (one 4 KiB slot each). */
export const HEAP_BASE = 65536;
/** Size of each kernel module's static-data slot; keep in sync with scripts/build-kernels.mjs. */
export const STATIC_SLOT_BYTES = 4096;
const PAGE_BYTES = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const ALIGN = BLOCK_ALIGN; // one cache line; also keeps every v128 access aligned

/** What a worker thread receives to share the main thread's heap: the memory and its arena [start, end). */
export interface WorkerHeap {
  memory: WebAssembly.Memory;
  arenaStart: number;
  arenaEnd: number;
}

const adopted: WorkerHeap | null = isMainThread ? null : ((workerData as { sparsetrainHeap?: WorkerHeap } | null)?.sparsetrainHeap ?? null);

export const memory = adopted?.memory ?? new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });

let f32View = new Float32Array(memory.buffer);
let i32View = new Int32Array(memory.buffer);
let u8View = new Uint8Array(memory.buffer);
// The main thread manages everything above the kernels' static data and grows the memory; a worker
// manages only its arena (rounded in to 64-byte boundaries) and never grows it.
const allocator = adopted === null
  ? new BlockAllocator(HEAP_BASE, memory.buffer.byteLength, growMemory)
  : new BlockAllocator(Math.ceil(adopted.arenaStart / ALIGN) * ALIGN, Math.floor(adopted.arenaEnd / ALIGN) * ALIGN, arenaFull);

function refreshViews(): void {
  f32View = new Float32Array(memory.buffer);
  i32View = new Int32Array(memory.buffer);
  u8View = new Uint8Array(memory.buffer);
}

/** Float32 view over the whole heap; index = byteOffset >>> 2. */
export function heapF32(): Float32Array {
  if (f32View.byteLength !== memory.buffer.byteLength) refreshViews();
  return f32View;
}

/** Int32 view over the whole heap; index = byteOffset >>> 2. */
export function heapI32(): Int32Array {
  if (i32View.byteLength !== memory.buffer.byteLength) refreshViews();
  return i32View;
}

/** Byte view over the whole heap. */
export function heapU8(): Uint8Array {
  if (u8View.byteLength !== memory.buffer.byteLength) refreshViews();
  return u8View;
}

/** Grows the memory geometrically (a quarter at least) so that it reaches `requiredEnd` bytes; returns its new size. */
function growMemory(requiredEnd: number): number {
  const have = memory.buffer.byteLength;
  const neededPages = Math.ceil((requiredEnd - have) / PAGE_BYTES);
  const currentPages = have / PAGE_BYTES;
  // Grow geometrically so that a long run does not grow page by page.
  const pages = Math.min(MAX_PAGES - currentPages, Math.max(neededPages, Math.ceil(currentPages / 4)));
  if (pages < neededPages) {
    throw new RangeError(`out of memory: ${(requiredEnd / 2 ** 30).toFixed(2)} GiB needed, the WebAssembly heap is limited to 4 GiB`);
  }
  memory.grow(pages);
  refreshViews();
  return memory.buffer.byteLength;
}

function arenaFull(_requiredEnd: number, requestBytes: number): never {
  const arena = adopted!;
  throw new RangeError(
    `out of memory in a worker thread: its arena of ${((arena.arenaEnd - arena.arenaStart) / 2 ** 20).toFixed(1)} MiB is full ` +
      `(${blockBytes(requestBytes)} more bytes needed); give data-parallel training a larger arenaBytes`,
  );
}

/**
 * Allocates `bytes` bytes (64-byte aligned) and returns the byte offset. The contents are
 * unspecified; use `allocZeroed` when they must be zero.
 */
export function alloc(bytes: number): number {
  return allocator.alloc(bytes);
}

/** Allocates and zero-fills. */
export function allocZeroed(bytes: number): number {
  const ptr = allocator.alloc(bytes);
  heapU8().fill(0, ptr, ptr + blockBytes(bytes));
  return ptr;
}

/**
 * Returns a block obtained from `alloc(bytes)` (same `bytes`, up to the 64-byte rounding) to the
 * allocator; throws a RangeError for a pointer that is not a live block or a wrong size.
 */
export function free(ptr: number, bytes: number): void {
  allocator.free(ptr, bytes);
}

/**
 * Heap statistics in bytes: live blocks now (`bytesInUse`) and at the peak, the memory's size, the
 * free bytes and largest free block of this thread's range, and the offset just past its highest
 * live block (`topOffset`).
 */
export function heapStats(): {
  bytesInUse: number; peakBytes: number; memoryBytes: number; freeBytes: number; largestFreeBlock: number; topOffset: number;
} {
  const { bytesInUse, peakBytes, freeBytes, largestFreeBlock, topOffset } = allocator.stats();
  return { bytesInUse, peakBytes, memoryBytes: memory.buffer.byteLength, freeBytes, largestFreeBlock, topOffset };
}

/** Resets the peak to the current use (e.g. before measuring one phase). */
export function resetPeak(): void {
  allocator.resetPeak();
}
