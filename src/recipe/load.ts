// Loads a YAML recipe, applies --set overrides, validates it and reports every problem with its YAML line and column.
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { applyOverrides, parseOverrides } from "./overrides.js";
import { describeIssues, formatPath, RecipeError, type PlainIssue, type RecipeIssue } from "./recipe-error.js";
import { recipeSchema, type Recipe } from "./schema.js";
import { existingDepth, positionOf } from "./yaml-positions.js";

/** Reads and validates the recipe file at `path`; throws a RecipeError listing every problem. */
export function loadRecipe(path: string, overrides: readonly string[] = []): Recipe {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new RecipeError([{ where: path, path: "", message: `cannot read recipe (${(error as Error).message})` }]);
  }
  return parseRecipe(text, path, overrides);
}

/** Parses and validates recipe text; `fileName` appears in every message and names the run by default. */
export function parseRecipe(text: string, fileName: string, overrides: readonly string[] = []): Recipe {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new RecipeError(
      document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const message = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
        return { where: `${fileName}:${line}:${col}`, path: "", message: `invalid YAML: ${message}`, line, column: col };
      }),
    );
  }

  const parsedOverrides = parseOverrides(overrides);
  let plain: unknown;
  try {
    plain = document.toJS() ?? {};
  } catch (error) {
    // Parsing succeeded but building values did not: an alias to no anchor, or an alias bomb.
    throw new RecipeError([{ where: fileName, path: "", message: `invalid YAML: ${(error as Error).message.split("\n")[0]}` }]);
  }
  const input = parsedOverrides.length > 0 ? applyOverrides(plain, parsedOverrides) : plain;

  const locate = (issue: PlainIssue): RecipeIssue => {
    const path = formatPath(issue.path);
    // The override that set this field, or else the one that created the section the file lacks
    // (`sparsty.density=0.1` makes an unknown key "sparsty"; `sparsity.density=2` a section without `method`).
    const inFile = existingDepth(document, issue.path);
    const override = [...parsedOverrides].reverse().find((o) => isPrefix(o.path, issue.path)) ??
      [...parsedOverrides].reverse().find((o) => commonPrefixLength(o.path, issue.path) > inFile);
    if (override !== undefined) return { where: `--set ${override.text}`, path, message: issue.message };
    const { line, column } = positionOf(document, lineCounter, issue.path, issue.at);
    return { where: `${fileName}:${line}:${column}`, path, message: issue.message, line, column };
  };
  // File order; problems from overrides (no line) last, in the order the overrides were given.
  const sortKey = (issue: RecipeIssue) =>
    issue.line !== undefined ? [issue.line, issue.column ?? 0] : [Infinity, parsedOverrides.findIndex((o) => issue.where === `--set ${o.text}`)];
  return validate(input, fileName, locate, (a, b) => {
    const [ka, kb] = [sortKey(a), sortKey(b)];
    return ka[0] === kb[0] ? ka[1] - kb[1] : ka[0] - kb[0];
  });
}

/** Validates a recipe object built in code; messages name `sourceName` and the field path. */
export function validateRecipe(recipe: unknown, sourceName = "recipe"): Recipe {
  return validate(recipe, sourceName, (issue) => ({ where: sourceName, path: formatPath(issue.path), message: issue.message }));
}

function validate(input: unknown, fileName: string, locate: (issue: PlainIssue) => RecipeIssue, order?: (a: RecipeIssue, b: RecipeIssue) => number): Recipe {
  const result = recipeSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    const issues = describeIssues(result.error.issues).map(locate);
    throw new RecipeError(order === undefined ? issues : issues.sort(order));
  }
  const recipe = result.data;
  const name = recipe.name ?? (basename(fileName, extname(fileName)) || "recipe");
  return { ...recipe, name, output: { ...recipe.output, runDir: recipe.output.runDir ?? `runs/${name}` } };
}

function commonPrefixLength(a: readonly string[], b: readonly PropertyKey[]): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === String(b[length])) length++;
  return length;
}

function isPrefix(prefix: readonly string[], path: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === String(path[i]));
}
