// Command-line overrides `path.to.key=value` (value parsed as YAML: scalars, [lists], {maps}) applied to a plain recipe object.
import { parse as parseYaml } from "yaml";
import { RecipeError } from "./recipe-error.js";
import { exclusiveRecipeKeys, type ExclusiveKeys } from "./schema.js";

export interface Override {
  /** The override as given, for error messages: "optimizer.lr=0.1". */
  text: string;
  path: string[];
  value: unknown;
}

/** Splits and parses "a.b.0=value" overrides, failing with the offending text quoted. */
export function parseOverrides(overrides: readonly string[]): Override[] {
  return overrides.map((text) => {
    const equals = text.indexOf("=");
    const path = equals > 0 ? text.slice(0, equals).trim().split(".") : [];
    if (equals <= 0 || path.some((segment) => segment === "")) {
      throw overrideError(text, `expected path.to.key=value, e.g. optimizer.lr=0.05 or model.widths=[300,100]`);
    }
    let value: unknown;
    try {
      value = parseYaml(text.slice(equals + 1));
    } catch (error) {
      throw overrideError(text, `the value is not valid YAML (${(error as Error).message.split("\n")[0]})`);
    }
    return { text, path, value };
  });
}

/**
 * Returns a copy of `recipe` with each override applied in order, creating missing sections.
 * A numeric segment indexes a list; anywhere else it is a map key (e.g. model.sparse.0.density).
 * A null value (`key=null`, `key=~` or `key=`) removes the key (a list item), so its default applies;
 * no field takes null. Setting one key of an `exclusive` group removes the group's other keys, so
 * `train.steps=2` turns an epoch recipe into a step run (the last override of a group wins).
 */
export function applyOverrides(
  recipe: unknown,
  overrides: readonly (string | Override)[],
  exclusive: readonly ExclusiveKeys[] = exclusiveRecipeKeys,
): unknown {
  const parsed = overrides.map((o) => (typeof o === "string" ? parseOverrides([o])[0] : o));
  const root: unknown = structuredClone(recipe ?? {});
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    throw new RecipeError([{ where: "--set", path: "", message: `the recipe is ${JSON.stringify(root)}, not a mapping of sections that overrides could change` }]);
  }
  for (const { text, path, value } of parsed) {
    const key = path[path.length - 1];
    if (value === null) {
      const section = parentOf(root as Record<string, unknown>, path, text, false);
      if (section !== undefined) removeChild(section, key, text);
    } else {
      const section = parentOf(root as Record<string, unknown>, path, text, true)!;
      removeExclusiveSiblings(section, path, exclusive);
      writeChild(section, key, value, text);
    }
  }
  return root;
}

/** The section holding `path`'s last key; missing sections are created, or (`create` false) end the walk with undefined. */
function parentOf(root: Record<string, unknown>, path: readonly string[], text: string, create: boolean): Record<string, unknown> | unknown[] | undefined {
  let container: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    let next = readChild(container, path[i]);
    if (next === undefined || next === null) {
      if (!create) return undefined;
      next = {};
      writeChild(container, path[i], next, text);
    } else if (typeof next !== "object") {
      throw overrideError(text, `${path.slice(0, i + 1).join(".")} is ${JSON.stringify(next)}, not a section that can hold ${path[i + 1]}`);
    }
    container = next as Record<string, unknown> | unknown[];
  }
  return container;
}

/** Deletes the keys that may not stand beside `path`'s last key, from the section that holds it. */
function removeExclusiveSiblings(section: Record<string, unknown> | unknown[], path: readonly string[], exclusive: readonly ExclusiveKeys[]): void {
  if (Array.isArray(section)) return;
  const sectionPath = path.slice(0, -1).join(".");
  const key = path[path.length - 1];
  for (const group of exclusive) {
    if (group.section !== sectionPath || !group.keys.includes(key)) continue;
    if (group.when !== undefined && !Object.entries(group.when).every(([k, v]) => section[k] === v)) continue;
    for (const other of group.keys) if (other !== key) delete section[other];
  }
}

function removeChild(container: Record<string, unknown> | unknown[], segment: string, text: string): void {
  if (!Array.isArray(container)) {
    delete container[segment];
    return;
  }
  const index = Number(segment);
  if (!Number.isInteger(index) || index < 0) throw overrideError(text, `"${segment}" is not an index of a list of ${container.length} items`);
  if (index < container.length) container.splice(index, 1);
}

function readChild(container: Record<string, unknown> | unknown[], segment: string): unknown {
  return Array.isArray(container) ? container[Number(segment)] : container[segment];
}

function writeChild(container: Record<string, unknown> | unknown[], segment: string, value: unknown, text: string): void {
  if (!Array.isArray(container)) {
    container[segment] = value;
    return;
  }
  const index = Number(segment);
  if (!Number.isInteger(index) || index < 0 || index > container.length) {
    throw overrideError(text, `"${segment}" is not an index of a list of ${container.length} items (use 0 to ${container.length})`);
  }
  container[index] = value;
}

function overrideError(text: string, message: string): RecipeError {
  return new RecipeError([{ where: `--set ${text}`, path: "", message }]);
}
