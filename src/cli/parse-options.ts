// Parsing and checking command-line option values, with errors that name the option and what it allows.
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

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

/**
 * Whether two paths name the same file: equal after following symbolic links (of the file, or of
 * its folder when the file does not exist yet), or hard links to one inode.
 */
export function samePath(a: string, b: string): boolean {
  if (existsSync(a) && existsSync(b)) {
    const x = statSync(a), y = statSync(b);
    if (x.dev === y.dev && x.ino === y.ino) return true;
  }
  const real = (p: string): string => {
    if (existsSync(p)) return realpathSync(p);
    const folder = dirname(resolve(p));
    return existsSync(folder) ? join(realpathSync(folder), basename(p)) : resolve(p);
  };
  return real(a) === real(b);
}
