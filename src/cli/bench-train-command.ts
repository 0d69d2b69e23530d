// `sparsetrain bench train`: prints training throughput of our engine (dense and sparse), PyTorch and TensorFlow.js, with ratios, from one run.
import { kernelBackend } from "../backend/kernels.js";
import { BENCH_BATCH, BENCH_WIDTHS, benchTrain, type TrainBenchRow } from "../bench/train.js";

export interface BenchTrainCommandOptions {
  json?: boolean;
  quick?: boolean;
  steps?: string;
  reps?: string;
  data?: "mnist" | "random";
  python?: string;
  torch?: boolean;
  threads?: string;
}

function threadList(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(",").map((v) => Number(v.trim()));
  if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new RangeError(`bench train: --threads must be a comma-separated list of positive integers (e.g. 1,2), got "${value}"`);
  }
  return list;
}

function positiveInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`bench train: ${option} must be a positive integer, got "${value}"`);
  return n;
}

function formatRow(r: TrainBenchRow): string[] {
  const ratio = (v?: number) => (v === undefined ? "" : `${v.toFixed(2)}×`);
  return [r.engine, `${+(100 * r.density).toFixed(2)}%`, String(r.threads), r.samples_per_s.toFixed(0), r.ms_per_step.toFixed(2), ratio(r.vs_torch), ratio(r.vs_tfjs), r.loss.toFixed(3)];
}

export async function benchTrainCommand(options: BenchTrainCommandOptions): Promise<void> {
  const out = (line: string) => process.stdout.write(line + "\n");
  const steps = positiveInteger(options.steps, "--steps");
  const reps = positiveInteger(options.reps, "--reps");
  if (!options.json) {
    out(`model ${BENCH_WIDTHS.join("-")} (ReLU), batch ${BENCH_BATCH}, SGD lr 0.01 momentum 0.9, cross-entropy; kernels: ${kernelBackend()}`);
    out("samples/s from the median of interleaved repetitions; vs torch = over PyTorch's best of 1 and 2 threads");
  }
  const rows = await benchTrain({
    steps, reps, quick: options.quick, data: options.data, threads: threadList(options.threads),
    python: options.torch === false ? null : options.python,
    onNote: (line) => (options.json ? process.stderr.write(`${line}\n`) : out(`  ${line}`)),
  });
  if (options.json) {
    for (const r of rows) out(JSON.stringify(r));
    return;
  }
  const header = ["engine", "density", "threads", "samples/s", "ms/step", "vs torch", "vs tfjs", "loss"];
  const widths = [12, 8, 8, 10, 8, 9, 8, 6];
  out(header.map((h, i) => h.padEnd(widths[i])).join(" "));
  for (const r of rows) out(formatRow(r).map((v, i) => v.padEnd(widths[i])).join(" "));
}
