// `sparsetrain bench infer`: prints file sizes and per-call latency of our runtime, onnxruntime-node and TensorFlow.js (wasm) on the same models, with ratios to onnxruntime, from one run.
import { benchInfer, type InferBenchRow } from "../bench/infer.js";

export interface BenchInferCommandOptions {
  json?: boolean;
  rounds?: string;
  quick?: boolean;
}

function formatRow(r: InferBenchRow): string[] {
  const density = r.density === 1 ? "dense" : `${+(100 * r.density).toFixed(1)}%`;
  return [r.model, density, r.dtype, String(r.batch), r.engine, r.us.toFixed(1), String(r.bytes), String(r.bytes_gzip), r.vs_onnxruntime === undefined ? "" : `${r.vs_onnxruntime.toFixed(2)}×`, r.config];
}

export async function benchInferCommand(options: BenchInferCommandOptions): Promise<void> {
  const out = (line: string) => process.stdout.write(line + "\n");
  let rounds: number | undefined;
  if (options.rounds !== undefined) {
    rounds = Number(options.rounds);
    if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`bench infer: --rounds must be a positive integer, got "${options.rounds}"`);
  }
  const note = (line: string) => (options.json ? process.stderr.write(`${line}\n`) : out(`  ${line}`));
  const header = ["model", "density", "dtype", "batch", "engine", "µs", "bytes", "gzipped", "vs ort", "config"];
  const widths = [14, 8, 8, 6, 12, 10, 9, 9, 8, 0];
  if (!options.json) {
    out("models built with seeded random weights and random sparse structure (latency depends on shapes and stored weights, not on training);");
    out("µs per predict call (raw inputs in, logits out), the fastest of interleaved rounds; onnxruntime: its fastest configuration (graph optimization all, sequential), vs ort = its µs / the row's");
    out(header.map((h, i) => h.padEnd(widths[i])).join(" "));
  }
  await benchInfer({
    rounds,
    sampleMs: options.quick ? 2 : undefined,
    onNote: note,
    onRow: (row) => out(options.json ? JSON.stringify(row) : formatRow(row).map((v, i) => v.padEnd(widths[i])).join(" ").trimEnd()),
  });
}
