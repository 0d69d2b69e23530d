// Turns zod issues into messages for people: where (file:line:column or --set), which field, what is allowed, what was found.
import type { z } from "zod";

/** One problem in a recipe; `where` is "file:line:column" or "--set key=value". */
export interface RecipeIssue {
  where: string;
  /** The recipe path as written by users: "optimizer.lr", "model.widths[1]". */
  path: string;
  message: string;
  /** Line and column in the YAML file, when the problem is there (for sorting and tools). */
  line?: number;
  column?: number;
}

/** Every problem found in one recipe; the message lists them all, one per line. */
export class RecipeError extends Error {
  constructor(readonly issues: RecipeIssue[]) {
    super(issues.map((i) => `${i.where}: ${i.path ? `${i.path}: ` : ""}${i.message}`).join("\n"));
    this.name = "RecipeError";
  }
}

/** A problem before locating it: the full path of the field (or unknown key) and the message. */
export interface PlainIssue {
  path: PropertyKey[];
  message: string;
  /** Point at the key (unknown keys) rather than the value. */
  at: "value" | "key";
}

/** Rewrites zod's issues as messages that say what is allowed and what was found, one per field or unknown key. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): PlainIssue[] {
  return issues.flatMap((issue): PlainIssue[] => {
    const path = [...issue.path];
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = issue.message.startsWith("allowed keys: ") ? issue.message.slice("allowed keys: ".length).split(", ") : [];
        return issue.keys.map((key) => ({
          path: [...path, key],
          message: `unknown key "${key}"${suggestion(key, allowed)}${allowed.length > 0 ? `; allowed here: ${allowed.join(", ")}` : ""}`,
          at: "key",
        }));
      }
      case "invalid_union": {
        const details = issue as typeof issue & { discriminator?: string; options?: unknown[] };
        if (details.discriminator !== undefined && details.options !== undefined) {
          const input = issue.input as Record<string, unknown> | undefined;
          const value = typeof input === "object" && input !== null ? input[details.discriminator] : undefined;
          const options = details.options.filter((o) => o !== undefined && o !== null);
          return [{ path, message: `expected one of ${options.join(" | ")}${found(value)}`, at: "value" }];
        }
        return [{ path, message: `does not match any allowed form${found(issue.input)}`, at: "value" }];
      }
      case "invalid_key":
        return [{ path, message: `${describeKeyIssue(issue.issues)}, got key ${JSON.stringify(String(path[path.length - 1]))}`, at: "key" }];
      case "invalid_type":
        if (issue.message.startsWith("expected ")) return [{ path, message: `${issue.message}${found(issue.input)}`, at: "value" }];
        return [{ path, message: `expected ${article(issue.expected)}${found(issue.input)}`, at: "value" }];
      default: {
        const message = issue.message.startsWith("expected ") ? issue.message : `expected a valid value (${issue.message})`;
        return [{ path, message: `${message}${found(issue.input)}`, at: "value" }];
      }
    }
  });
}

function describeKeyIssue(inner: readonly z.core.$ZodIssue[]): string {
  const first = inner[0]?.message ?? "an allowed key";
  return first.startsWith("expected ") ? first : `expected a valid key (${first})`;
}

/** ", got 3" / ", got \"fast\"" / ", but it is missing". */
function found(value: unknown): string {
  if (value === undefined) return ", but it is missing";
  return `, got ${show(value)}`;
}

function show(value: unknown): string {
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return value.length <= 6 ? JSON.stringify(value) : `a list of ${value.length} items`;
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

function article(type: string): string {
  const names: Record<string, string> = { object: "a mapping of keys to values", array: "a list", string: "a string", number: "a number", boolean: "true or false" };
  return names[type] ?? type;
}

/** ' (did you mean "lr"?)' when a key is one or two edits from an allowed one, or differs only in case. */
function suggestion(key: string, allowed: string[]): string {
  const close = allowed
    .map((name) => ({ name, distance: name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name) }))
    .filter((c) => c.distance <= (c.name.length <= 4 ? 1 : 2))
    .sort((a, b) => a.distance - b.distance)[0];
  return close === undefined ? "" : ` (did you mean "${close.name}"?)`;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/** "optimizer.lr", "model.widths[1]", "model.sparse.layers.0"; the root is "". */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) => (typeof segment === "number" ? `[${segment}]` : `${i > 0 ? "." : ""}${String(segment)}`))
    .join("");
}
