// Microbenchmark of the heap allocator: ns per alloc/free pair for a training-step pattern and a random mixed-size pattern.
// (Random sizes with no fixed set drive the old exact-size allocator out of its 4 GiB; see test/backend/heap.test.ts.)
// Usage: node scripts/bench-heap.mjs [dist folder, default dist] — run it on two builds to compare allocators.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = resolve(process.argv[2] ?? "dist");
const { alloc, free, heapStats } = await import(pathToFileURL(`${dist}/src/backend/heap.js`).href);

let seed = 12345;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
// Mostly small blocks (activations, gradients), some medium, a few large (CSR arrays of big layers).
const mixedSize = () => {
  const r = random();
  if (r < 0.7) return 4 * (1 + Math.floor(random() * 4096));
  if (r < 0.97) return 4 * (1 + Math.floor(random() * 65536));
  return 4 * (1 + Math.floor(random() * 1_000_000));
};

function stepPattern(pairs) {
  // One op's outputs allocated in order and freed at the end of a tidy: the same sizes every step.
  const sizes = Array.from({ length: 40 }, mixedSize);
  const ptrs = new Array(sizes.length);
  for (let done = 0; done < pairs; done += sizes.length) {
    for (let i = 0; i < sizes.length; i++) ptrs[i] = alloc(sizes[i]);
    for (let i = sizes.length - 1; i >= 0; i--) free(ptrs[i], sizes[i]);
  }
}

// 256 distinct sizes, so that the old exact-size free lists can serve this pattern too.
const sizeSet = Array.from({ length: 256 }, mixedSize);

function randomPattern(pairs) {
  // 1,000 live slots; each pair frees a random slot and refills it with a random size of the set.
  const slots = 1000;
  const ptrs = new Array(slots).fill(-1);
  const sizes = new Array(slots).fill(0);
  for (let done = 0; done < pairs; done++) {
    const k = Math.floor(random() * slots);
    if (ptrs[k] >= 0) free(ptrs[k], sizes[k]);
    sizes[k] = sizeSet[Math.floor(random() * sizeSet.length)];
    ptrs[k] = alloc(sizes[k]);
  }
  for (let k = 0; k < slots; k++) if (ptrs[k] >= 0) free(ptrs[k], sizes[k]);
}

const PAIRS = 1_000_000;
for (const [name, run] of [["training-step pattern", stepPattern], ["random mixed sizes", randomPattern]]) {
  run(PAIRS / 10); // warm up
  const t0 = process.hrtime.bigint();
  run(PAIRS);
  const ns = Number(process.hrtime.bigint() - t0) / PAIRS;
  const { memoryBytes } = heapStats();
  console.log(`${name}: ${ns.toFixed(1)} ns per alloc/free pair, memory ${(memoryBytes / 2 ** 20).toFixed(0)} MiB`);
}
