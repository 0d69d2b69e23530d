// Parsing and checking command-line option values, with errors that name the option and what it allows.
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";

/** A finite number; otherwise an error saying what `option` allows. */
export function parseNumber(text: string, option: string, allowed: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new RangeError(`${option} must be ${allowed}, got "${text}"`);
  return value;
}

/** A comma-separated list of numbers, e.g. "0.5,0.9"; the error quotes the item that is not a number. */
export function parseNumberList(text: string, option: string, allowed: string): number[] {
  return text.split(",").map((item) => parseNumber(item, option, allowed));
}

/** Whether two paths name the same file (following symbolic links of files that exist). */
export function samePath(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}
