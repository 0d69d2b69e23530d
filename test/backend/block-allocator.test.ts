// The TLSF block allocator on its own: splitting, coalescing, growth, confinement to a range, misuse errors, and random alloc/free sequences against a model.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BlockAllocator } from "../../src/backend/block-allocator.js";

const KiB = 1024;

test("a big free block serves several small ones, and freed neighbours merge back into one block", () => {
  const heap = new BlockAllocator(4096, 4096 + 64 * KiB);
  const a = heap.alloc(1000), b = heap.alloc(64), c = heap.alloc(5000);
  assert.deepEqual([a, b, c], [4096, 4096 + 1024, 4096 + 1024 + 64], "split off the front of the one free block, in order");
  assert.equal(heap.stats().bytesInUse, 1024 + 64 + 5056);
  heap.checkInvariants();
  heap.free(b, 64);
  assert.equal(heap.stats().largestFreeBlock, 64 * KiB - 1024 - 64 - 5056, "b is not adjacent to the tail: two free blocks");
  heap.free(a, 1000); // merges with b (its free next neighbour)
  assert.equal(heap.alloc(1088), a, "a and b merged: one block of 1088 bytes at a");
  heap.free(a, 1088);
  heap.free(c, 5000); // merges with a+b before and the tail after
  heap.checkInvariants();
  const stats = heap.stats();
  assert.deepEqual([stats.bytesInUse, stats.largestFreeBlock, stats.freeBytes, stats.topOffset], [0, 64 * KiB, 64 * KiB, 4096]);
  assert.equal(heap.alloc(64 * KiB), 4096, "freeing everything leaves one block covering the whole range");
});

test("a freed block is reused by a smaller request, the rest stays free for the next", () => {
  const heap = new BlockAllocator(0, 1024 * KiB);
  const big = heap.alloc(100 * KiB);
  const guard = heap.alloc(64); // keeps the freed block from merging with the tail
  heap.free(big, 100 * KiB);
  const first = heap.alloc(30 * KiB), second = heap.alloc(60 * KiB);
  assert.ok(first >= big && first + 30 * KiB <= big + 100 * KiB, "the first request fits in the freed block");
  assert.ok(second >= big && second + 60 * KiB <= big + 100 * KiB, "so does the second, from the remainder");
  assert.equal(heap.stats().topOffset, guard + 64, "nothing was taken from above the guard");
  heap.checkInvariants();
});

test("growth extends the free tail block instead of leaving it behind", () => {
  const extensions: number[] = [];
  const heap = new BlockAllocator(0, 4 * KiB, (requiredEnd) => {
    extensions.push(requiredEnd);
    return requiredEnd;
  });
  const a = heap.alloc(1024); // [0, 1024); the tail [1024, 4096) stays free
  const b = heap.alloc(10 * KiB); // needs 10 KiB: the 3 KiB tail plus 7 KiB more
  assert.equal(b, 1024, "the new block starts in the old free tail");
  assert.deepEqual(extensions, [11 * KiB]);
  heap.free(a, 1024);
  heap.free(b, 10 * KiB);
  heap.checkInvariants();
  assert.equal(heap.stats().largestFreeBlock, 11 * KiB);
});

test("an allocator without growth stays inside its range, reuses it, and says when it is full", () => {
  const start = 3 * 2 ** 31 - 64 * KiB; // offsets beyond 32 bits: no signed 32-bit pointer arithmetic anywhere
  const end = start + 256 * KiB;
  const heap = new BlockAllocator(start, end);
  const sizes = fc.sample(fc.integer({ min: 1, max: 40 * KiB }), { seed: 7, numRuns: 2000 });
  const live: [number, number][] = [];
  let total = 0;
  for (const bytes of sizes) {
    if (live.length >= 4) {
      const [ptr, size] = live.shift()!;
      heap.free(ptr, size);
    }
    const ptr = heap.alloc(bytes);
    assert.ok(ptr >= start && ptr + bytes <= end && ptr % 64 === 0, `block [${ptr}, ${ptr + bytes}) outside [${start}, ${end})`);
    live.push([ptr, bytes]);
    total += bytes;
  }
  assert.ok(total > 100 * (end - start), "the range was reused many times over");
  heap.checkInvariants();
  assert.throws(() => heap.alloc(256 * KiB), /out of memory: 262144 bytes requested, the range \[6442385408, 6442647552\) is full/);
  heap.checkInvariants();
});

test("free refuses a double free, an interior or foreign pointer, and a wrong size, leaving the heap intact", () => {
  const heap = new BlockAllocator(0, 64 * KiB);
  const a = heap.alloc(200), b = heap.alloc(100);
  heap.free(a, 200);
  assert.throws(() => heap.free(a, 200), /heap\.free: no live block at offset 0 \(freed twice, or not a pointer from alloc\)/);
  assert.throws(() => heap.free(b + 64, 36), /no live block at offset 320/);
  assert.throws(() => heap.free(b + 4, 100), /no live block at offset 260/);
  assert.throws(() => heap.free(-64, 64), /no live block at offset -64/);
  assert.throws(() => heap.free(b, 200), /the block at offset 256 holds 128 bytes, freed as 200 bytes/);
  assert.throws(() => heap.free(b, Number.NaN), /freed as NaN bytes/);
  heap.checkInvariants();
  heap.free(b, 65); // same 64-byte rounding as 100: accepted
  assert.equal(heap.stats().bytesInUse, 0);
  assert.throws(() => heap.alloc(-1), /heap\.alloc: invalid size -1/);
  assert.throws(() => heap.alloc(Number.POSITIVE_INFINITY), /invalid size Infinity/);
});

test("a request no range could hold goes to growth, which reports it", () => {
  const heap = new BlockAllocator(0, 64 * KiB, (requiredEnd) => {
    throw new RangeError(`cannot reach ${requiredEnd}`);
  });
  assert.throws(() => heap.alloc(2 ** 40), /cannot reach 1099511627776/);
  heap.checkInvariants();
});

type Command = { kind: "alloc"; bytes: number } | { kind: "free"; pick: number };

const commands = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("alloc" as const), bytes: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 20_000 })) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
  ),
  { maxLength: 120 },
);

test("random alloc/free sequences: blocks are aligned, disjoint, inside the range, and the counts add up (model check)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.boolean(), commands, (startBlock, growable, script) => {
      const start = startBlock * 64;
      const limit = start + 160 * KiB; // growth stops here
      const heap = new BlockAllocator(start, start + 8 * KiB, growable ? (requiredEnd) => {
        if (requiredEnd > limit) throw new RangeError("limit");
        return Math.min(limit, requiredEnd + 4 * KiB);
      } : null);
      // owner[u] = tag of the live block covering unit u of the range, 0 when free; tags stand for written contents.
      const owner = new Int32Array((limit - start) / 64);
      const live: { ptr: number; bytes: number; tag: number }[] = [];
      let nextTag = 1;
      for (const command of script) {
        if (command.kind === "alloc") {
          let ptr: number;
          try {
            ptr = heap.alloc(command.bytes);
          } catch (error) {
            assert.ok(!growable || (error as Error).message === "limit" || /is full/.test((error as Error).message));
            continue;
          }
          const units = Math.max(1, Math.ceil(command.bytes / 64));
          assert.equal(ptr % 64, 0);
          assert.ok(ptr >= start && ptr + units * 64 <= heap.stats().end);
          const first = (ptr - start) / 64;
          for (let u = first; u < first + units; u++) {
            assert.equal(owner[u], 0, `new block at ${ptr} overlaps live block ${owner[u]}`);
            owner[u] = nextTag;
          }
          live.push({ ptr, bytes: command.bytes, tag: nextTag++ });
        } else if (live.length > 0) {
          const [block] = live.splice(command.pick % live.length, 1);
          const first = (block.ptr - start) / 64, units = Math.max(1, Math.ceil(block.bytes / 64));
          for (let u = first; u < first + units; u++) {
            assert.equal(owner[u], block.tag, `contents of the block at ${block.ptr} were given to another block`);
            owner[u] = 0;
          }
          heap.free(block.ptr, block.bytes);
        }
        heap.checkInvariants();
        const liveBytes = live.reduce((sum, b) => sum + Math.max(1, Math.ceil(b.bytes / 64)) * 64, 0);
        assert.equal(heap.stats().bytesInUse, liveBytes);
      }
      for (const block of live) heap.free(block.ptr, block.bytes);
      const stats = heap.stats();
      assert.deepEqual([stats.bytesInUse, stats.largestFreeBlock, stats.topOffset], [0, stats.end - start, start], "all freed: one free block");
    }),
    { seed: 20240609, numRuns: 300 },
  );
});
