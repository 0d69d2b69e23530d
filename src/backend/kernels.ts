// Chooses, at load time, between the WebAssembly SIMD kernels and the TypeScript reference kernels.
//
// Every kernel is a plain function of byte offsets and sizes with the same signature in both
// backends. `kernels` is one mutable object: callers always write `kernels.gemm(...)`, so
// switching the backend (tests compare the two) takes effect everywhere at once.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { alloc, memory } from "./heap.js";
import { referenceKernels, type KernelName, type KernelSet } from "./reference/index.js";

export type KernelBackend = "wasm" | "reference";

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)) — validates only with SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

function findKernelDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "build", "kernels");
    if (existsSync(candidate) && existsSync(join(dir, "package.json"))) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/** Instantiates every compiled kernel module; returns their exported functions by name. */
function loadWasmKernels(): { exports: Partial<KernelSet>; problem: string | null } {
  if (!WebAssembly.validate(SIMD_PROBE)) return { exports: {}, problem: "this runtime lacks WebAssembly SIMD" };
  const dir = findKernelDir();
  if (dir === null) return { exports: {}, problem: "build/kernels not found (run `npm run build:kernels`)" };
  const exports: Record<string, unknown> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".wasm")).sort()) {
    const module = new WebAssembly.Module(readFileSync(join(dir, file)));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    // A module that needs a workspace (e.g. GEMM packing buffers) exports scratchBytes() and
    // setScratch(ptr); each instance (one per thread) gets its own block from the heap.
    const { scratchBytes, setScratch } = instance.exports as { scratchBytes?: () => number; setScratch?: (ptr: number) => void };
    if (scratchBytes !== undefined && setScratch !== undefined) setScratch(alloc(scratchBytes()));
    for (const [name, value] of Object.entries(instance.exports)) {
      if (typeof value !== "function" || name === "scratchBytes" || name === "setScratch") continue;
      if (name in exports) throw new Error(`kernel ${name} is exported by two modules (second: ${file})`);
      exports[name] = value;
    }
  }
  return { exports: exports as Partial<KernelSet>, problem: null };
}

const wasm = loadWasmKernels();

/** Names of kernels that have a reference version but no WebAssembly export. */
export function kernelsMissingFromWasm(): KernelName[] {
  return (Object.keys(referenceKernels) as KernelName[]).filter((name) => wasm.exports[name] === undefined);
}

/** Why the WebAssembly kernels are unavailable, or null when they loaded. */
export function wasmProblem(): string | null {
  return wasm.problem;
}

/** The reference kernels, always available (tests compare the WebAssembly versions against them). */
export const reference: KernelSet = referenceKernels;

/** The WebAssembly version of each kernel that has one. */
export const wasmKernels: Partial<KernelSet> = wasm.exports;

/** The active kernels. */
export const kernels: KernelSet = { ...referenceKernels };
let active: KernelBackend = "reference";

/** Selects the kernel backend. "wasm" uses each WebAssembly kernel where present. */
export function setKernelBackend(backend: KernelBackend): void {
  if (backend === "wasm" && wasm.problem !== null) {
    throw new Error(`WebAssembly kernels unavailable: ${wasm.problem}`);
  }
  for (const name of Object.keys(referenceKernels) as KernelName[]) {
    const chosen = backend === "wasm" ? (wasm.exports[name] ?? referenceKernels[name]) : referenceKernels[name];
    (kernels as Record<KernelName, unknown>)[name] = chosen;
  }
  active = backend;
}

/** The active kernel backend. */
export function kernelBackend(): KernelBackend {
  return active;
}

function initialBackend(): KernelBackend {
  const forced = process.env.SPARSETRAIN_KERNELS;
  if (forced === "reference") return "reference";
  if (wasm.problem !== null) {
    process.emitWarning(`sparsetrain: ${wasm.problem}; using the slow TypeScript reference kernels`);
    return "reference";
  }
  return "wasm";
}

setKernelBackend(initialBackend());
