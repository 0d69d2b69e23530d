// Writes a file so that readers see either the old content or the new one, never a half-written file.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

let temporaryCounter = 0;

/**
 * Writes `bytes` to a temporary file in the target's folder (rename is atomic only within one file
 * system), flushes it to disk, then renames it over `path`. On failure the temporary file is removed
 * and the target keeps its previous content.
 */
export function atomicWrite(path: string, bytes: Uint8Array | string): void {
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.${temporaryCounter++}.tmp`);
  const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "wx");
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    throw new Error(`${path}: could not write (${(error as Error).message}); the previous file, if any, is unchanged`);
  }
  syncFolder(folder);
}

/** Makes the rename itself durable; some systems cannot fsync a folder, which only weakens durability. */
function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // NOTE: the rename already happened; a failed folder fsync cannot leave a half-written file.
  }
}
