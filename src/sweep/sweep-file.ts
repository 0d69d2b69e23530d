// `sweep.json`: what a sweep runs and how far it got; read on a rerun to skip finished runs, by `report` to find them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../io/atomic-write.js";

export const SWEEP_FILE = "sweep.json";

export type SweepRunStatus = "done" | "failed" | "pending";

/** One run of the sweep; `dir` is relative to the sweep folder, `overrides` are the grid's `key=value`s. */
export interface SweepRunEntry {
  dir: string;
  overrides: string[];
  status: SweepRunStatus;
  /** The `train --json` summary line of a done run. */
  summary?: Record<string, unknown>;
  /** A failed run: its log (relative to the sweep folder) and why it failed. */
  log?: string;
  error?: string;
}

/** The whole file; field names are a contract with `sparsetrain report` (README, "Sweeps"). */
export interface SweepFile {
  version: 1;
  recipe: string;
  /** SHA-256 of the recipe as YAML parsed it (comments and layout do not count) and the --set list. */
  recipeHash: string;
  grid: { key: string; values: unknown[] }[];
  set: string[];
  runs: SweepRunEntry[];
}

/**
 * The sweep file in `folder`, or null when there is none; a file that is not one (or a run entry
 * without its dir, overrides or status) is an error naming it and ending with `advice`.
 */
export function readSweepFile(folder: string, advice = "remove it or choose another --out"): SweepFile | null {
  const path = join(folder, SWEEP_FILE);
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: not a sweep file (${(error as Error).message}); ${advice}`);
  }
  const file = parsed as Partial<SweepFile>;
  if (file?.version !== 1 || !Array.isArray(file.runs) || !Array.isArray(file.set) || typeof file.recipeHash !== "string") {
    throw new Error(`${path}: not a version-1 sweep file (expected version, recipe, recipeHash, grid, set, runs); ${advice}`);
  }
  file.runs.forEach((run: Partial<SweepRunEntry> | null, i) => {
    if (typeof run?.dir !== "string" || run.dir === "") throw new Error(`${path}: runs[${i}].dir must be a folder name (a string); ${advice}`);
    if (!(Array.isArray(run.overrides) && run.overrides.every((o) => typeof o === "string"))) throw new Error(`${path}: runs[${i}].overrides must be an array of strings; ${advice}`);
    if (run.status !== "done" && run.status !== "failed" && run.status !== "pending") throw new Error(`${path}: runs[${i}].status must be "done", "failed" or "pending"; ${advice}`);
  });
  return file as SweepFile;
}

/** Rewrites the sweep file atomically: a reader (or a kill) sees the previous state or the new one. */
export function writeSweepFile(folder: string, file: SweepFile): void {
  atomicWrite(join(folder, SWEEP_FILE), `${JSON.stringify(file, null, 2)}\n`);
}

/**
 * Refuses to reuse a sweep folder for a different sweep: another recipe or --set, a run folder
 * that would hold other overrides, or earlier runs the new grid leaves out. Adding values (new runs)
 * is allowed, so a sweep can be extended; the message says what differs.
 */
export function checkSameSweep(folder: string, earlier: SweepFile, planned: Pick<SweepFile, "recipe" | "recipeHash" | "set" | "runs">): void {
  const where = join(folder, SWEEP_FILE);
  const advice = "choose another --out, or remove the folder to start over";
  if (JSON.stringify(earlier.set) !== JSON.stringify(planned.set)) {
    throw new Error(`${where}: this folder holds a sweep with --set ${JSON.stringify(earlier.set)}, not ${JSON.stringify(planned.set)}; ${advice}`);
  }
  if (earlier.recipeHash !== planned.recipeHash) {
    throw new Error(`${where}: this folder holds a sweep of recipe ${earlier.recipe} as it was then; ${planned.recipe} differs from it; ${advice}`);
  }
  const plannedByDir = new Map(planned.runs.map((r) => [r.dir, r.overrides.join(" ")]));
  for (const run of earlier.runs) {
    const now = plannedByDir.get(run.dir);
    if (now === undefined) {
      throw new Error(`${where}: the earlier run ${run.dir} (${run.overrides.join(" ")}) is not in this grid; give every earlier --grid value again (new values may be added), or ${advice}`);
    }
    if (now !== run.overrides.join(" ")) {
      throw new Error(`${where}: run folder ${run.dir} holds ${run.overrides.join(" ")}, this grid would put ${now} there; ${advice}`);
    }
  }
}
