// Measures data-parallel training throughput (samples/s) of 784-1000-1000-1000-10 with 1 and 2 threads, side by side, at several densities.
//
// Run: `node --import tsx scripts/bench-threads.mjs [--reps 5] [--steps 10] [--densities 1,0.05,0.01]`
// (or after `npx tsc -p tsconfig.json`: `node scripts/bench-threads.mjs --dist`). The model, batch
// (128), optimizer (SGD lr 0.01, momentum 0.9) and data are those of `sparsetrain bench train`;
// each step is Trainer.trainStep, as in `sparsetrain train`. Repetitions interleave 1 and 2
// threads so that a noisy neighbour slows both alike; the fastest repetition is reported (use
// `--stat median` for the typical one). It also times one signal round trip between threads with
// Atomics.wait/notify (what src/parallel uses) and with postMessage. Prints the load average:
// on a shared two-core machine every other busy process takes cycles from the second thread.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

const { values: options } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    steps: { type: "string", default: "10" },
    densities: { type: "string", default: "1,0.05,0.01" },
    stat: { type: "string", default: "min" },
    dist: { type: "boolean", default: false },
  },
});
const reps = Number(options.reps);
const steps = Number(options.steps);
const densities = options.densities.split(",").map(Number);
const statistic = options.stat === "median" ? median : (times) => Math.min(...times);
const source = options.dist ? "../dist/src" : "../src";
const { benchModelSpec, batchPool } = await import(`${source}/bench/train.js`);
const { buildModel } = await import(`${source}/nn/presets.js`);
const { Sgd } = await import(`${source}/optim/sgd.js`);
const { Dataset } = await import(`${source}/data/dataset.js`);
const { Trainer } = await import(`${source}/train/trainer.js`);
const { keep, tensor } = await import(`${source}/tensor/tensor.js`);

const BATCH = 128;
const THREADS = [1, 2];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A trainer of the benchmark model at `density` with `threads` threads, and its batches in the heap. */
function contender(density, threads, pool) {
  const model = buildModel(benchModelSpec(density));
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.01, momentum: 0.9 });
  const dataset = new Dataset(pool.features, pool.labels, [784], 10, "bench");
  const trainer = new Trainer({ model, optimizer, train: dataset, batchSize: BATCH, epochs: 1, seed: 0, threads });
  const batches = Array.from({ length: pool.count }, (_, b) => ({
    x: keep(tensor(pool.features.subarray(b * BATCH * 784, (b + 1) * BATCH * 784), [BATCH, 784])),
    labels: pool.labels.subarray(b * BATCH, (b + 1) * BATCH),
  }));
  let cursor = 0;
  return {
    threads,
    run(count) {
      const start = performance.now();
      for (let s = 0; s < count; s++) {
        const batch = batches[cursor++ % batches.length];
        trainer.trainStep(batch.x, batch.labels);
      }
      return (performance.now() - start) / count;
    },
    close() {
      trainer.close();
      for (const b of batches) b.x.dispose();
    },
  };
}

/** Microseconds per round trip main → worker → main, signalled with Atomics or with postMessage. */
async function signalRoundTrips(count) {
  const script = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.atomics) {
  const s = new Int32Array(workerData.signals);
  for (let seen = 0; ; ) {
    Atomics.wait(s, 0, seen);
    seen = Atomics.load(s, 0);
    if (seen < 0) break;
    Atomics.store(s, 1, seen);
    Atomics.notify(s, 1);
  }
} else parentPort.on("message", (m) => (m < 0 ? process.exit(0) : parentPort.postMessage(m)));`;
  const signals = new Int32Array(new SharedArrayBuffer(8));
  const atomicsWorker = new Worker(script, { eval: true, workerData: { atomics: true, signals: signals.buffer } });
  await new Promise((resolve) => atomicsWorker.once("online", resolve));
  let start = performance.now();
  for (let i = 1; i <= count; i++) {
    Atomics.store(signals, 0, i);
    Atomics.notify(signals, 0);
    while (Atomics.load(signals, 1) !== i) Atomics.wait(signals, 1, i - 1);
  }
  const atomics = ((performance.now() - start) * 1000) / count;
  Atomics.store(signals, 0, -1);
  Atomics.notify(signals, 0);
  const messageWorker = new Worker(script, { eval: true, workerData: { atomics: false } });
  await new Promise((resolve) => messageWorker.once("online", resolve));
  start = performance.now();
  for (let i = 1; i <= count; i++) {
    const reply = new Promise((resolve) => messageWorker.once("message", resolve));
    messageWorker.postMessage(i);
    await reply;
  }
  const messages = ((performance.now() - start) * 1000) / count;
  messageWorker.postMessage(-1);
  return { atomics, messages };
}

const pool = batchPool("random");
console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (2 cores); ${reps} interleaved repetitions of ${steps} steps, ${options.stat} per step`);
const latency = await signalRoundTrips(5000);
console.log(`signal round trip: Atomics.wait/notify ${latency.atomics.toFixed(1)} µs, postMessage ${latency.messages.toFixed(1)} µs`);
console.log("density  threads  ms/step  samples/s  speed-up");
for (const density of densities) {
  const contenders = THREADS.map((threads) => contender(density, threads, pool));
  try {
    for (const c of contenders) c.run(3); // warm-up: JIT, workers started, workspaces allocated
    const times = contenders.map(() => []);
    for (let r = 0; r < reps; r++) contenders.forEach((c, i) => times[i].push(c.run(steps)));
    const ms = times.map(statistic);
    contenders.forEach((c, i) => {
      const row = [`${(100 * density).toFixed(0)}%`.padStart(7), String(c.threads).padStart(7), ms[i].toFixed(2).padStart(8), ((1000 * BATCH) / ms[i]).toFixed(0).padStart(10), (ms[0] / ms[i]).toFixed(2).padStart(8) + "×"];
      console.log(row.join("  "));
    });
  } finally {
    for (const c of contenders) c.close();
  }
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
