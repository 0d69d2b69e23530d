// TensorFlow.js with its wasm backend (XNNPACK), loaded from node_modules without any download: the peer our kernels are compared with.
import { createRequire } from "node:module";
import { dirname } from "node:path";

type Tf = typeof import("@tensorflow/tfjs-core");

export interface TfjsPeer {
  tf: Tf;
  version: string;
  threads: number;
}

let peer: Promise<TfjsPeer> | null = null;

/** Initializes tfjs-core with the wasm backend, single-threaded (it never uses threads under Node). */
export function loadTfjsWasm(): Promise<TfjsPeer> {
  peer ??= (async () => {
    const tf = await import("@tensorflow/tfjs-core");
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"))}/dist/`);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend("wasm"))) throw new Error("TensorFlow.js wasm backend failed to initialize");
    await tf.ready();
    return { tf, version: tf.version_core, threads: wasm.getThreadsCount() };
  })();
  return peer;
}
