// `sparsetrain bench train`: training throughput of a model (the 784-1000-1000-1000-10 MLP or LeNet-5) with our engine (dense and sparse), PyTorch and TensorFlow.js, measured side by side in one run.
//
// Every engine trains the same model (ReLU, batch 128, SGD lr 0.01 with momentum 0.9, mean
// cross-entropy) on the same batches for the same number of steps. Repetitions are interleaved
// (one repetition of every contender, then the next round), so a noisy neighbour on this shared
// machine slows all of them alike; each contender's time is the median over repetitions. The peers
// run in every configuration worth trying and the ratios divide by the fastest one. A contender
// that cannot start or crashes is named in a note and left out; the others are still measured.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dataset } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { buildModel, type ModelSpec } from "../nn/presets.js";
import { Sgd } from "../optim/sgd.js";
import { scaleSparseInit } from "../sparse/dynamic/initial-sparsity.js";
import { Rng } from "../tensor/rng.js";
import { keep, tensor, type Tensor } from "../tensor/tensor.js";
import { Trainer } from "../train/trainer.js";
import { TFJS_PACKAGES, type TfjsPackages } from "./tfjs-peer.js";
import { createTfjsTrainer } from "./tfjs-train.js";
import { median } from "./timing.js";
import { BENCH_CLASSES, BENCH_INPUT_SIZE, BENCH_WIDTHS, benchModel, type BenchModel, type BenchModelName } from "./train-models.js";
import { cpuOverrides, probeTorch, startTorchProcess, torchConfigurations, type TorchProcess } from "./torch-peer.js";

export { probeTorch, torchScriptPath } from "./torch-peer.js";
export { BENCH_MODEL_NAMES, BENCH_WIDTHS, benchModel, type BenchModelName } from "./train-models.js";

export const BENCH_BATCH = 128;
const LR = 0.01;
const MOMENTUM = 0.9;
/** Batches cycled by every engine: enough to not sit in cache as one batch would, small to load. */
const POOL_BATCHES = 16;

export type TrainBenchEngine = "sparsetrain" | "pytorch" | "tfjs-wasm";

export interface TrainBenchRow {
  /** The model trained ("mlp" or "lenet-5"). */
  model: BenchModelName;
  engine: TrainBenchEngine;
  /** Fraction of weights stored in every weight layer (1 = dense). */
  density: number;
  /** Ours: worker threads. PyTorch: the larger of its two pools (the cores it can occupy). */
  threads: number;
  /** A peer's configuration, e.g. "openblas2-intraop1" (PyTorch) or "wasm" (TensorFlow.js); absent on our rows. */
  config?: string;
  /** Set on the fastest configuration of each peer engine: the row its ratios divide by. */
  best?: boolean;
  samples_per_s: number;
  ms_per_step: number;
  /** samples_per_s over the fastest PyTorch configuration (absent when PyTorch was not run). */
  vs_torch?: number;
  /** samples_per_s over the fastest TensorFlow.js configuration (our rows only). */
  vs_tfjs?: number;
  /** Loss of the last step timed: every engine must actually be training. */
  loss: number;
}

export interface TrainBenchOptions {
  /** The model every engine trains: "mlp" (default) or "lenet-5"; anything else is an error naming both. */
  model?: string;
  /** Training steps per timed repetition (default 50, quick 10). */
  steps?: number;
  /** Timed repetitions per contender (default 5, quick 3). */
  reps?: number;
  quick?: boolean;
  /** Densities for our engine (default: mlp 1, 0.1, 0.05, 0.02, 0.01; lenet-5 1, 0.1, 0.02). */
  densities?: number[];
  /** Thread counts for our engine, each run at every density (default 1 and 2: data-parallel steps); counts that are not allowed are named in a note and skipped, an empty list runs only the peers. */
  threads?: number[];
  /** "mnist": the first training images scaled to [0, 1]; "random": seeded uniform data of the same shape. */
  data?: "mnist" | "random";
  /** Python with torch; default the system /usr/bin/python3. null skips PyTorch. */
  python?: string | null;
  /** The environment PyTorch's processes start from (default process.env); each configuration adjusts its copy. */
  env?: NodeJS.ProcessEnv;
  /** Skip TensorFlow.js. */
  skipTfjs?: boolean;
  /** Where TensorFlow.js is imported from (default the real packages; a test names missing ones). */
  tfjsPackages?: TfjsPackages;
  /** Progress and explanations (which data, why an engine was skipped). */
  onNote?: (line: string) => void;
}

/** One engine configuration: `run(steps)` trains that many steps and returns its wall milliseconds. */
interface Contender {
  engine: TrainBenchEngine;
  density: number;
  threads: number;
  config?: string;
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
  const [inputs, classes] = [BENCH_INPUT_SIZE, BENCH_CLASSES];
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
  const d = BENCH_INPUT_SIZE;
  return pool.features.subarray(b * BENCH_BATCH * d, (b + 1) * BENCH_BATCH * d);
}

function batchLabels(pool: BatchPool, b: number): Int32Array {
  return pool.labels.subarray(b * BENCH_BATCH, (b + 1) * BENCH_BATCH);
}

/** The model spec: every weight layer sparse at `density` (the MLP's 0, 2, 4, 6; LeNet-5's convolutions 0, 2 and linear 5, 7), or all dense at 1. */
export function benchModelSpec(density: number, seed = 0, model: BenchModelName = "mlp"): ModelSpec {
  return benchModel(model).spec(density, seed);
}

/** Our engine, trained exactly as `sparsetrain train` does: Trainer.trainStep (tidy, forward, crossEntropy, backward, Sgd step). */
export function ourTrainer(density: number, pool: BatchPool, threads = 1, modelName: BenchModelName = "mlp"): { trainer: Trainer; batches: { x: Tensor; labels: Int32Array }[] } {
  const model = buildModel(benchModelSpec(density, 0, modelName));
  // Sparsity-aware initial scale, as recipes' `initScale: sparse`: without it a 4-layer net at 1%
  // starts with near-zero logits and its loss barely moves in a short benchmark.
  scaleSparseInit(model);
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: LR, momentum: MOMENTUM });
  const dataset = new Dataset(pool.features, pool.labels, [BENCH_INPUT_SIZE], BENCH_CLASSES, "bench");
  const trainer = new Trainer({ model, optimizer, train: dataset, batchSize: BENCH_BATCH, epochs: 1, seed: 0, threads });
  const batches = Array.from({ length: pool.count }, (_, b) => ({
    x: keep(tensor(batchFeatures(pool, b), [BENCH_BATCH, BENCH_INPUT_SIZE])),
    labels: batchLabels(pool, b),
  }));
  return { trainer, batches };
}

function ourContender(density: number, pool: BatchPool, threads: number, model: BenchModelName): Contender {
  const { trainer, batches } = ourTrainer(density, pool, threads, model);
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


async function tfjsContender(pool: BatchPool, packages: TfjsPackages): Promise<Contender> {
  const trainer = await createTfjsTrainer({ widths: BENCH_WIDTHS, lr: LR, momentum: MOMENTUM, seed: 0, packages });
  const batches = Array.from({ length: pool.count }, (_, b) => trainer.batch(batchFeatures(pool, b), batchLabels(pool, b), BENCH_BATCH));
  let cursor = 0;
  return {
    engine: "tfjs-wasm", density: 1, threads: trainer.threads, config: "wasm",
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

function torchContender(served: TorchProcess): Contender {
  const { blasThreads, intraOpThreads, name } = served.configuration;
  return {
    engine: "pytorch", density: 1, threads: Math.max(blasThreads, intraOpThreads), config: name,
    run: (steps) => served.run(steps),
    dispose: () => served.close(),
  };
}

/** Starts every PyTorch configuration (in parallel: their imports and warm-ups are not timed); a configuration that fails is noted and left out. */
async function torchContenders(model: BenchModelName, python: string, pool: BatchPool, scratch: string, env: NodeJS.ProcessEnv, skip: (why: string) => void, note: (line: string) => void): Promise<Contender[]> {
  const torch = probeTorch(python, env);
  if ("problem" in torch) {
    skip(`PyTorch skipped: ${torch.problem}; no vs_torch ratios`);
    return [];
  }
  const data = { features: join(scratch, "features.f32"), labels: join(scratch, "labels.i32") };
  writeFileSync(data.features, pool.features);
  writeFileSync(data.labels, pool.labels);
  const configurations = torchConfigurations(env);
  const overrides = cpuOverrides(env);
  note(`PyTorch ${torch.version} (${python}), dense: OPENBLAS_NUM_THREADS (the GEMM pool) 1 and 2 × torch.set_num_threads (intra-op) 1 and 2, each in its own process; ` +
    (overrides.length
      ? `each with ${overrides.join(" ")} as the environment sets it (cpu-from-env) and with it removed, OpenBLAS detecting the CPU (cpu-detected)`
      : "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are not set, so OpenBLAS detects the CPU itself and the variant without them would be identical: each runs once"));
  const started = await Promise.allSettled(configurations.map((configuration) =>
    startTorchProcess(configuration, { python, model, data, batch: BENCH_BATCH, lr: LR, momentum: MOMENTUM, env })));
  const contenders: Contender[] = [];
  for (const result of started) {
    if (result.status === "rejected") {
      skip(`${(result.reason as Error).message}; measuring the others`);
      continue;
    }
    const { configuration, ready } = result.value;
    note(`  ${configuration.name}: OpenBLAS core ${ready.blas_core ?? "unknown"}, ${ready.blas_threads ?? "?"} BLAS and ${ready.intra_op_threads} intra-op threads`);
    contenders.push(torchContender(result.value));
  }
  return contenders;
}

/** Runs the benchmark and returns one row per contender measured: PyTorch's configurations first, then TensorFlow.js, then ours by threads and density. */
export async function benchTrain(options: TrainBenchOptions = {}): Promise<TrainBenchRow[]> {
  const note = options.onNote ?? (() => {});
  const problems: string[] = [];
  const skip = (why: string) => {
    problems.push(why);
    note(why);
  };
  const steps = options.steps ?? (options.quick ? 10 : 50);
  const reps = options.reps ?? (options.quick ? 3 : 5);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`bench train: --steps must be a positive integer, got ${steps}`);
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`bench train: reps must be a positive integer, got ${reps}`);
  const model: BenchModel = benchModel(options.model ?? "mlp");
  const densities = options.densities ?? model.defaultDensities;
  for (const d of densities) if (!(d > 0 && d <= 1)) throw new RangeError(`bench train: densities must be in (0, 1], got ${d}`);
  const ourThreads = (options.threads ?? [1, 2]).filter((t) => {
    if (!(Number.isInteger(t) && t >= 1)) skip(`bench train: --threads must be positive integers, got ${t}; our engine skipped at that count`);
    else if (t > BENCH_BATCH) skip(`bench train: --threads ${t} is more than the batch of ${BENCH_BATCH} (each thread trains a share of it); our engine skipped at that count`);
    else return true;
    return false;
  });

  const pool = batchPool(options.data ?? "mnist");
  note(`model ${model.name}: ${model.description}`);
  note(`data: ${pool.source}, cycled in ${pool.count} batches of ${BENCH_BATCH}`);
  let contenders: Contender[] = [];
  const scratch = mkdtempSync(join(tmpdir(), "sparsetrain-bench-"));
  try {
    const python = options.python === undefined ? "/usr/bin/python3" : options.python;
    if (python !== null) contenders.push(...(await torchContenders(model.name, python, pool, scratch, options.env ?? process.env, skip, note)));
    if (!options.skipTfjs && model.name !== "mlp") {
      note(`TensorFlow.js skipped for ${model.name}: its bench trainer builds only the MLP`);
    } else if (!options.skipTfjs) {
      try {
        const tfjs = await tfjsContender(pool, options.tfjsPackages ?? TFJS_PACKAGES);
        contenders.push(tfjs);
        note(`TensorFlow.js wasm backend (XNNPACK, SIMD), dense, ${tfjs.threads} thread${tfjs.threads > 1 ? "s" : ""} (its threaded build needs web workers, which Node lacks); tfjs-backend-cpu not run: about 7× slower`);
      } catch (error) {
        skip(`TensorFlow.js skipped: ${(error as Error).message}`);
      }
    }
    for (const threads of ourThreads) for (const density of densities) {
      try {
        contenders.push(ourContender(density, pool, threads, model.name));
      } catch (error) {
        skip(`sparsetrain at ${100 * density}% with ${threads} threads skipped: ${(error as Error).message}`);
      }
    }
    if (ourThreads.length) note(`sparsetrain: threads ${ourThreads.join(" and ")} (data-parallel steps over worker threads); densities ` + densities.map((d) => `${100 * d}%`).join(", "));

    // A contender whose run fails (a crashed process) is named, closed and left out of the rest.
    const times = new Map<Contender, number[]>(contenders.map((c) => [c, []]));
    const losses = new Map<Contender, number>();
    const runOrDrop = async (c: Contender, count: number) => {
      try {
        const { ms, loss } = await c.run(count);
        return { ms, loss };
      } catch (error) {
        skip(`${describeContender(c)} failed and is left out: ${(error as Error).message}`);
        c.dispose();
        contenders = contenders.filter((other) => other !== c);
        return undefined;
      }
    };
    const warmUpSteps = Math.max(3, Math.ceil(steps / 5));
    for (const c of [...contenders]) await runOrDrop(c, warmUpSteps);
    for (let r = 0; r < reps; r++) {
      note(`repetition ${r + 1}/${reps}`);
      for (const c of [...contenders]) {
        const result = await runOrDrop(c, steps);
        if (result === undefined) continue;
        times.get(c)!.push(result.ms);
        losses.set(c, result.loss);
      }
    }
    if (contenders.length === 0) throw new Error(`bench train: nothing could be measured: ${problems.join("; ") || "no contender chosen"}`);
    return summarize(model.name, contenders.map((c) => ({ contender: c, times: times.get(c)!, loss: losses.get(c)! })), steps);
  } finally {
    for (const c of contenders) c.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function describeContender(c: Contender): string {
  return c.engine === "sparsetrain" ? `sparsetrain at ${100 * c.density}% with ${c.threads} threads` : `${c.engine} ${c.config}`;
}

function summarize(model: BenchModelName, measured: { contender: Contender; times: number[]; loss: number }[], steps: number): TrainBenchRow[] {
  const rows: TrainBenchRow[] = measured.map(({ contender: c, times, loss }) => {
    const msPerStep = median(times) / steps;
    return {
      model, engine: c.engine, density: c.density, threads: c.threads, ...(c.config !== undefined ? { config: c.config } : {}),
      samples_per_s: (1000 * BENCH_BATCH) / msPerStep, ms_per_step: msPerStep, loss,
    };
  });
  const bestOf = (engine: TrainBenchEngine): TrainBenchRow | undefined => {
    const candidates = rows.filter((r) => r.engine === engine);
    if (candidates.length === 0) return undefined;
    const best = candidates.reduce((a, b) => (b.samples_per_s > a.samples_per_s ? b : a));
    best.best = true;
    return best;
  };
  const torchBest = bestOf("pytorch")?.samples_per_s;
  const tfjsBest = bestOf("tfjs-wasm")?.samples_per_s;
  for (const r of rows) {
    if (torchBest !== undefined) r.vs_torch = r.samples_per_s / torchBest;
    if (tfjsBest !== undefined && r.engine === "sparsetrain") r.vs_tfjs = r.samples_per_s / tfjsBest;
  }
  return rows;
}
