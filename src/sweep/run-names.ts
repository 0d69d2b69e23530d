// Readable, filesystem-safe and unique folder names for a sweep's runs: `density=0.02,method=rigl`.
import type { Combination } from "./grid.js";

/** Longest name kept whole; longer ones are cut and numbered, as some file systems allow 255 bytes. */
const MAX_NAME_LENGTH = 120;

/**
 * One name per combination, `label=value` joined by commas. Brackets and quotes are dropped, commas
 * and spaces inside a value become `-`, anything else outside [A-Za-z0-9._+-] becomes `_`
 * (`widths=[300,100]` → `widths=300-100`); a name that two combinations would share gets `~2`, `~3`.
 */
export function runNames(combinations: readonly Combination[]): string[] {
  const used = new Set<string>();
  return combinations.map((combination) => {
    let base = combination.parts.map((p) => `${p.label}=${safeValue(p.text)}`).join(",");
    if (base.length > MAX_NAME_LENGTH) base = base.slice(0, MAX_NAME_LENGTH);
    let name = base;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}~${n}`;
    // NOTE: compared without case, so two runs never share a folder on case-insensitive file systems.
    used.add(name.toLowerCase());
    return name;
  });
}

function safeValue(text: string): string {
  const kept = text.replace(/["'[\]{}]/g, "").trim().replace(/[,\s]+/g, "-").replace(/[^A-Za-z0-9._+-]/g, "_");
  return kept === "" ? "_" : kept;
}
