// Measures the WASM SIMD gemm kernel against TensorFlow.js's wasm backend (XNNPACK) on the same shapes, side by side.
//
// Run: `node --import tsx scripts/bench-gemm.mjs [--reps 15]` (or after `npx tsc -p tsconfig.json`:
// `node scripts/bench-gemm.mjs --dist`). Prints medians (ms, GFLOP/s) and speed-ups ×X = tfjs time / our time.
// Both sides run single-threaded: tfjs-backend-wasm never uses threads under Node (its
// WASM_HAS_MULTITHREAD_SUPPORT flag is false there); we also call setThreadsCount(1) and print the count.
// tfjs caches the packed weights of a matMul by the B tensor's id, so it is timed twice: with the
// same B every call (packing skipped, as in inference) and with a fresh B every call (as in
// training, where weights change every step). Our kernel always packs both operands.
// tfjs-backend-wasm runs transposed products outside XNNPACK (slowly), so for a transposed shape the
// table also times tfjs on operands stored already transposed (not timed), its best case ("tfBestLayout").
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

const { values: options } = parseArgs({
  options: { reps: { type: "string", default: "15" }, dist: { type: "boolean", default: false } },
});
const reps = Number(options.reps);
const source = options.dist ? "../dist/src" : "../src";
const { alloc, heapF32 } = await import(`${source}/backend/heap.js`);
const { wasmKernels } = await import(`${source}/backend/kernels.js`);
if (!wasmKernels.gemm) throw new Error("bench-gemm: the WASM gemm kernel is missing (run `node scripts/build-kernels.mjs gemm`)");

const require = createRequire(import.meta.url);
setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"))}/dist/`);
setThreadsCount(1);
await tf.setBackend("wasm");
await tf.ready();

// op(A) is m×k, op(B) is k×n; transA/transB say how A and B are stored.
const shapes = [
  { name: "square", m: 1024, k: 1024, n: 1024, transA: 0, transB: 0 },
  { name: "x·W", m: 128, k: 784, n: 1000, transA: 0, transB: 0 },
  { name: "x·W", m: 128, k: 1000, n: 1000, transA: 0, transB: 0 },
  { name: "x·Wᵀ (Bᵀ)", m: 128, k: 784, n: 1000, transA: 0, transB: 1 },
  { name: "dW = dYᵀ·X (Aᵀ)", m: 1000, k: 128, n: 784, transA: 1, transB: 0 },
  { name: "dX = dY·W", m: 128, k: 1000, n: 784, transA: 0, transB: 0 },
];

let seed = 12345;
function random() {
  // xorshift32: benchmark data only, deterministic.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32 - 0.5;
}

function randomArray(size) {
  return Float32Array.from({ length: size }, random);
}

function median(times) {
  const sorted = [...times].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeOnce(fn) {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const rows = [];
for (const s of shapes) {
  const { m, k, n, transA, transB } = s;
  const aShape = transA ? [k, m] : [m, k];
  const bShape = transB ? [n, k] : [k, n];
  const aValues = randomArray(m * k), bValues = randomArray(k * n);

  const a = alloc(m * k * 4), b = alloc(k * n * 4), c = alloc(m * n * 4);
  heapF32().set(aValues, a >> 2);
  heapF32().set(bValues, b >> 2);
  const lda = aShape[1], ldb = bShape[1];
  const ours = () => wasmKernels.gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n);

  const tfA = tf.tensor(aValues, aShape), tfB = tf.tensor(bValues, bShape);
  const tfCached = () => tf.matMul(tfA, tfB, transA === 1, transB === 1).dispose();
  const transposed = transA === 1 || transB === 1;
  const tfOpA = transA ? tf.transpose(tfA) : tfA, tfOpB = transB ? tf.transpose(tfB) : tfB; // (m, k), (k, n)
  const tfBestLayout = () => tf.matMul(tfOpA, tfOpB).dispose();
  const freshB = Array.from({ length: reps + 3 }, () => tf.tensor(bValues, bShape));
  let next = 0;
  const tfFresh = () => tf.matMul(tfA, freshB[next++], transA === 1, transB === 1).dispose();

  // Warm-up: lets V8 tier the kernels up to optimized code and tfjs create its operator.
  const warmUntil = performance.now() + 400;
  while (performance.now() < warmUntil) ours();
  for (let i = 0; i < 3; i++) tfCached(), tfFresh(), transposed && tfBestLayout();

  const times = { ours: [], tfCached: [], tfFresh: [], ...(transposed ? { tfBestLayout: [] } : {}) };
  // Interleaved, so that a noisy neighbour slows every side alike.
  for (let r = 0; r < reps; r++) {
    times.ours.push(timeOnce(ours));
    times.tfCached.push(timeOnce(tfCached));
    times.tfFresh.push(timeOnce(tfFresh));
    if (transposed) times.tfBestLayout.push(timeOnce(tfBestLayout));
  }
  for (const t of new Set([tfA, tfB, tfOpA, tfOpB])) t.dispose();
  for (const t of freshB) t.dispose();

  const flop = 2 * m * n * k;
  const gflops = (list) => (flop / median(list) / 1e6).toFixed(1);
  const ratio = (list) => (median(list) / median(times.ours)).toFixed(2);
  const best = times.tfBestLayout ?? times.tfCached;
  const row = {
    shape: `${s.name} m=${m} k=${k} n=${n}`,
    "ours ms": median(times.ours).toFixed(2),
    "ours GF/s": gflops(times.ours),
    "tf cached GF/s": gflops(times.tfCached),
    "tf fresh GF/s": gflops(times.tfFresh),
    "tf best layout GF/s": gflops(best),
    "×cached": ratio(times.tfCached),
    "×fresh": ratio(times.tfFresh),
    "×best layout": ratio(best),
  };
  rows.push(row);
}

console.log(`tfjs ${tf.version_core} backend=${tf.getBackend()} threads=${getThreadsCount()} ` +
  `multithread=${tf.env().get("WASM_HAS_MULTITHREAD_SUPPORT")} simd=${tf.env().get("WASM_HAS_SIMD_SUPPORT")}; medians of ${reps}`);
console.table(rows);
