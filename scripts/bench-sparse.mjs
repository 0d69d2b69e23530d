// Measures the WASM SIMD sparse kernels (spmm, spmmTransposed, sddmm) against our dense gemm on the same shapes, side by side.
//
// Run: `node --import tsx scripts/bench-sparse.mjs [--reps 9] [--b 128] [--stat min|median]` (or after `npx tsc -p tsconfig.json`:
// `node scripts/bench-sparse.mjs --dist`). Prints, per shape and density, the median time and the
// useful GFLOP/s (2·nnz·B flops) of each sparse kernel (fastest sample by default), and the time of the dense product
// W·X (2·M·K·B flops, `gemm`) with the speed-up sparse / dense. Single thread.
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
  options: {
    reps: { type: "string", default: "9" },
    stat: { type: "string", default: "min" },
    b: { type: "string", default: "128" },
    dist: { type: "boolean", default: false },
  },
});
const reps = Number(options.reps);
// The fastest sample is the least disturbed by other processes on a shared 2-core machine; use
// `--stat median` for the typical time.
const statistic = options.stat === "median" ? median : (times) => Math.min(...times);
const batch = Number(options.b);
const source = options.dist ? "../dist/src" : "../src";
const { alloc, free, heapF32, heapI32 } = await import(`${source}/backend/heap.js`);
const { wasmKernels } = await import(`${source}/backend/kernels.js`);
for (const name of ["spmm", "spmmTransposed", "sddmm", "gemm"]) {
  if (!wasmKernels[name]) throw new Error(`bench-sparse: the WASM kernel ${name} is missing (run \`node scripts/build-kernels.mjs\`)`);
}

const shapes = [
  { name: "784→1000", m: 1000, k: 784 },
  { name: "1000→1000", m: 1000, k: 1000 },
];
const densities = [0.5, 0.2, 0.1, 0.05, 0.02, 0.01];

let seed = 12345;
function random() {
  // xorshift32: benchmark data only, deterministic.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}

function randomFloats(n) {
  const p = alloc(n * 4);
  const h = heapF32();
  for (let i = 0; i < n; i++) h[(p >> 2) + i] = random() - 0.5;
  return p;
}

/** A random M×K CSR matrix: each position kept with probability `density` (sorted columns). */
function randomCsr(m, k, density) {
  const rowPtr = [0];
  const colIdx = [];
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) if (random() < density) colIdx.push(c);
    rowPtr.push(colIdx.length);
  }
  const nnz = colIdx.length;
  const rowPtrAt = alloc((m + 1) * 4), colIdxAt = alloc(nnz * 4);
  heapI32().set(rowPtr, rowPtrAt >> 2);
  heapI32().set(colIdx, colIdxAt >> 2);
  return { nnz, rowPtr: rowPtrAt, colIdx: colIdxAt, values: randomFloats(nnz) };
}

function median(times) {
  const sorted = [...times].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median seconds per call; each sample repeats the call until it lasts at least 20 ms. */
function timeKernel(fn) {
  fn();
  let inner = 1;
  for (;;) {
    const start = performance.now();
    for (let r = 0; r < inner; r++) fn();
    if (performance.now() - start >= 20) break;
    inner *= 2;
  }
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    for (let i = 0; i < inner; i++) fn();
    samples.push((performance.now() - start) / 1000 / inner);
  }
  return statistic(samples);
}

const { spmm, spmmTransposed, sddmm, gemm } = wasmKernels;
console.log(`sparse kernels, B = ${batch}, single thread, ${options.stat} of ${reps} samples; GFLOP/s count useful work (2·nnz·B)`);
console.log(
  ["shape", "density", "nnz", "spmm ms", "GFLOP/s", "spmmT ms", "GFLOP/s", "sddmm ms", "GFLOP/s", "dense gemm ms", "GFLOP/s", "spmm speed-up"]
    .map((s, i) => (i === 0 ? s.padEnd(10) : s.padStart(i >= 9 ? 14 : 9)))
    .join(" "),
);
let worst = Infinity;
for (const { name, m, k } of shapes) {
  const x = randomFloats(k * batch), dy = randomFloats(m * batch);
  const y = alloc(m * batch * 4), dx = alloc(k * batch * 4);
  const dense = randomFloats(m * k);
  const denseSeconds = timeKernel(() => gemm(0, 0, m, batch, k, 1, dense, k, x, batch, 0, y, batch));
  const denseGflops = (2 * m * k * batch) / denseSeconds / 1e9;
  for (const density of densities) {
    const w = randomCsr(m, k, density);
    const dvalues = alloc(w.nnz * 4);
    const flops = 2 * w.nnz * batch;
    const t1 = timeKernel(() => spmm(m, k, batch, w.rowPtr, w.colIdx, w.values, x, y));
    const t2 = timeKernel(() => spmmTransposed(m, k, batch, w.rowPtr, w.colIdx, w.values, dy, dx));
    const t3 = timeKernel(() => sddmm(m, k, batch, w.rowPtr, w.colIdx, dy, x, dvalues));
    const rates = [t1, t2, t3].map((t) => flops / t / 1e9);
    worst = Math.min(worst, ...rates);
    const cells = [
      name.padEnd(10), `${(density * 100).toFixed(0)}%`.padStart(9), String(w.nnz).padStart(9),
      ...[t1, t2, t3].flatMap((t, i) => [(t * 1e3).toFixed(3).padStart(9), rates[i].toFixed(1).padStart(9)]),
      (denseSeconds * 1e3).toFixed(3).padStart(14), denseGflops.toFixed(1).padStart(14), `${(denseSeconds / t1).toFixed(1)}×`.padStart(14),
    ];
    console.log(cells.join(" "));
    for (const [p, n] of [[w.rowPtr, m + 1], [w.colIdx, w.nnz], [w.values, w.nnz], [dvalues, w.nnz]]) free(p, n * 4);
  }
  for (const [p, n] of [[x, k * batch], [dy, m * batch], [y, m * batch], [dx, k * batch], [dense, m * k]]) free(p, n * 4);
}
console.log(`slowest sparse kernel: ${worst.toFixed(1)} GFLOP/s useful`);
