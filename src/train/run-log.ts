// The run folder's append-only logs (docs/run-log-format.md): metrics.jsonl (start, epoch, update, final lines) and masks.jsonl (mask snapshots), trimmed to a checkpoint on resume.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../io/atomic-write.js";
import type { EpochSummary } from "./hooks.js";
import type { LayerStats } from "../nn/layer-stats.js";
import type { MaskSnapshot } from "./mask-snapshot.js";

export const RUN_LOG_VERSION = 2;

/** One structure change of a sparsity method: a dynamic drop-and-grow update or a pruning step. */
export interface StructureUpdate {
  /** The optimizer step the change belongs to: dynamic updates follow it, pruning happens within it (before its forward pass or after its backward pass). */
  step: number;
  /** The 1-based epoch the step falls in. */
  epoch: number;
  method: string;
  /** Dynamic methods: the drop fraction of this update (after decay). */
  dropFraction?: number;
  /** Pruning: the sparsity the pruned weights reached. */
  sparsity?: number;
  layers: { name: string; dropped: number; grown: number; nnz: number; density: number }[];
}

export interface StartLine {
  name: string;
  step: number;
  resumed?: string;
  method: string | null;
  dataset: string;
  inputShape: number[];
  classes: number;
  trainExamples: number;
  stepsPerEpoch: number;
  totalSteps: number;
  epochs: number;
  threads: number;
  recipe: unknown;
  layers: LayerStats[];
}

export interface FinalLine {
  step: number;
  test_accuracy: number;
  test_loss: number;
  confusion: number[][];
  params_total: number;
  params_nonzero: number;
  sparsity: number;
  seconds: number;
  layers: LayerStats[];
}

interface LoggedLine {
  kind?: unknown;
  step?: unknown;
  final?: unknown;
  phase?: unknown;
}

/**
 * Keeps the complete lines of `path` that `keep` accepts (a line torn by a kill does not parse and
 * goes). Rewritten atomically: a kill now leaves the old log or the new one.
 */
function keepLines(path: string, keep: (line: LoggedLine) => boolean): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, "utf8").split("\n").filter((line) => {
    try {
      const entry = JSON.parse(line) as LoggedLine;
      return entry !== null && typeof entry === "object" && keep(entry);
    } catch {
      return false;
    }
  });
  atomicWrite(path, kept.map((line) => `${line}\n`).join(""));
}

const coveredBy = (step: number) => (entry: LoggedLine) => typeof entry.step === "number" && entry.step <= step;

/**
 * Before a resumed run appends, drops the metrics lines its checkpoint at `step` does not cover:
 * start, epoch and update lines after `step`, the final line and a torn line.
 */
export function keepMetricsUpTo(path: string, step: number): void {
  keepLines(path, (entry) => entry.final === undefined && entry.kind !== "final" && coveredBy(step)(entry));
}

/** The same for mask snapshots: the ones at or before `step`, never the end snapshot (the resumed run writes its own). */
export function keepMasksUpTo(path: string, step: number): void {
  keepLines(path, (entry) => entry.phase !== "end" && coveredBy(step)(entry));
}

/** Writes a run's metrics.jsonl and masks.jsonl: fresh files for a new run, trimmed ones for a run resumed at `resumedStep`. */
export class RunLog {
  readonly metricsPath: string;
  readonly masksPath: string;

  constructor(runDir: string, resumedStep: number | null) {
    this.metricsPath = join(runDir, "metrics.jsonl");
    this.masksPath = join(runDir, "masks.jsonl");
    if (resumedStep === null) {
      writeFileSync(this.metricsPath, "");
      writeFileSync(this.masksPath, "");
    } else {
      keepMetricsUpTo(this.metricsPath, resumedStep);
      keepMasksUpTo(this.masksPath, resumedStep);
    }
  }

  private metric(line: object): void {
    appendFileSync(this.metricsPath, `${JSON.stringify(line)}\n`);
  }

  start(line: StartLine): void {
    const { name, step, resumed, ...rest } = line;
    this.metric({ kind: "start", version: RUN_LOG_VERSION, name, time: new Date().toISOString(), step, ...(resumed !== undefined ? { resumed } : {}), ...rest });
  }

  /** An epoch's line: the trainer's summary, throughput, the weights' counts and the method's numbers (λ, zeros, gates). */
  epoch(summary: EpochSummary, extra: { samplesPerSecond: number; sparsity: number; layers: LayerStats[]; methodMetrics: Record<string, number> }): void {
    const { samplesPerSecond, sparsity, layers, methodMetrics } = extra;
    this.metric({ kind: "epoch", ...summary, samplesPerSecond, time: new Date().toISOString(), sparsity, ...methodMetrics, layers });
  }

  update(update: StructureUpdate): void {
    this.metric({ kind: "update", ...update });
  }

  final(line: FinalLine): void {
    const { step, test_accuracy, test_loss, confusion, ...rest } = line;
    this.metric({ kind: "final", final: true, step, test_accuracy, test_loss, confusion, ...rest });
  }

  mask(snapshot: MaskSnapshot): void {
    appendFileSync(this.masksPath, `${JSON.stringify(snapshot)}\n`);
  }
}
