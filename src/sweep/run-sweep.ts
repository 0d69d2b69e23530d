// Runs a planned sweep: one `sparsetrain train` child process per unfinished combination, n at a time, recording each in sweep.json.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { finalMetrics, summaryFromFinalMetrics } from "./finished-run.js";
import { planSweep, type SweepPlan } from "./plan.js";
import { writeSweepFile, type SweepFile, type SweepRunEntry } from "./sweep-file.js";

export interface RunSweepOptions {
  /** `--grid key=v1,v2,...` flags, one per varied key. */
  grid: string[];
  /** `--set key=value` overrides applied to every run. */
  set?: string[];
  /** The sweep folder (default `runs/sweep-<recipe name>`). */
  out?: string;
  /** Runs at a time (default 1); each keeps the recipe's own `train.threads`. */
  parallel?: number;
  /** Called once the plan is checked, before any run starts. */
  onPlan?: (plan: SweepPlan, finished: number) => void;
  /** Called as each run ends (or is found finished by an earlier sweep). */
  onRun?: (event: SweepRunEvent) => void;
  /**
   * Called with the sweep folder after the runs, when at least one is done (e.g. to write the
   * comparison report); failed runs are recorded first, so it sees the final sweep.json.
   */
  afterRuns?: (sweepDir: string, result: SweepResult) => void | Promise<void>;
  /** Stops starting runs and ends the running ones (SIGTERM); they stay pending for a rerun. */
  signal?: AbortSignal;
  /** The CLI script the child processes run (default: this package's `cli/main.js`). */
  cliPath?: string;
}

export interface SweepRunEvent {
  /** 1-based position in the grid's order. */
  index: number;
  total: number;
  name: string;
  /** The run folder. */
  dir: string;
  overrides: string[];
  status: "done" | "failed";
  /** Finished by an earlier sweep into the same folder: not run again. */
  skipped: boolean;
  summary?: Record<string, unknown>;
  /** Wall-clock seconds of the child process (0 when skipped). */
  seconds: number;
  /** The child's stdout and stderr. */
  log: string;
  error?: string;
}

export interface SweepResult {
  out: string;
  sweepFile: string;
  runs: SweepRunEvent[];
  failed: number;
  /** Runs not finished because the signal stopped the sweep. */
  interrupted: number;
}

const defaultCli = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** Runs every combination of the grid not finished yet; throws (nothing run) when any combination is invalid. */
export async function runSweep(recipe: string, options: RunSweepOptions): Promise<SweepResult> {
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new RangeError(`--parallel must be a positive integer, got ${parallel}`);
  const plan = planSweep(recipe, options.grid, options.set ?? [], options.out);
  const earlierByDir = new Map((plan.earlier?.runs ?? []).map((r) => [r.dir, r]));

  const file: SweepFile = {
    version: 1,
    recipe: plan.recipe,
    recipeHash: plan.recipeHash,
    grid: plan.axes.map((a) => ({ key: a.key, values: a.values.map((v) => v.value) })),
    set: plan.set,
    runs: plan.runs.map((run): SweepRunEntry => {
      const final = finalMetrics(join(plan.out, run.name));
      if (final === null) return { dir: run.name, overrides: run.overrides, status: "pending" };
      const earlier = earlierByDir.get(run.name);
      const summary = earlier?.status === "done" && earlier.summary !== undefined ? earlier.summary : summaryFromFinalMetrics(join(plan.out, run.name), final);
      return { dir: run.name, overrides: run.overrides, status: "done", summary };
    }),
  };
  mkdirSync(plan.out, { recursive: true });
  writeSweepFile(plan.out, file);

  const total = plan.runs.length;
  const events: SweepRunEvent[] = [];
  const report = (event: SweepRunEvent) => {
    events.push(event);
    options.onRun?.(event);
  };
  const eventOf = (i: number, skipped: boolean, seconds: number): SweepRunEvent => {
    const entry = file.runs[i];
    return {
      index: i + 1, total, name: entry.dir, dir: join(plan.out, entry.dir), overrides: entry.overrides,
      status: entry.status === "done" ? "done" : "failed", skipped, summary: entry.summary, seconds,
      log: join(plan.out, entry.dir, "train.log"), error: entry.error,
    };
  };
  const toRun = file.runs.flatMap((entry, i) => (entry.status === "done" ? [] : [i]));
  options.onPlan?.(plan, total - toRun.length);
  file.runs.forEach((entry, i) => {
    if (entry.status === "done") report(eventOf(i, true, 0));
  });

  const cli = options.cliPath ?? defaultCli;
  const queue = [...toRun];
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined && !options.signal?.aborted; i = queue.shift()) {
      const entry = file.runs[i];
      const dir = join(plan.out, entry.dir);
      // An unfinished folder (a killed run) starts over from nothing: no stale epoch checkpoints or logs.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const args = ["train", plan.recipe, ...[...plan.set, ...entry.overrides].flatMap((o) => ["--set", o]), "--run-dir", dir, "--json", "--quiet"];
      const started = performance.now();
      const outcome = await runChild(process.execPath, [cli, ...args], join(dir, "train.log"), options.signal);
      const seconds = (performance.now() - started) / 1000;
      if (outcome.interrupted) continue;
      const summary = outcome.code === 0 ? lastJsonLine(outcome.stdout) : null;
      if (summary !== null && finalMetrics(dir) !== null) {
        file.runs[i] = { dir: entry.dir, overrides: entry.overrides, status: "done", summary };
      } else {
        const why = outcome.code !== 0 ? `exit code ${outcome.code ?? outcome.signal}${outcome.lastError ? `: ${outcome.lastError}` : ""}` : "the run ended without a summary line and final metrics";
        file.runs[i] = { dir: entry.dir, overrides: entry.overrides, status: "failed", log: relative(plan.out, join(dir, "train.log")), error: why };
      }
      writeSweepFile(plan.out, file);
      report(eventOf(i, false, seconds));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.max(toRun.length, 1)) }, worker));

  const done = file.runs.filter((r) => r.status === "done").length;
  const failed = file.runs.filter((r) => r.status === "failed").length;
  const ordered = [...events].sort((a, b) => a.index - b.index);
  const result: SweepResult = { out: plan.out, sweepFile: join(plan.out, "sweep.json"), runs: ordered, failed, interrupted: total - done - failed };
  if (done > 0 && !options.signal?.aborted) await options.afterRuns?.(plan.out, result);
  return result;
}

interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The child's last stderr line (the CLI prints its error there). */
  lastError: string;
  interrupted: boolean;
}

/** Runs one child, copying its stdout and stderr into `logPath`; an abort sends it SIGTERM. */
function runChild(command: string, args: string[], logPath: string, signal?: AbortSignal): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logPath);
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      log.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      log.write(chunk);
    });
    const abort = () => child.kill("SIGTERM");
    signal?.addEventListener("abort", abort, { once: true });
    child.on("error", (error) => {
      signal?.removeEventListener("abort", abort);
      log.end();
      reject(new Error(`could not start ${command} ${args[0]} (${error.message})`));
    });
    child.on("close", (code, killedBy) => {
      signal?.removeEventListener("abort", abort);
      const lastError = stderr.trim().split("\n").at(-1)?.replace(/^sparsetrain: /, "") ?? "";
      log.end(() => resolve({ code, signal: killedBy, stdout, lastError, interrupted: signal?.aborted === true }));
    });
  });
}

/** The last stdout line parsed as a JSON object (the `train --json` summary), or null. */
function lastJsonLine(stdout: string): Record<string, unknown> | null {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
