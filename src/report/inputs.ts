// The run folders a report covers: each argument is a run folder, or a sweep folder (with sweep.json) standing for its finished runs.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export interface ReportInput {
  /** The run folder. */
  dir: string;
  /** The `--set` overrides a sweep gave this run (empty for a run given directly). */
  overrides: string[];
  /** The sweep folder it came from, if any. */
  sweep?: string;
}

export interface ExpandedInputs {
  runs: ReportInput[];
  warnings: string[];
}

/** Expands sweep folders into their `done` runs (pending and failed ones are named in a warning). */
export function expandInputs(inputs: string[]): ExpandedInputs {
  if (inputs.length === 0) throw new Error("report: give at least one run folder (or a sweep folder)");
  const runs: ReportInput[] = [];
  const warnings: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new Error(`${input}: no such folder (expected a run folder written by sparsetrain train, or a sweep folder)`);
    const sweepPath = join(input, "sweep.json");
    if (!statSync(input).isDirectory() || !existsSync(sweepPath)) {
      runs.push({ dir: input, overrides: [] });
      continue;
    }
    const sweep = readSweep(sweepPath);
    const skipped = sweep.runs.filter((r) => r.status !== "done");
    if (skipped.length > 0) warnings.push(`${sweepPath}: ${skipped.length} run(s) not finished (${skipped.map((r) => `${r.dir}: ${r.status}`).join(", ")}); the report shows the ${sweep.runs.length - skipped.length} done`);
    for (const r of sweep.runs) if (r.status === "done") runs.push({ dir: join(input, r.dir), overrides: r.overrides, sweep: input });
  }
  // A folder given twice (directly and through a sweep) is reported once.
  const seen = new Set<string>();
  return { runs: runs.filter((r) => !seen.has(resolve(r.dir)) && seen.add(resolve(r.dir)) !== undefined), warnings };
}

interface SweepFile {
  runs: { dir: string; overrides: string[]; status: string }[];
}

function readSweep(path: string): SweepFile {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message}); expected the file sparsetrain sweep writes`);
  }
  const runs = (value as { runs?: unknown } | null)?.runs;
  if (!Array.isArray(runs)) throw new Error(`${path}: "runs" must be an array of {dir, overrides, status}`);
  return {
    runs: runs.map((r, i) => {
      const run = r as { dir?: unknown; overrides?: unknown; status?: unknown } | null;
      if (typeof run?.dir !== "string" || run.dir === "") throw new Error(`${path}: runs[${i}].dir must be a folder name (a string)`);
      if (run.overrides !== undefined && !(Array.isArray(run.overrides) && run.overrides.every((o) => typeof o === "string"))) throw new Error(`${path}: runs[${i}].overrides must be an array of strings`);
      if (typeof run.status !== "string") throw new Error(`${path}: runs[${i}].status must be "done", "failed" or "pending"`);
      return { dir: run.dir, overrides: (run.overrides as string[] | undefined) ?? [], status: run.status };
    }),
  };
}
