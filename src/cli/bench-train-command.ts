// `sparsetrain bench train`: prints training throughput of our engine (dense and sparse) and of every PyTorch and TensorFlow.js configuration, with ratios to the fastest, from one run.
import { kernelBackend } from "../backend/kernels.js";
import { BENCH_BATCH, benchModel, benchTrain, type TrainBenchRow } from "../bench/train.js";

export interface BenchTrainCommandOptions {
  json?: boolean;
  model?: string;
  quick?: boolean;
  steps?: string;
  reps?: string;
  data?: "mnist" | "random";
  python?: string;
  torch?: boolean;
  threads?: string;
}

/** The numbers in a comma-separated list; text that is no number is named and dropped (benchTrain names numbers it cannot use). */
function threadList(value: string | undefined, note: (line: string) => void): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").flatMap((text) => {
    const n = Number(text.trim());
    if (text.trim() !== "" && Number.isFinite(n)) return [n];
    note(`bench train: --threads must be positive integers (e.g. 1,2), got "${text.trim()}"; our engine skipped at that count`);
    return [];
  });
}

function positiveInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`bench train: ${option} must be a positive integer, got "${value}"`);
  return n;
}

function formatRow(r: TrainBenchRow): string[] {
  const ratio = (v?: number) => (v === undefined ? "" : `${v.toFixed(2)}×`);
  const config = (r.config ?? "") + (r.best ? " (best)" : "");
  return [r.engine, config, `${+(100 * r.density).toFixed(2)}%`, String(r.threads), r.samples_per_s.toFixed(0), r.ms_per_step.toFixed(2), ratio(r.vs_torch), ratio(r.vs_tfjs), r.loss.toFixed(3)];
}

export async function benchTrainCommand(options: BenchTrainCommandOptions): Promise<void> {
  const out = (line: string) => process.stdout.write(line + "\n");
  const steps = positiveInteger(options.steps, "--steps");
  const reps = positiveInteger(options.reps, "--reps");
  const model = benchModel(options.model ?? "mlp");
  if (!options.json) {
    out(`model ${model.description}, batch ${BENCH_BATCH}, SGD lr 0.01 momentum 0.9, cross-entropy; kernels: ${kernelBackend()}`);
    out("samples/s from the median of interleaved repetitions; every peer configuration runs, and vs torch / vs tfjs divide by the fastest one (best)");
  }
  const note = (line: string) => (options.json ? process.stderr.write(`${line}\n`) : out(`  ${line}`));
  const rows = await benchTrain({
    model: model.name, steps, reps, quick: options.quick, data: options.data, threads: threadList(options.threads, note),
    python: options.torch === false ? null : options.python, onNote: note,
  });
  if (options.json) {
    for (const r of rows) out(JSON.stringify(r));
    return;
  }
  const header = ["engine", "config", "density", "threads", "samples/s", "ms/step", "vs torch", "vs tfjs", "loss"];
  const widths = [12, 26, 8, 8, 10, 8, 9, 8, 6];
  out(header.map((h, i) => h.padEnd(widths[i])).join(" "));
  for (const r of rows) out(formatRow(r).map((v, i) => v.padEnd(widths[i])).join(" "));
}
