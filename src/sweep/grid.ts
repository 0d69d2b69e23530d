// Parses `--grid key=v1,v2,...` flags and expands them to the Cartesian product of overrides, one per run.
import { parseOverrides } from "../recipe/overrides.js";
import { RecipeError } from "../recipe/recipe-error.js";

/** One value of a grid axis: as written (for run names and `--set`) and as YAML parsed it. */
export interface GridValue {
  text: string;
  value: unknown;
}

/** One `--grid` flag: the recipe path it varies and its values, in the order given. */
export interface GridAxis {
  key: string;
  path: string[];
  values: GridValue[];
}

/** One combination of grid values: `overrides` are `key=value` texts for `train --set`. */
export interface Combination {
  overrides: string[];
  /** The axis labels and value texts, for the run's folder name. */
  parts: { label: string; text: string }[];
}

/**
 * Parses one `--grid` flag. Values are separated by commas outside brackets, braces and quotes,
 * so a list value keeps its commas: `model.widths=[300,100],[100,30]` has two values. Each value
 * is parsed as YAML, exactly as `--set key=value` parses it.
 */
export function parseGridFlag(flag: string): GridAxis {
  const equals = flag.indexOf("=");
  const key = equals > 0 ? flag.slice(0, equals).trim() : "";
  if (key === "" || key.split(".").some((segment) => segment === "")) {
    throw gridError(flag, "expected key=value1,value2,..., e.g. --grid sparsity.density=0.02,0.05 or --grid model.widths=[300,100],[100,30]");
  }
  const texts = splitTopLevel(flag.slice(equals + 1)).map((text) => text.trim());
  if (texts.length === 1 && texts[0] === "") throw gridError(flag, "no values: expected at least one value after '='");
  const values: GridValue[] = texts.map((text, i) => {
    if (text === "") throw gridError(flag, `value ${i + 1} is empty; write null to mean the recipe's default`);
    try {
      return { text, value: parseOverrides([`${key}=${text}`])[0].value };
    } catch (error) {
      const reason = error instanceof RecipeError ? error.issues[0].message : (error as Error).message;
      throw gridError(flag, `value ${JSON.stringify(text)}: ${reason}`);
    }
  });
  values.forEach((a, i) => {
    const earlier = values.findIndex((b) => JSON.stringify(b.value) === JSON.stringify(a.value));
    if (earlier < i) throw gridError(flag, `value ${JSON.stringify(a.text)} repeats ${JSON.stringify(values[earlier].text)}: each value must differ`);
  });
  return { key, path: key.split("."), values };
}

/**
 * Checks that no recipe field is set twice: by two `--grid` flags, or by `--grid` and `--set`
 * (one path equal to or inside the other), since the later one would silently win.
 */
export function checkDistinctKeys(axes: readonly GridAxis[], setOverrides: readonly string[]): void {
  const setPaths = parseOverrides(setOverrides);
  axes.forEach((axis, i) => {
    for (const other of axes.slice(0, i)) {
      if (overlaps(axis.path, other.path)) throw new Error(`--grid ${axis.key}: ${other.key} is already varied by another --grid; give each key one --grid with all its values`);
    }
    for (const set of setPaths) {
      if (overlaps(axis.path, set.path)) throw new Error(`--grid ${axis.key}: --set ${set.text} sets the same field; a key is either fixed (--set) or varied (--grid), not both`);
    }
  });
}

/**
 * Every combination of the axes' values, the first axis varying slowest (like nested loops in
 * the order the flags were given). Labels are the keys' last segments unless two axes share one.
 */
export function gridCombinations(axes: readonly GridAxis[]): Combination[] {
  const last = axes.map((a) => a.path[a.path.length - 1]);
  const labels = axes.map((a, i) => (last.filter((l) => l === last[i]).length > 1 ? a.key : last[i]));
  let combinations: Combination[] = [{ overrides: [], parts: [] }];
  axes.forEach((axis, i) => {
    combinations = combinations.flatMap((c) => axis.values.map((v) => ({
      overrides: [...c.overrides, `${axis.key}=${v.text}`],
      parts: [...c.parts, { label: labels[i], text: v.text }],
    })));
  });
  return combinations;
}

/** Splits at commas that are outside [], {} and quotes (YAML flow collections and quoted strings). */
export function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0, quote: string | null = null, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") depth++;
    else if ((c === "]" || c === "}") && depth > 0) depth--;
    else if (c === "," && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items;
}

function overlaps(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n).every((segment, i) => segment === b[i]);
}

function gridError(flag: string, message: string): Error {
  return new Error(`--grid ${flag}: ${message}`);
}
