// One shared WebAssembly memory holding every tensor, index array and workspace, with a small allocator.
//
// All kernels (TypeScript reference and WebAssembly SIMD) address data by byte offset into this
// memory. It is a *shared* memory: views on it never detach when it grows, and worker threads can
// map the same bytes for data-parallel training. A worker started by src/parallel adopts the main
// thread's memory (passed in workerData) and allocates only inside a private arena the main thread
// reserved for it, so the two allocators never hand out the same bytes and the worker never grows
// the memory.
import { isMainThread, workerData } from "node:worker_threads";

/** Bytes below this offset belong to kernel modules' static data (one 4 KiB slot each). */
export const HEAP_BASE = 65536;
/** Size of each kernel module's static-data slot; keep in sync with scripts/build-kernels.mjs. */
export const STATIC_SLOT_BYTES = 4096;
const PAGE_BYTES = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const ALIGN = 64; // one cache line; also keeps every v128 access aligned

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
let top = adopted?.arenaStart ?? HEAP_BASE;
let bytesInUse = 0;
let peakBytes = 0;
// Exact-size free lists: training allocates the same shapes every step, so reuse is the common case.
const freeLists = new Map<number, number[]>();

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

function roundUp(bytes: number): number {
  return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
}

/**
 * Allocates `bytes` bytes (64-byte aligned) and returns the byte offset. The contents are
 * unspecified; use `allocZeroed` when they must be zero.
 */
export function alloc(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`heap.alloc: invalid size ${bytes}`);
  const size = roundUp(bytes);
  const list = freeLists.get(size);
  let ptr: number;
  if (list !== undefined && list.length > 0) {
    ptr = list.pop()!;
  } else {
    ptr = top;
    const end = top + size;
    const have = memory.buffer.byteLength;
    if (adopted !== null && end > adopted.arenaEnd) {
      throw new RangeError(
        `out of memory in a worker thread: its arena of ${((adopted.arenaEnd - adopted.arenaStart) / 2 ** 20).toFixed(1)} MiB is full ` +
          `(${size} more bytes needed); give data-parallel training a larger arenaBytes`,
      );
    }
    if (end > have) {
      const neededPages = Math.ceil((end - have) / PAGE_BYTES);
      const currentPages = have / PAGE_BYTES;
      // Grow geometrically so that a long run does not grow page by page.
      const pages = Math.min(MAX_PAGES - currentPages, Math.max(neededPages, Math.ceil(currentPages / 4)));
      if (pages < neededPages) {
        throw new RangeError(
          `out of memory: ${(end / 2 ** 30).toFixed(2)} GiB needed, the WebAssembly heap is limited to 4 GiB`,
        );
      }
      memory.grow(pages);
      refreshViews();
    }
    top = end;
  }
  bytesInUse += size;
  if (bytesInUse > peakBytes) peakBytes = bytesInUse;
  return ptr;
}

/** Allocates and zero-fills. */
export function allocZeroed(bytes: number): number {
  const ptr = alloc(bytes);
  heapU8().fill(0, ptr, ptr + roundUp(bytes));
  return ptr;
}

/** Returns a block obtained from `alloc(bytes)` (same `bytes`) to the allocator. */
export function free(ptr: number, bytes: number): void {
  const size = roundUp(bytes);
  let list = freeLists.get(size);
  if (list === undefined) {
    list = [];
    freeLists.set(size, list);
  }
  list.push(ptr);
  bytesInUse -= size;
}

/** Heap statistics: bytes currently allocated, the peak, and the size of the memory. */
export function heapStats(): { bytesInUse: number; peakBytes: number; memoryBytes: number } {
  return { bytesInUse, peakBytes, memoryBytes: memory.buffer.byteLength };
}

/** Resets the peak to the current use (e.g. before measuring one phase). */
export function resetPeak(): void {
  peakBytes = bytesInUse;
}
