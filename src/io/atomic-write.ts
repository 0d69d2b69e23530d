// Writes a file so that readers see either the old content or the new one, never a half-written file.
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

let temporaryCounter = 0;

/** Names of our temporary files: `.<target>.<pid>.<milliseconds>.<counter>.tmp`. */
const temporaryName = /^\.(.+)\.(\d+)\.(\d+)\.(\d+)\.tmp$/;

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

/**
 * Removes the temporary files a killed writer left in `folder`: only names of our pattern, only
 * regular files, and only when the process that wrote them is gone (its pid is not alive) or the pid
 * is this process's own (reused by the system: this process has no write in flight when it calls
 * this, at the start of a run). A live pid of another process may be a concurrent writer: kept.
 * Returns the names removed.
 */
export function removeOrphanedTemporaries(folder: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = temporaryName.exec(name);
    if (match === null) continue;
    const pid = Number(match[2]);
    if (pid !== process.pid && processAlive(pid)) continue;
    const path = join(folder, name);
    try {
      if (!lstatSync(path).isFile()) continue;
      rmSync(path);
      removed.push(name);
    } catch {
      // NOTE: another cleaner may have removed it first; what is left is not ours to fail on.
    }
  }
  return removed;
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
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
