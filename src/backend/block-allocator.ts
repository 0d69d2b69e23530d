// A two-level segregated-fit (TLSF) allocator over a byte range: O(1) alloc and free, blocks split on allocation and merge with free neighbours on free.
//
// Why TLSF (Masmano et al., "TLSF: a new dynamic memory allocator for real-time systems", 2004):
// training frees and reallocates CSR arrays whose sizes drift with every structure change, so an
// exact-size free list never finds a block of the new size and the heap grows without bound. TLSF
// keeps free blocks in size classes (a power-of-two first level, 16 linear steps inside it), finds
// a class with a free block in O(1) from two bitmaps, splits the block it takes and merges a freed
// block with its free physical neighbours at once, so free space stays in few large blocks.
//
// The bookkeeping lives in JavaScript objects, not in headers inside the managed memory:
// - a header in front of each block would cost a whole 64-byte line (blocks stay 64-aligned for
//   v128 and cache lines), doubling the size of small blocks;
// - a kernel writing past the end of its array cannot corrupt the allocator, and `free` can check
//   that its pointer is a live block of the stated size (double frees and wrong sizes throw);
// - the class needs no memory at all, so it is tested directly on arbitrary ranges, and each
//   worker thread runs its own instance inside its arena of the shared memory (no locking: the
//   main thread and a worker never allocate in the same range).
import { OffsetTable } from "./offset-table.js";

// Physical neighbours are linked (prev/next) instead of found through boundary tags, and live
// blocks are found by start offset in a hash table. Offsets are kept in 64-byte units (below 2^26 for
// 4 GiB), so all arithmetic is on small integers and pointers above 2 GiB need no care.

/** Allocation granularity and alignment in bytes. */
export const BLOCK_ALIGN = 64;
const SECOND_LEVEL_LOG = 4;
const SECOND_LEVEL_COUNT = 1 << SECOND_LEVEL_LOG;
const FIRST_LEVEL_COUNT = 32;
// How many blocks of a request's own size class are tried before taking a block from a larger
// class: repeated allocations of one size then reuse the same free blocks (bounded, so still O(1)).
const SAME_CLASS_PROBES = 8;
// Sizes (in units) from here on would overflow the 32-bit class arithmetic (2^30 units = 64 GiB).
const LARGEST_CLASSED_SIZE = 2 ** 30;

interface Block {
  start: number; // in 64-byte units
  size: number; // in 64-byte units
  isFree: boolean;
  prevPhysical: Block | null;
  nextPhysical: Block | null;
  prevFree: Block | null;
  nextFree: Block | null;
}

/**
 * Called when no free block can hold a request: make the range end at `requiredEnd` bytes or
 * more and return the new end, or throw an error saying why it cannot grow.
 */
export type ExtendRange = (requiredEnd: number, requestBytes: number) => number;

/** Rounds a byte count up to whole blocks (at least one). */
export function blockBytes(bytes: number): number {
  return Math.max(BLOCK_ALIGN, Math.ceil(bytes / BLOCK_ALIGN) * BLOCK_ALIGN);
}

/** Free-list index (first level · 16 + second level) of the class that holds a block of `size` units. */
function classOf(size: number): number {
  if (size < SECOND_LEVEL_COUNT) return size; // first level 0: one class per size
  const log2 = 31 - Math.clz32(size);
  return ((log2 - SECOND_LEVEL_LOG + 1) << SECOND_LEVEL_LOG) | ((size >>> (log2 - SECOND_LEVEL_LOG)) & (SECOND_LEVEL_COUNT - 1));
}

/** The first class whose every block holds `size` units (the request rounded up to a class boundary). */
function firstClassAtLeast(size: number): number {
  if (size < SECOND_LEVEL_COUNT) return size;
  const log2 = 31 - Math.clz32(size);
  return classOf(size + (1 << (log2 - SECOND_LEVEL_LOG)) - 1);
}

function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

/** Statistics of one allocator, in bytes. */
export interface BlockAllocatorStats {
  /** Sum of the (64-byte rounded) sizes of live blocks. */
  bytesInUse: number;
  /** Highest `bytesInUse` since creation or the last `resetPeak`. */
  peakBytes: number;
  /** Bytes of the range not in live blocks. */
  freeBytes: number;
  /** The largest single free block. */
  largestFreeBlock: number;
  /** Offset just past the highest live block (the range's start when nothing is live). */
  topOffset: number;
  /** The range [start, end) managed now. */
  start: number;
  end: number;
}

/** TLSF allocator of 64-byte aligned blocks inside [start, end), optionally growing `end`. */
export class BlockAllocator {
  private readonly startUnit: number;
  private endUnit: number;
  private readonly extend: ExtendRange | null;
  private firstLevelBits = 0;
  private readonly secondLevelBits = new Int32Array(FIRST_LEVEL_COUNT);
  private readonly freeHeads: (Block | null)[] = new Array(FIRST_LEVEL_COUNT * SECOND_LEVEL_COUNT).fill(null);
  private readonly live = new OffsetTable<Block>();
  private lastPhysical: Block | null = null; // the block that ends at `end`
  private readonly spareBlocks: Block[] = []; // recycled records, so steady-state training creates no garbage
  private unitsInUse = 0;
  private peakUnits = 0;

  /**
   * Manages [start, end) (both multiples of 64 bytes); when no free block fits, `extend` may grow
   * the end (it throws when it cannot). Without `extend`, a request that does not fit throws.
   */
  constructor(start: number, end: number, extend: ExtendRange | null = null) {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end >= start && start % BLOCK_ALIGN === 0 && end % BLOCK_ALIGN === 0)) {
      throw new RangeError(`BlockAllocator: range [${start}, ${end}) must be two multiples of ${BLOCK_ALIGN} with start <= end`);
    }
    this.startUnit = start / BLOCK_ALIGN;
    this.endUnit = end / BLOCK_ALIGN;
    this.extend = extend;
    if (end > start) this.insertFree(this.appendFree(this.endUnit - this.startUnit));
  }

  /** Allocates a block of at least `bytes` bytes (rounded up to 64) and returns its byte offset. */
  alloc(bytes: number): number {
    if (!(Number.isFinite(bytes) && bytes >= 0)) throw new RangeError(`heap.alloc: invalid size ${bytes}`);
    const size = blockBytes(bytes) / BLOCK_ALIGN;
    const block = this.takeFree(size) ?? this.takeGrown(size, bytes);
    if (block.size > size) {
      const rest = this.record(block.start + size, block.size - size, block, block.nextPhysical);
      if (block.nextPhysical !== null) block.nextPhysical.prevPhysical = rest;
      else this.lastPhysical = rest;
      block.nextPhysical = rest;
      block.size = size;
      this.insertFree(rest);
    }
    block.isFree = false;
    this.live.add(block.start, block);
    this.unitsInUse += size;
    if (this.unitsInUse > this.peakUnits) this.peakUnits = this.unitsInUse;
    return block.start * BLOCK_ALIGN;
  }

  /** Returns the block at `ptr`, allocated with `alloc(bytes)` (same size up to the 64-byte rounding). */
  free(ptr: number, bytes: number): void {
    const block = ptr % BLOCK_ALIGN === 0 && ptr >= 0 && ptr < 2 ** 37 ? this.live.get(ptr / BLOCK_ALIGN) : undefined;
    if (block === undefined) {
      throw new RangeError(`heap.free: no live block at offset ${ptr} (freed twice, or not a pointer from alloc)`);
    }
    if (!(Number.isFinite(bytes) && bytes >= 0) || blockBytes(bytes) !== block.size * BLOCK_ALIGN) {
      throw new RangeError(`heap.free: the block at offset ${ptr} holds ${block.size * BLOCK_ALIGN} bytes, freed as ${bytes} bytes`);
    }
    this.live.delete(block.start);
    this.unitsInUse -= block.size;
    block.isFree = true;
    let merged = block;
    const before = block.prevPhysical;
    if (before !== null && before.isFree) {
      this.removeFree(before);
      this.absorbNext(before);
      merged = before;
    }
    const after = merged.nextPhysical;
    if (after !== null && after.isFree) {
      this.removeFree(after);
      this.absorbNext(merged);
    }
    this.insertFree(merged);
  }

  /** True when `ptr` is the start of a live block. */
  isLive(ptr: number): boolean {
    return ptr % BLOCK_ALIGN === 0 && ptr >= 0 && ptr < 2 ** 37 && this.live.has(ptr / BLOCK_ALIGN);
  }

  stats(): BlockAllocatorStats {
    let largest = 0;
    if (this.firstLevelBits !== 0) {
      const firstLevel = 31 - Math.clz32(this.firstLevelBits);
      const index = (firstLevel << SECOND_LEVEL_LOG) | (31 - Math.clz32(this.secondLevelBits[firstLevel]));
      for (let b = this.freeHeads[index]; b !== null; b = b.nextFree) largest = Math.max(largest, b.size);
    }
    const last = this.lastPhysical;
    const topUnit = last === null ? this.startUnit : last.isFree ? last.start : this.endUnit;
    return {
      bytesInUse: this.unitsInUse * BLOCK_ALIGN,
      peakBytes: this.peakUnits * BLOCK_ALIGN,
      freeBytes: (this.endUnit - this.startUnit - this.unitsInUse) * BLOCK_ALIGN,
      largestFreeBlock: largest * BLOCK_ALIGN,
      topOffset: topUnit * BLOCK_ALIGN,
      start: this.startUnit * BLOCK_ALIGN,
      end: this.endUnit * BLOCK_ALIGN,
    };
  }

  /** Resets the peak to the current use. */
  resetPeak(): void {
    this.peakUnits = this.unitsInUse;
  }

  /**
   * Checks every structural invariant (blocks tile the range, no two free neighbours, free lists
   * and bitmaps agree, byte counts add up) and throws on the first violation. O(blocks): for tests.
   */
  checkInvariants(): void {
    const fail = (what: string): never => {
      throw new Error(`BlockAllocator invariant broken: ${what}`);
    };
    let expectedStart = this.startUnit;
    let usedUnits = 0;
    let freeBlocks = 0;
    let previous: Block | null = null;
    let block = this.lastPhysical;
    while (block !== null && block.prevPhysical !== null) block = block.prevPhysical;
    for (; block !== null; previous = block, block = block.nextPhysical) {
      if (block.start !== expectedStart) fail(`block at unit ${block.start} should start at ${expectedStart}`);
      if (block.size < 1) fail(`empty block at unit ${block.start}`);
      if (block.prevPhysical !== previous) fail(`broken back link at unit ${block.start}`);
      if (block.isFree) {
        freeBlocks++;
        if (previous?.isFree) fail(`free neighbours at units ${previous.start} and ${block.start} were not merged`);
        if (this.live.has(block.start)) fail(`free block at unit ${block.start} is also live`);
      } else {
        usedUnits += block.size;
        if (this.live.get(block.start) !== block) fail(`live block at unit ${block.start} missing from the live map`);
      }
      expectedStart += block.size;
    }
    if (previous !== this.lastPhysical) fail("last block is not the end of the physical chain");
    if (expectedStart !== this.endUnit) fail(`blocks end at unit ${expectedStart}, the range at ${this.endUnit}`);
    if (usedUnits !== this.unitsInUse) fail(`live blocks hold ${usedUnits} units, the count says ${this.unitsInUse}`);
    if (this.live.size !== this.countLive()) fail("live map holds blocks that are not in the chain");
    let listed = 0;
    this.freeHeads.forEach((head, index) => {
      const firstLevel = index >>> SECOND_LEVEL_LOG;
      const bit = (this.secondLevelBits[firstLevel] >>> (index & (SECOND_LEVEL_COUNT - 1))) & 1;
      if ((head !== null) !== (bit === 1)) fail(`bitmap disagrees with free list ${index}`);
      if (((this.firstLevelBits >>> firstLevel) & 1) !== (this.secondLevelBits[firstLevel] !== 0 ? 1 : 0)) fail(`first-level bit ${firstLevel} is wrong`);
      for (let b = head, prev: Block | null = null; b !== null; prev = b, b = b.nextFree) {
        listed++;
        if (!b.isFree || classOf(b.size) !== index || b.prevFree !== prev) fail(`block at unit ${b.start} is misfiled in free list ${index}`);
      }
    });
    if (listed !== freeBlocks) fail(`${freeBlocks} free blocks, ${listed} in free lists`);
  }

  private countLive(): number {
    let count = 0;
    for (let b = this.lastPhysical; b !== null; b = b.prevPhysical) if (!b.isFree) count++;
    return count;
  }

  /** A free block of at least `size` units, removed from its free list, or null. */
  private takeFree(size: number): Block | null {
    if (size >= LARGEST_CLASSED_SIZE) return null; // beyond any range this class can manage
    const ownClass = classOf(size);
    if (ownClass !== firstClassAtLeast(size)) {
      let probes = 0;
      for (let b = this.freeHeads[ownClass]; b !== null && probes < SAME_CLASS_PROBES; b = b.nextFree, probes++) {
        if (b.size >= size) {
          this.removeFree(b);
          return b;
        }
      }
    }
    const index = this.nonEmptyClassFrom(firstClassAtLeast(size));
    if (index < 0) return null;
    const block = this.freeHeads[index]!;
    this.removeFree(block);
    return block;
  }

  /** Grows the range so that its last block (merged with the free tail) holds `size` units; returns it, off the free lists. */
  private takeGrown(size: number, requestBytes: number): Block {
    const tail = this.lastPhysical !== null && this.lastPhysical.isFree ? this.lastPhysical : null;
    const requiredEnd = (this.endUnit + size - (tail?.size ?? 0)) * BLOCK_ALIGN;
    if (this.extend === null) {
      throw new RangeError(`out of memory: ${requestBytes} bytes requested, the range [${this.startUnit * BLOCK_ALIGN}, ${this.endUnit * BLOCK_ALIGN}) is full`);
    }
    const newEnd = this.extend(requiredEnd, requestBytes);
    if (!(newEnd >= requiredEnd && newEnd % BLOCK_ALIGN === 0)) throw new Error(`BlockAllocator: the range grew to ${newEnd}, ${requiredEnd} (a multiple of ${BLOCK_ALIGN}) was needed`);
    const added = newEnd / BLOCK_ALIGN - this.endUnit;
    this.endUnit += added;
    if (tail !== null) {
      this.removeFree(tail);
      tail.size += added;
      return tail;
    }
    return this.appendFree(added);
  }

  /** Adds a free block of `size` units at the end of the physical chain (not on a free list). */
  private appendFree(size: number): Block {
    const last = this.lastPhysical;
    const block = this.record(this.endUnit - size, size, last, null);
    block.isFree = true;
    if (last !== null) last.nextPhysical = block;
    this.lastPhysical = block;
    return block;
  }

  /** Merges `block`'s free next neighbour (already off its free list) into it. */
  private absorbNext(block: Block): void {
    const next = block.nextPhysical!;
    block.size += next.size;
    block.nextPhysical = next.nextPhysical;
    if (next.nextPhysical !== null) next.nextPhysical.prevPhysical = block;
    else this.lastPhysical = block;
    next.prevPhysical = next.nextPhysical = null;
    this.spareBlocks.push(next);
  }

  private record(start: number, size: number, prevPhysical: Block | null, nextPhysical: Block | null): Block {
    const block = this.spareBlocks.pop();
    if (block === undefined) return { start, size, isFree: true, prevPhysical, nextPhysical, prevFree: null, nextFree: null };
    block.start = start;
    block.size = size;
    block.isFree = true;
    block.prevPhysical = prevPhysical;
    block.nextPhysical = nextPhysical;
    return block;
  }

  private nonEmptyClassFrom(index: number): number {
    let firstLevel = index >>> SECOND_LEVEL_LOG;
    if (firstLevel >= FIRST_LEVEL_COUNT) return -1;
    let secondBits = this.secondLevelBits[firstLevel] & (~0 << (index & (SECOND_LEVEL_COUNT - 1)));
    if (secondBits === 0) {
      const firstBits = firstLevel + 1 >= FIRST_LEVEL_COUNT ? 0 : this.firstLevelBits & (~0 << (firstLevel + 1));
      if (firstBits === 0) return -1;
      firstLevel = lowestBit(firstBits);
      secondBits = this.secondLevelBits[firstLevel];
    }
    return (firstLevel << SECOND_LEVEL_LOG) | lowestBit(secondBits);
  }

  private insertFree(block: Block): void {
    const index = classOf(block.size);
    const head = this.freeHeads[index];
    block.prevFree = null;
    block.nextFree = head;
    if (head !== null) head.prevFree = block;
    this.freeHeads[index] = block;
    const firstLevel = index >>> SECOND_LEVEL_LOG;
    this.secondLevelBits[firstLevel] |= 1 << (index & (SECOND_LEVEL_COUNT - 1));
    this.firstLevelBits |= 1 << firstLevel;
  }

  private removeFree(block: Block): void {
    const index = classOf(block.size);
    if (block.prevFree !== null) block.prevFree.nextFree = block.nextFree;
    else this.freeHeads[index] = block.nextFree;
    if (block.nextFree !== null) block.nextFree.prevFree = block.prevFree;
    block.prevFree = block.nextFree = null;
    if (this.freeHeads[index] === null) {
      const firstLevel = index >>> SECOND_LEVEL_LOG;
      this.secondLevelBits[firstLevel] &= ~(1 << (index & (SECOND_LEVEL_COUNT - 1)));
      if (this.secondLevelBits[firstLevel] === 0) this.firstLevelBits &= ~(1 << firstLevel);
    }
  }
}
