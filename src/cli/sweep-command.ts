// `sparsetrain sweep <recipe> --grid key=v1,v2 ...`: trains every combination, prints progress, a line per run with --json, and a table.
import { join } from "node:path";
import { readReference, writeReport } from "../report/index.js";
import { runSweep, type SweepRunEvent } from "../sweep/run-sweep.js";

export interface SweepCommandOptions {
  grid: string[];
  set: string[];
  out?: string;
  parallel: string;
  json?: boolean;
  reference?: string;
  /** false with --no-report. */
  report?: boolean;
}

export async function sweepCommand(recipePath: string, options: SweepCommandOptions): Promise<void> {
  const parallel = /^\s*\d+\s*$/.test(options.parallel) ? Number(options.parallel) : NaN;
  if (!(parallel >= 1)) throw new RangeError(`--parallel must be a positive integer (runs at a time), got "${options.parallel}"`);

  // A bad reference file is reported before any run starts, not after an hour of training.
  if (options.reference !== undefined) readReference(options.reference);

  // Ctrl-C or a kill ends the running trainings too; they stay pending, and a rerun starts them over.
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const result = await runSweep(recipePath, {
    grid: options.grid,
    set: options.set,
    out: options.out,
    parallel,
    signal: stop.signal,
    onPlan: (plan, finished) => {
      const earlier = finished > 0 ? ` (${finished} finished earlier, skipped)` : "";
      process.stderr.write(`sweep: ${plan.runs.length} runs of ${plan.recipe} in ${plan.out}${earlier}, ${parallel} at a time\n`);
    },
    onRun: (event) => {
      process.stderr.write(`${progressLine(event)}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(jsonLine(event))}\n`);
    },
    // The comparison report: test accuracy against sparsity per method, Pareto front, table of runs.
    afterRuns: options.report === false ? undefined : async (sweepDir) => {
      await writeReport([sweepDir], { out: join(sweepDir, "report.html"), reference: options.reference, log: (line) => process.stderr.write(`${line}\n`) });
    },
  });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);

  const table = resultTable(result.runs);
  (options.json ? process.stderr : process.stdout).write(`${table}\n`);
  process.stderr.write(`sweep: ${result.sweepFile}\n`);
  if (result.interrupted > 0 && stop.signal.aborted) {
    process.stderr.write(`sparsetrain: sweep stopped; ${result.interrupted} run(s) not finished; rerun the same command to finish them\n`);
    process.exit(stoppedBy === "SIGTERM" ? 143 : 130);
  }
  if (result.failed > 0) {
    const logs = result.runs.filter((r) => r.status === "failed").map((r) => r.log);
    throw new Error(`${result.failed} of ${result.runs.length} runs failed; logs: ${logs.join(", ")}`);
  }
}

const percent = (x: unknown) => (typeof x === "number" ? `${(100 * x).toFixed(2)}%` : "-");

function progressLine(event: SweepRunEvent): string {
  const head = `[${event.index}/${event.total}] ${event.name}:`;
  if (event.status === "failed") return `${head} failed (${event.error}); log ${event.log}`;
  const seconds = Number(event.summary?.seconds ?? event.seconds);
  const test = `test ${percent(event.summary?.test_accuracy)}`;
  return event.skipped ? `${head} skipped (finished earlier), ${test}` : `${head} done, ${test}, ${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
}

function jsonLine(event: SweepRunEvent): Record<string, unknown> {
  return {
    run: event.name, dir: event.dir, overrides: event.overrides, status: event.status, skipped: event.skipped,
    test_accuracy: event.summary?.test_accuracy ?? null, sparsity: event.summary?.sparsity ?? null,
    seconds: event.summary?.seconds ?? (event.skipped ? null : event.seconds),
    ...(event.status === "failed" ? { log: event.log, error: event.error } : {}),
  };
}

/** One row per run in grid order: name, status, test accuracy, sparsity, seconds. */
function resultTable(runs: readonly SweepRunEvent[]): string {
  const rows = [["run", "status", "test acc", "sparsity", "seconds"], ...runs.map((r) => [
    r.name, r.skipped ? "done (earlier)" : r.status, percent(r.summary?.test_accuracy), percent(r.summary?.sparsity),
    typeof r.summary?.seconds === "number" ? r.summary.seconds.toFixed(1) : "-",
  ])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")).join("\n");
}
