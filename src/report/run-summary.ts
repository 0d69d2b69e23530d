// One line per run for the comparison: label, method, overrides, sparsity, test accuracy, seconds; and the Pareto front of accuracy against sparsity.
import { basename } from "node:path";
import type { ReportInput } from "./inputs.js";
import type { RunLog } from "./run-log.js";

export interface RunSummary {
  label: string;
  dir: string;
  method: string;
  overrides: string[];
  /** 1 − non-zero / total over all parameters, biases included (as `train --json` and `info` count). */
  sparsity?: number;
  /** 1 − non-zero / total over the Linear and Conv2d weights: what "98% sparse" means in the papers; the comparison's x axis. */
  weightSparsity?: number;
  testAccuracy?: number;
  testLoss?: number;
  /** Whole run (v2 final line), else the sum of the epochs' training seconds. */
  seconds?: number;
  run: RunLog;
}

/** Summaries in input order; labels are the runs' names, made unique with their folder when two runs share one. */
export function summarizeRuns(runs: RunLog[], inputs: ReportInput[]): RunSummary[] {
  const names = runs.map((r) => r.start?.name ?? basename(r.dir));
  const clash = (name: string) => names.filter((n) => n === name).length > 1;
  return runs.map((run, i) => {
    let label = names[i];
    if (clash(label)) label = inputs[i].sweep !== undefined ? inputs[i].overrides.join(" ") || basename(run.dir) : run.dir;
    const lastEpoch = run.epochs.at(-1);
    const checkpointSparsity = run.checkpoint ? 1 - run.checkpoint.paramsNonzero / run.checkpoint.paramsTotal : undefined;
    const epochSeconds = run.epochs.reduce((sum, e) => sum + (e.seconds ?? 0), 0);
    return {
      label, dir: run.dir, run,
      method: methodOf(run),
      overrides: inputs[i].overrides,
      sparsity: run.final?.sparsity ?? checkpointSparsity ?? lastEpoch?.sparsity,
      weightSparsity: weightSparsityOf(run),
      testAccuracy: run.final?.test_accuracy,
      testLoss: run.final?.test_loss,
      seconds: run.final?.seconds ?? (run.epochs.length > 0 ? epochSeconds : undefined),
    };
  });
}

/** Weight sparsity of the final model: from the final line's layers (v2), else the checkpoint's weight rows. */
function weightSparsityOf(run: RunLog): number | undefined {
  const layers = run.final?.layers ?? run.checkpoint?.layers.filter((l) => l.name.endsWith(".weight") && (l.kind === "Linear" || l.kind === "Conv2d"));
  if (layers === undefined || layers.length === 0) return run.epochs.at(-1)?.sparsity;
  let total = 0, nonzero = 0;
  for (const l of layers) {
    if (l.shape === undefined || l.nonzero === undefined) return undefined;
    total += l.shape.reduce((a, b) => a * b, 1);
    nonzero += l.nonzero;
  }
  return total === 0 ? undefined : 1 - nonzero / total;
}

/** The sparsity method: from the start line (v2), else the final checkpoint's recipe; "dense" when neither names one. */
function methodOf(run: RunLog): string {
  if (run.start && "method" in run.start) return run.start.method ?? "dense";
  const recipe = run.start?.recipe as { sparsity?: { method?: unknown } } | undefined;
  if (typeof recipe?.sparsity?.method === "string") return recipe.sparsity.method;
  return run.checkpoint?.method ?? "dense";
}

export interface FrontPoint {
  sparsity: number;
  accuracy: number;
}

/**
 * The non-dominated points (no other point has at least the sparsity and at least the accuracy,
 * one of them strictly more), in increasing sparsity: accuracy falls along the front.
 */
export function paretoFront(points: FrontPoint[]): FrontPoint[] {
  const sorted = [...points].sort((a, b) => b.sparsity - a.sparsity || b.accuracy - a.accuracy);
  const front: FrontPoint[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.accuracy > best) {
      front.push(p);
      best = p.accuracy;
    }
  }
  return front.reverse();
}
