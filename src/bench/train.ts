// `sparsetrain bench train`: training throughput of 784-1000-1000-1000-10 with our engine (dense and sparse), PyTorch and TensorFlow.js, measured side by side in one run.
//
// Every engine trains the same model (ReLU, batch 128, SGD lr 0.01 with momentum 0.9, mean
// cross-entropy) on the same batches for the same number of steps. Repetitions are interleaved
// (one repetition of every contender, then the next round), so a noisy neighbour on this shared
// machine slows all of them alike; each contender's time is the median over repetitions.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Dataset } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { buildModel, type ModelSpec } from "../nn/presets.js";
import { Sgd } from "../optim/sgd.js";
import { scaleSparseInit } from "../sparse/dynamic/initial-sparsity.js";
import { Rng } from "../tensor/rng.js";
import { keep, tensor, type Tensor } from "../tensor/tensor.js";
import { Trainer } from "../train/trainer.js";
import { createTfjsTrainer } from "./tfjs-train.js";
import { median } from "./timing.js";

export const BENCH_WIDTHS = [784, 1000, 1000, 1000, 10];
export const BENCH_BATCH = 128;
const LR = 0.01;
const MOMENTUM = 0.9;
/** Batches cycled by every engine: enough to not sit in cache as one batch would, small to load. */
const POOL_BATCHES = 16;

export type TrainBenchEngine = "sparsetrain" | "pytorch" | "tfjs-wasm";

export interface TrainBenchRow {
  engine: TrainBenchEngine;
  /** Fraction of weights stored in every weight layer (1 = dense). */
  density: number;
  threads: number;
  samples_per_s: number;
  ms_per_step: number;
  /** samples_per_s over PyTorch's best of 1 and 2 threads (absent when PyTorch was not run). */
  vs_torch?: number;
  /** samples_per_s over TensorFlow.js wasm dense. */
  vs_tfjs?: number;
  /** Loss of the last step timed: every engine must actually be training. */
  loss: number;
}

export interface TrainBenchOptions {
  /** Training steps per timed repetition (default 50, quick 10). */
  steps?: number;
  /** Timed repetitions per contender (default 5, quick 3). */
  reps?: number;
  quick?: boolean;
  /** Densities for our engine (default 1, 0.1, 0.05, 0.02, 0.01). */
  densities?: number[];
  /** Thread counts for our engine, each run at every density (default 1 and 2: data-parallel steps). */
  threads?: number[];
  /** "mnist": the first training images scaled to [0, 1]; "random": seeded uniform data of the same shape. */
  data?: "mnist" | "random";
  /** Python with torch; default the system /usr/bin/python3. null skips PyTorch. */
  python?: string | null;
  /** Skip TensorFlow.js. */
  skipTfjs?: boolean;
  /** Progress and explanations (which data, why an engine was skipped). */
  onNote?: (line: string) => void;
}

/** One engine configuration: `run(steps)` trains that many steps and returns its wall milliseconds. */
interface Contender {
  engine: TrainBenchEngine;
  density: number;
  threads: number;
  run(steps: number): Promise<{ ms: number; loss: number }>;
  dispose(): void;
}

/** The batch pool shared by all engines: batch-major features and labels. */
export interface BatchPool {
  features: Float32Array;
  labels: Int32Array;
  count: number;
  source: string;
}

export function batchPool(kind: "mnist" | "random"): BatchPool {
  const [inputs, classes] = [BENCH_WIDTHS[0], BENCH_WIDTHS[BENCH_WIDTHS.length - 1]];
  const size = POOL_BATCHES * BENCH_BATCH;
  const features = new Float32Array(size * inputs);
  const labels = new Int32Array(size);
  if (kind === "mnist") {
    const { train } = loadMnist();
    for (let i = 0; i < features.length; i++) features[i] = train.features[i] / 255;
    labels.set(train.labels.subarray(0, size));
    return { features, labels, count: POOL_BATCHES, source: `MNIST: the first ${size} training images, scaled to [0, 1]` };
  }
  const rng = new Rng(0, "bench/train/data");
  for (let i = 0; i < features.length; i++) features[i] = rng.uniform();
  for (let i = 0; i < size; i++) labels[i] = rng.int(classes);
  return { features, labels, count: POOL_BATCHES, source: `random: ${size} seeded uniform [0, 1) examples of MNIST's shape` };
}

function batchFeatures(pool: BatchPool, b: number): Float32Array {
  const d = BENCH_WIDTHS[0];
  return pool.features.subarray(b * BENCH_BATCH * d, (b + 1) * BENCH_BATCH * d);
}

function batchLabels(pool: BatchPool, b: number): Int32Array {
  return pool.labels.subarray(b * BENCH_BATCH, (b + 1) * BENCH_BATCH);
}

/** The model spec: every weight layer (indices 0, 2, 4, 6) sparse at `density`, or all dense `Linear` at 1. */
export function benchModelSpec(density: number, seed = 0): ModelSpec {
  const weightLayers = BENCH_WIDTHS.slice(1).map((_, i) => String(2 * i));
  return {
    preset: "mlp", inputShape: [BENCH_WIDTHS[0]], classes: BENCH_WIDTHS[BENCH_WIDTHS.length - 1],
    widths: BENCH_WIDTHS.slice(1, -1), activation: "relu", seed,
    ...(density < 1 ? { sparse: Object.fromEntries(weightLayers.map((k) => [k, density])) } : {}),
  };
}

/** Our engine, trained exactly as `sparsetrain train` does: Trainer.trainStep (tidy, forward, crossEntropy, backward, Sgd step). */
export function ourTrainer(density: number, pool: BatchPool, threads = 1): { trainer: Trainer; batches: { x: Tensor; labels: Int32Array }[] } {
  const model = buildModel(benchModelSpec(density));
  // Sparsity-aware initial scale, as recipes' `initScale: sparse`: without it a 4-layer net at 1%
  // starts with near-zero logits and its loss barely moves in a short benchmark.
  scaleSparseInit(model);
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: LR, momentum: MOMENTUM });
  const dataset = new Dataset(pool.features, pool.labels, [BENCH_WIDTHS[0]], BENCH_WIDTHS[BENCH_WIDTHS.length - 1], "bench");
  const trainer = new Trainer({ model, optimizer, train: dataset, batchSize: BENCH_BATCH, epochs: 1, seed: 0, threads });
  const batches = Array.from({ length: pool.count }, (_, b) => ({
    x: keep(tensor(batchFeatures(pool, b), [BENCH_BATCH, BENCH_WIDTHS[0]])),
    labels: batchLabels(pool, b),
  }));
  return { trainer, batches };
}

function ourContender(density: number, pool: BatchPool, threads: number): Contender {
  const { trainer, batches } = ourTrainer(density, pool, threads);
  let cursor = 0;
  return {
    engine: "sparsetrain", density, threads,
    async run(steps) {
      let loss = NaN;
      const start = performance.now();
      for (let s = 0; s < steps; s++) {
        const batch = batches[cursor++ % batches.length];
        loss = trainer.trainStep(batch.x, batch.labels).loss;
      }
      return { ms: performance.now() - start, loss };
    },
    dispose() {
      trainer.close();
      for (const b of batches) b.x.dispose();
    },
  };
}

async function tfjsContender(pool: BatchPool): Promise<Contender> {
  const trainer = await createTfjsTrainer({ widths: BENCH_WIDTHS, lr: LR, momentum: MOMENTUM, seed: 0 });
  const batches = Array.from({ length: pool.count }, (_, b) => trainer.batch(batchFeatures(pool, b), batchLabels(pool, b), BENCH_BATCH));
  let cursor = 0;
  return {
    engine: "tfjs-wasm", density: 1, threads: trainer.threads,
    async run(steps) {
      let loss = NaN;
      const start = performance.now();
      for (let s = 0; s < steps; s++) loss = trainer.step(batches[cursor++ % batches.length]);
      return { ms: performance.now() - start, loss };
    },
    dispose() {
      for (const b of batches) trainer.tf.dispose([b.x, b.oneHot]);
      trainer.dispose();
    },
  };
}

/** The folder holding bench/torch_mlp.py: the package root, found from this file (src/bench or dist/src/bench). */
export function torchScriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "bench", "torch_mlp.py");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error("bench train: bench/torch_mlp.py not found above " + dirname(fileURLToPath(import.meta.url)));
}

/** The torch version `python` imports, or the reason it cannot. */
export function probeTorch(python: string): { version: string } | { problem: string } {
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
  if (probe.error) return { problem: `${python} could not be run (${probe.error.message})` };
  if (probe.status !== 0) return { problem: `${python} cannot import torch (${probe.stderr.trim().split("\n").pop()}); install Debian's python3-torch` };
  return { version: probe.stdout.trim() };
}

/** A PyTorch process serving timed runs over stdin/stdout (see bench/torch_mlp.py --serve). */
async function torchContender(python: string, threads: number, dataFiles: { features: string; labels: string }): Promise<Contender> {
  const child: ChildProcessWithoutNullStreams = spawn(python, [
    torchScriptPath(), "--threads", String(threads), "--serve", "--data", dataFiles.features, "--labels", dataFiles.labels,
    "--batch", String(BENCH_BATCH), "--lr", String(LR), "--momentum", String(MOMENTUM),
  ]);
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextReply = async (): Promise<Record<string, number>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`bench train: the PyTorch process (threads ${threads}) exited: ${stderr.trim() || "no message"}`);
    return JSON.parse(value);
  };
  await nextReply(); // {"ready": true, ...} after its own warm-up
  return {
    engine: "pytorch", density: 1, threads,
    async run(steps) {
      child.stdin.write(JSON.stringify({ steps }) + "\n");
      const reply = await nextReply();
      return { ms: reply.ms, loss: reply.loss };
    },
    dispose() {
      child.stdin.end();
    },
  };
}

/** Runs the benchmark and returns one row per contender, PyTorch first, then TensorFlow.js, then ours by density. */
export async function benchTrain(options: TrainBenchOptions = {}): Promise<TrainBenchRow[]> {
  const note = options.onNote ?? (() => {});
  const steps = options.steps ?? (options.quick ? 10 : 50);
  const reps = options.reps ?? (options.quick ? 3 : 5);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`bench train: --steps must be a positive integer, got ${steps}`);
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`bench train: reps must be a positive integer, got ${reps}`);
  const densities = options.densities ?? [1, 0.1, 0.05, 0.02, 0.01];
  for (const d of densities) if (!(d > 0 && d <= 1)) throw new RangeError(`bench train: densities must be in (0, 1], got ${d}`);
  const ourThreads = options.threads ?? [1, 2];
  for (const t of ourThreads) if (!(Number.isInteger(t) && t >= 1)) throw new RangeError(`bench train: --threads must be positive integers, got ${t}`);

  const pool = batchPool(options.data ?? "mnist");
  note(`data: ${pool.source}, cycled in ${pool.count} batches of ${BENCH_BATCH}`);
  const contenders: Contender[] = [];
  const scratch = mkdtempSync(join(tmpdir(), "sparsetrain-bench-"));
  try {
    const python = options.python === undefined ? "/usr/bin/python3" : options.python;
    if (python !== null) {
      const torch = probeTorch(python);
      if ("problem" in torch) note(`PyTorch skipped: ${torch.problem}; no vs_torch ratios`);
      else {
        const dataFiles = { features: join(scratch, "features.f32"), labels: join(scratch, "labels.i32") };
        writeFileSync(dataFiles.features, pool.features);
        writeFileSync(dataFiles.labels, pool.labels);
        for (const threads of [1, 2]) contenders.push(await torchContender(python, threads, dataFiles));
        note(`PyTorch ${torch.version} (${python}), dense, threads 1 and 2 (OpenMP and OpenBLAS pools both set)`);
      }
    }
    if (!options.skipTfjs) {
      contenders.push(await tfjsContender(pool));
      note("TensorFlow.js wasm backend (XNNPACK), dense, 1 thread");
    }
    for (const threads of ourThreads) for (const density of densities) contenders.push(ourContender(density, pool, threads));
    note(`sparsetrain: threads ${ourThreads.join(" and ")} (data-parallel steps over worker threads); densities ` + densities.map((d) => `${100 * d}%`).join(", "));

    const warmUpSteps = Math.max(3, Math.ceil(steps / 5));
    for (const c of contenders) await c.run(warmUpSteps);
    const times = contenders.map(() => [] as number[]);
    const losses = contenders.map(() => NaN);
    for (let r = 0; r < reps; r++) {
      note(`repetition ${r + 1}/${reps}`);
      for (const [i, c] of contenders.entries()) {
        const { ms, loss } = await c.run(steps);
        times[i].push(ms);
        losses[i] = loss;
      }
    }
    return summarize(contenders, times, losses, steps);
  } finally {
    for (const c of contenders) c.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function summarize(contenders: Contender[], times: number[][], losses: number[], steps: number): TrainBenchRow[] {
  const rows: TrainBenchRow[] = contenders.map((c, i) => {
    const msPerStep = median(times[i]) / steps;
    return { engine: c.engine, density: c.density, threads: c.threads, samples_per_s: (1000 * BENCH_BATCH) / msPerStep, ms_per_step: msPerStep, loss: losses[i] };
  });
  const torchRows = rows.filter((r) => r.engine === "pytorch");
  const torchBest = torchRows.length ? Math.max(...torchRows.map((r) => r.samples_per_s)) : undefined;
  const tfjs = rows.find((r) => r.engine === "tfjs-wasm")?.samples_per_s;
  for (const r of rows) {
    if (torchBest !== undefined) r.vs_torch = r.samples_per_s / torchBest;
    if (tfjs !== undefined && r.engine === "sparsetrain") r.vs_tfjs = r.samples_per_s / tfjs;
  }
  return rows;
}
