// TensorFlow.js with its wasm backend (XNNPACK), loaded on demand from node_modules: the peer our kernels are compared with, a development dependency only.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";

type Tf = typeof import("@tensorflow/tfjs-core");
type TfWasm = typeof import("@tensorflow/tfjs-backend-wasm");

/** The version in package.json's devDependencies (a test keeps them equal), for the install hint. */
export const TFJS_VERSION = "4.22.0";

/** The packages loaded; a test points them at names that are not installed. */
export interface TfjsPackages {
  core: string;
  wasm: string;
}

export const TFJS_PACKAGES: TfjsPackages = { core: "@tensorflow/tfjs-core", wasm: "@tensorflow/tfjs-backend-wasm" };

export interface TfjsPeer {
  tf: Tf;
  version: string;
  /** XNNPACK threads actually running: 1 under Node, whose lack of web workers rules out the threaded build. */
  threads: number;
}

let defaultPeer: Promise<TfjsPeer> | null = null;

/**
 * Initializes tfjs-core with the wasm backend, asking for one XNNPACK thread per core (the backend
 * falls back to one when the runtime cannot run its threaded build, as under Node).
 * NOTE: tfjs-backend-cpu (pure JavaScript, installed alongside) is not offered: its matMul ran at
 * 0.9 GFLOP/s here against 6 for wasm on 128×1000×1000, and TensorFlow.js itself tells Node users
 * to switch away from it.
 */
export function loadTfjsWasm(packages: TfjsPackages = TFJS_PACKAGES): Promise<TfjsPeer> {
  if (packages !== TFJS_PACKAGES) return initialize(packages);
  defaultPeer ??= initialize(packages).catch((error) => {
    defaultPeer = null;
    throw error;
  });
  return defaultPeer;
}

async function initialize(packages: TfjsPackages): Promise<TfjsPeer> {
  const tf = (await importPeer(packages.core, packages)) as Tf;
  const wasm = (await importPeer(packages.wasm, packages)) as TfWasm;
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(`${dirname(require.resolve(`${packages.wasm}/package.json`))}/dist/`);
  wasm.setThreadsCount(availableParallelism());
  if (!(await tf.setBackend("wasm"))) throw new Error("TensorFlow.js wasm backend failed to initialize");
  await tf.ready();
  return { tf, version: tf.version_core, threads: wasm.getThreadsCount() };
}

async function importPeer(name: string, packages: TfjsPackages): Promise<unknown> {
  try {
    return await import(name);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") throw error;
    throw new Error(
      `${name} is not installed (the benchmark peers are development dependencies); to measure TensorFlow.js: ` +
        `npm install ${packages.core}@${TFJS_VERSION} ${packages.wasm}@${TFJS_VERSION}`,
    );
  }
}
