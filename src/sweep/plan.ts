// Plans a sweep before anything runs: parses the grid, validates every combination as `train --set` would, names the run folders.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { loadRecipe } from "../recipe/load.js";
import { RecipeError } from "../recipe/recipe-error.js";
import { checkDistinctKeys, gridCombinations, parseGridFlag, type GridAxis } from "./grid.js";
import { runNames } from "./run-names.js";
import { checkSameSweep, readSweepFile, SWEEP_FILE, type SweepFile } from "./sweep-file.js";

export interface SweepPlan {
  recipe: string;
  /** The sweep folder. */
  out: string;
  axes: GridAxis[];
  set: string[];
  recipeHash: string;
  runs: { name: string; overrides: string[] }[];
  /** The sweep file a previous sweep into `out` left, if any (checked to be the same sweep). */
  earlier: SweepFile | null;
}

/**
 * Everything a sweep needs, checked: every combination of the grid loads as a valid recipe (the
 * `train --set` path, so errors read the same, with `--grid key=value` naming the grid's values);
 * `out` is empty, absent, or holds this sweep. Throws before any file is written.
 */
export function planSweep(recipe: string, gridFlags: readonly string[], set: readonly string[] = [], out?: string): SweepPlan {
  if (gridFlags.length === 0) throw new Error("sweep: expected at least one --grid key=value1,value2,...");
  const axes = gridFlags.map(parseGridFlag);
  checkDistinctKeys(axes, set);
  const combinations = gridCombinations(axes);

  const problems = new Set<string>();
  let recipeName: string | undefined;
  for (const combination of combinations) {
    try {
      const name = loadRecipe(recipe, [...set, ...combination.overrides]).name;
      recipeName ??= name;
    } catch (error) {
      if (!(error instanceof RecipeError)) throw error;
      for (const issue of error.issues) {
        // The grid's own values are named as --grid flags; --set and file problems stay as train prints them.
        const text = issue.where.startsWith("--set ") ? issue.where.slice("--set ".length) : null;
        const where = text !== null && combination.overrides.includes(text) ? `--grid ${text}` : issue.where;
        problems.add(`${where}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`);
      }
    }
  }
  if (problems.size > 0) throw new Error([...problems].join("\n"));

  const folder = out ?? join("runs", `sweep-${recipeName}`);
  const names = runNames(combinations);
  const plan: SweepPlan = {
    recipe, out: folder, axes, set: [...set],
    recipeHash: hashRecipe(recipe, set),
    runs: combinations.map((c, i) => ({ name: names[i], overrides: c.overrides })),
    earlier: readSweepFile(folder),
  };
  if (plan.earlier !== null) {
    checkSameSweep(folder, plan.earlier, { ...plan, runs: plan.runs.map((r) => ({ dir: r.name, overrides: r.overrides, status: "pending" })) });
  } else if (existsSync(folder) && !statSync(folder).isDirectory()) {
    throw new Error(`--out ${folder}: a file, not a folder`);
  } else if (existsSync(folder) && readdirSync(folder).length > 0) {
    throw new Error(`${folder}: the folder exists and is not a sweep (no ${SWEEP_FILE}); choose another --out or an empty folder`);
  }
  return plan;
}

/** The recipe as YAML parses it plus the --set list: a comment edit keeps the hash, a value change does not. */
function hashRecipe(recipe: string, set: readonly string[]): string {
  const parsed: unknown = parseYaml(readFileSync(recipe, "utf8"));
  return createHash("sha256").update(JSON.stringify({ recipe: parsed, set })).digest("hex");
}
