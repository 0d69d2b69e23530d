// Parameter-name patterns of recipes (optimizer.paramGroups): globs where `*` matches any run of characters, dots included.

/** True when `name` (e.g. "layers.0.weight") matches `pattern` (e.g. "layers.0.*", "*.bias") as a whole. */
export function matchesPattern(name: string, pattern: string): boolean {
  const source = pattern.split("*").map(escapeRegExp).join(".*");
  return new RegExp(`^${source}$`).test(name);
}

/** The index of the first pattern `name` matches, or −1: a parameter joins the first matching group. */
export function firstMatchingPattern(name: string, patterns: readonly string[]): number {
  return patterns.findIndex((pattern) => matchesPattern(name, pattern));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
