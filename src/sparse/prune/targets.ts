// Which weights a pruning step works on: every prunable weight, narrowed by include/exclude name patterns, with per-layer overrides.
import type { NamedParameter } from "../../nn/sequential.js";
import { matchesPattern } from "../../recipe/pattern.js";
import { isPrunableWeight } from "./prunable.js";

export interface TargetOptions {
  /** Patterns of weights to prune (default: every Linear and Conv2d weight). */
  include?: string[];
  /** Patterns of weights to leave alone. */
  exclude?: string[];
  /** Pattern → value (an amount or a target sparsity) for the weights it matches; first match wins. */
  overrides?: Record<string, number>;
  /** How options are spelled where the user wrote them ("--" for the CLI, "sparsity." for recipes), for messages. */
  optionPrefix?: string;
}

export interface Target {
  param: NamedParameter;
  /** The override value for this weight, if a pattern matched it. */
  override?: number;
}

/**
 * `pattern` matches a weight by its full name ("layers.0.weight") or its layer ("layers.0", "0"),
 * with `*` matching any run of characters (as in optimizer.paramGroups).
 */
export function matchesWeight(param: NamedParameter, pattern: string): boolean {
  const layer = `layers.${param.layerIndex}`;
  return matchesPattern(param.name, pattern) || matchesPattern(layer, pattern) || pattern === String(param.layerIndex);
}

/** The weights to prune; a pattern that matches no prunable weight is an error naming the option. */
export function selectTargets(parameters: NamedParameter[], options: TargetOptions): Target[] {
  const prefix = options.optionPrefix ?? "";
  const weights = parameters.filter(isPrunableWeight);
  const names = weights.map((p) => p.name).join(", ");
  const check = (option: string, patterns: string[]) => {
    for (const pattern of patterns) {
      if (!weights.some((p) => matchesWeight(p, pattern))) {
        throw new RangeError(`${prefix}${option}: "${pattern}" matches no prunable weight (prunable: ${names})`);
      }
    }
  };
  const include = options.include ?? [];
  const exclude = options.exclude ?? [];
  const overrides = Object.entries(options.overrides ?? {});
  check("include", include);
  check("exclude", exclude);
  check("overrides", overrides.map(([pattern]) => pattern));
  const selected = weights.filter((p) =>
    (include.length === 0 || include.some((pattern) => matchesWeight(p, pattern))) && !exclude.some((pattern) => matchesWeight(p, pattern)));
  if (selected.length === 0) throw new RangeError(`${prefix}exclude: every prunable weight is excluded (prunable: ${names})`);
  return selected.map((param) => {
    const match = overrides.find(([pattern]) => matchesWeight(param, pattern));
    return match ? { param, override: match[1] } : { param };
  });
}
