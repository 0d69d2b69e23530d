// The run folders a report covers: each argument is a run folder, or a sweep folder (with sweep.json) standing for its finished runs.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { readSweepFile, SWEEP_FILE } from "../sweep/sweep-file.js";

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
    const sweep = statSync(input).isDirectory() ? readSweepFile(input, "expected the file sparsetrain sweep writes") : null;
    if (sweep === null) {
      runs.push({ dir: input, overrides: [] });
      continue;
    }
    const sweepPath = join(input, SWEEP_FILE);
    const skipped = sweep.runs.filter((r) => r.status !== "done");
    if (skipped.length > 0) warnings.push(`${sweepPath}: ${skipped.length} run(s) not finished (${skipped.map((r) => `${r.dir}: ${r.status}`).join(", ")}); the report shows the ${sweep.runs.length - skipped.length} done`);
    for (const r of sweep.runs) if (r.status === "done") runs.push({ dir: join(input, r.dir), overrides: r.overrides, sweep: input });
  }
  // A folder given twice (directly and through a sweep) is reported once.
  const seen = new Set<string>();
  return { runs: runs.filter((r) => !seen.has(resolve(r.dir)) && seen.add(resolve(r.dir)) !== undefined), warnings };
}
