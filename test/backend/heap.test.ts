// The shared WebAssembly heap: memory stays bounded under drifting CSR reallocations, live contents survive other allocations, workers stay in their arenas.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { alloc, allocZeroed, free, HEAP_BASE, heapI32, heapStats, memory } from "../../src/backend/heap.js";
import { Rng } from "../../src/tensor/rng.js";

const MiB = 2 ** 20;

/** The arrays of one CSR layer and its optimizer state, as a structure rebuild reallocates them. */
interface LayerArrays {
  nnz: number;
  rowPtr: number;
  colIdx: number;
  values: number;
  momentum: number;
}

const ROWS = 2000;

function allocLayer(nnz: number, tag: number): LayerArrays {
  const layer = { nnz, rowPtr: alloc(4 * (ROWS + 1)), colIdx: alloc(4 * nnz), values: alloc(4 * nnz), momentum: alloc(4 * nnz) };
  // Mark the first and last word of each array, to check later that no other block took them.
  const words = heapI32();
  for (const [ptr, length] of [[layer.rowPtr, ROWS + 1], [layer.colIdx, nnz], [layer.values, nnz], [layer.momentum, nnz]]) {
    words[ptr >>> 2] = tag;
    words[(ptr >>> 2) + length - 1] = tag;
  }
  return layer;
}

function checkLayer(layer: LayerArrays, tag: number): void {
  const words = heapI32();
  for (const [ptr, length] of [[layer.rowPtr, ROWS + 1], [layer.colIdx, layer.nnz], [layer.values, layer.nnz], [layer.momentum, layer.nnz]]) {
    assert.equal(words[ptr >>> 2], tag, `layer ${tag}: an array at ${ptr} was overwritten`);
    assert.equal(words[(ptr >>> 2) + length - 1], tag, `layer ${tag}: the end of an array at ${ptr} was overwritten`);
  }
}

function freeLayer(layer: LayerArrays): void {
  free(layer.rowPtr, 4 * (ROWS + 1));
  for (const ptr of [layer.colIdx, layer.values, layer.momentum]) free(ptr, 4 * layer.nnz);
}

const layerBytes = (nnz: number) => 4 * (ROWS + 1) + 3 * 4 * nnz;

test("1,000 structure changes with drifting sizes keep the memory under 2× the live bytes plus fixed workspaces", () => {
  // Four CSR layers (3.4–8 MiB each) whose nnz random-walks (±5% per change, between 50,000 and
  // 900,000), each rebuild allocating the new arrays before freeing the old; a fixed workspace; one
  // step's activations allocated and freed between changes.
  // The old exact-size free lists never found a block of a new size: this grew past the bound within
  // a few changes (and toward the 4 GiB wall in a real DSR run).
  const rng = new Rng(9, "heap-drift");
  const workspaceBytes = 8 * MiB;
  const workspace = alloc(workspaceBytes);
  const activations = [3, 70, 1000, 4000].map((k) => 4 * 128 * k); // one step's outputs, the same every step
  const fixedBytes = workspaceBytes + activations.reduce((a, b) => a + b, 0);
  const layers = [400_000, 550_000, 700_000, 300_000].map((nnz, l) => allocLayer(nnz, l + 1));
  const liveLayerBytes = () => layers.reduce((sum, layer) => sum + layerBytes(layer.nnz), 0);
  let maxLive = liveLayerBytes();
  for (let change = 0; change < 1000; change++) {
    const l = rng.int(layers.length);
    const old = layers[l];
    const nnz = Math.max(50_000, Math.min(900_000, Math.round(old.nnz * (1 + 0.1 * (rng.uniform() - 0.5)))));
    layers[l] = allocLayer(nnz, l + 1);
    maxLive = Math.max(maxLive, liveLayerBytes() + layerBytes(old.nnz)); // old and new are live together
    freeLayer(old);
    const step = activations.map((bytes) => alloc(bytes));
    step.forEach((ptr, i) => free(ptr, activations[i]));
    const { memoryBytes } = heapStats();
    assert.ok(
      memoryBytes <= 2 * maxLive + fixedBytes,
      `after ${change + 1} changes the memory is ${(memoryBytes / MiB).toFixed(1)} MiB, over 2 × ${(maxLive / MiB).toFixed(1)} MiB live + ${(fixedBytes / MiB).toFixed(1)} MiB of workspaces`,
    );
  }
  layers.forEach((layer, l) => checkLayer(layer, l + 1));
  const stats = heapStats();
  assert.ok(stats.memoryBytes >= maxLive, "the layers were really allocated in the wasm memory");
  layers.forEach(freeLayer);
  free(workspace, workspaceBytes);
  assert.equal(heapStats().bytesInUse, 0);
  assert.equal(heapStats().largestFreeBlock, stats.memoryBytes - HEAP_BASE, "all freed: one free block from HEAP_BASE to the end");
});

test("random alloc/free sequences in the wasm memory: live contents are never clobbered, counts add up (model check)", () => {
  const before = heapStats().bytesInUse;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50_000 }), fc.nat()), { maxLength: 80 }), (script) => {
      const live: { ptr: number; bytes: number; tag: number }[] = [];
      let tag = 1;
      const check = (block: { ptr: number; bytes: number; tag: number }) => {
        const words = heapI32().subarray(block.ptr >>> 2, (block.ptr + block.bytes) >>> 2);
        assert.ok(words.every((w) => w === block.tag), `a live block at ${block.ptr} was overwritten`);
      };
      for (const [allocate, bytes, pick] of script) {
        if (allocate || live.length === 0) {
          const ptr = tag % 2 === 0 ? alloc(bytes) : allocZeroed(bytes);
          assert.equal(ptr % 64, 0);
          assert.ok(ptr >= HEAP_BASE && ptr + bytes <= memory.buffer.byteLength);
          const words = heapI32().subarray(ptr >>> 2, (ptr + bytes) >>> 2);
          if (tag % 2 === 1) assert.ok(words.every((w) => w === 0), "allocZeroed gave a block that is not zero");
          words.fill(tag);
          live.push({ ptr, bytes, tag: tag++ });
        } else {
          const [block] = live.splice(pick % live.length, 1);
          check(block);
          free(block.ptr, block.bytes);
        }
        const liveBytes = live.reduce((sum, b) => sum + Math.max(64, Math.ceil(b.bytes / 64) * 64), 0);
        assert.equal(heapStats().bytesInUse - before, liveBytes);
      }
      live.forEach(check);
      for (const block of live) free(block.ptr, block.bytes);
    }),
    { seed: 42, numRuns: 200 },
  );
  assert.equal(heapStats().bytesInUse, before);
});

test("freeing twice, or with the wrong size, throws instead of corrupting the heap", () => {
  const ptr = alloc(1000);
  assert.throws(() => free(ptr, 2000), new RegExp(`heap\\.free: the block at offset ${ptr} holds 1024 bytes, freed as 2000 bytes`));
  free(ptr, 1000);
  assert.throws(() => free(ptr, 1000), new RegExp(`heap\\.free: no live block at offset ${ptr} \\(freed twice, or not a pointer from alloc\\)`));
});

test("a worker thread allocates only inside its arena, reuses it, and never grows the memory", { timeout: 30_000 }, async () => {
  const arenaBytes = 4 * MiB + 100; // not a multiple of 64: the worker rounds its end down
  const below = alloc(64), arena = alloc(arenaBytes), above = alloc(64);
  heapI32()[below >>> 2] = 11;
  heapI32()[above >>> 2] = 22;
  const memoryBefore = memory.buffer.byteLength;
  const heapModule = new URL("../../src/backend/heap.js", import.meta.url).href;
  const script = `
    const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify(heapModule)}).then(({ alloc, free, heapI32, heapStats }) => {
      const blocks = [];
      let lowest = Infinity, highest = 0, total = 0, seed = 1;
      for (let i = 0; i < 3000; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const bytes = 4 * (1 + (seed % 100_000));
        const ptr = alloc(bytes);
        heapI32().fill(i, ptr >>> 2, (ptr + bytes) >>> 2);
        blocks.push([ptr, bytes, i]);
        lowest = Math.min(lowest, ptr);
        highest = Math.max(highest, ptr + bytes);
        total += bytes;
        if (blocks.length > 4) {
          const [p, b, tag] = blocks.shift();
          if (!heapI32().subarray(p >>> 2, (p + b) >>> 2).every((w) => w === tag)) throw new Error("block " + tag + " overwritten");
          free(p, b);
        }
      }
      let full = "";
      try { alloc(8 * 2 ** 20); } catch (error) { full = error.message; }
      parentPort.postMessage({ lowest, highest, total, full, stats: heapStats() });
    }).catch((error) => parentPort.postMessage({ error: String(error) }));`;
  const worker = new Worker(script, { eval: true, workerData: { sparsetrainHeap: { memory, arenaStart: arena, arenaEnd: arena + arenaBytes } } });
  const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  assert.equal(result.error, undefined, String(result.error));
  const { lowest, highest, total, full } = result as { lowest: number; highest: number; total: number; full: string };
  assert.ok(lowest >= arena && highest <= arena + arenaBytes, `worker blocks [${lowest}, ${highest}) outside its arena [${arena}, ${arena + arenaBytes})`);
  assert.ok(total > 50 * arenaBytes, "the worker reused its arena many times over");
  assert.match(full, /out of memory in a worker thread: its arena of 4\.0 MiB is full \(8388608 more bytes needed\); give data-parallel training a larger arenaBytes/);
  assert.equal(memory.buffer.byteLength, memoryBefore, "the worker never grew the memory");
  assert.deepEqual([heapI32()[below >>> 2], heapI32()[above >>> 2]], [11, 22], "the main thread's neighbouring blocks are intact");
  for (const [ptr, bytes] of [[below, 64], [arena, arenaBytes], [above, 64]]) free(ptr, bytes);
});
