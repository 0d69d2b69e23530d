// The script a data-parallel worker thread starts with: it loads the worker entry (compiling TypeScript with tsx when running from source) and reports a failure to load it.
//
// NOTE: an error while loading a module would otherwise reach only the Worker's "error" event,
// which the main thread cannot see while it blocks in Atomics.wait; reported through the control
// block, it fails the start at once with the worker's message instead of a timeout.
import { DONE, HEADER_BYTES, STATE, WorkerState } from "./control-block.js";

/** How to start a worker: the eval'd bootstrap script and the workerData fields it reads. */
export function workerBootstrap(): { script: string; entry: string; tsx: string | null } {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = new URL(fromSource ? "./worker.ts" : "./worker.js", import.meta.url).href;
  // Node 20 does not apply a parent's `--import tsx` to a worker's entry module; registering tsx's loader first does.
  const tsx = fromSource ? import.meta.resolve("tsx/esm/api") : null;
  // Written to run both as a script and as a module (a parent's --input-type=module reaches eval'd workers).
  const script = `
import("node:worker_threads").then(async ({ workerData }) => {
  try {
    if (workerData.bootstrap.tsx !== null) (await import(workerData.bootstrap.tsx)).register();
    await import(workerData.bootstrap.entry);
  } catch (error) {
    workerData.errors.postMessage({ message: String(error && error.message), stack: String(error && error.stack) });
    const signals = new Int32Array(workerData.control, 0, ${HEADER_BYTES / 4});
    Atomics.store(signals, ${STATE}, ${WorkerState.failed});
    Atomics.notify(signals, ${STATE});
    Atomics.notify(signals, ${DONE});
  }
});`;
  return { script, entry, tsx };
}
