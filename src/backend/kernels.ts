// Chooses, at load time, between the relaxed-SIMD and plain-SIMD WebAssembly kernels and the TypeScript reference kernels.
//
// Every kernel is a plain function of byte offsets and sizes with the same signature in every
// backend. `kernels` is one mutable object: callers always write `kernels.gemm(...)`, so
// switching the backend (tests compare them) takes effect everywhere at once.
//
// The two WebAssembly variants come from the same AssemblyScript sources (scripts/build-kernels.mjs):
// "relaxed" uses f32x4.relaxed_madd (a fused multiply-add on FMA hardware), "simd" multiplies then
// adds. The loader prefers relaxed when the runtime validates it (Node 22+, current Chrome and
// Firefox; on Node 20 it first sets V8's --experimental-wasm-relaxed-simd, which takes effect for
// modules compiled afterwards), else simd, else the reference with a warning. SPARSETRAIN_KERNELS
// (relaxed | simd | reference) forces one; a forced variant the runtime lacks falls back with a warning.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { hasWasmRelaxedSimd, hasWasmSimd } from "../runtime/simd-support.js";
import { alloc, memory } from "./heap.js";
import { referenceKernels, type KernelName, type KernelSet } from "./reference/index.js";

/** A WebAssembly build of the kernels. */
export type KernelVariant = "relaxed" | "simd";
/** What runs the kernels: a WebAssembly variant or the TypeScript reference. */
export type ResolvedKernelBackend = KernelVariant | "reference";
/** A backend to select; "wasm" means the fastest WebAssembly variant available. */
export type KernelBackend = ResolvedKernelBackend | "wasm";

/** WebAssembly variants, fastest first. */
export const KERNEL_VARIANTS: readonly KernelVariant[] = ["relaxed", "simd"];
const BACKENDS: readonly ResolvedKernelBackend[] = [...KERNEL_VARIANTS, "reference"];


function findKernelDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "build", "kernels");
    if (existsSync(candidate) && existsSync(join(dir, "package.json"))) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/** Whether the runtime validates relaxed SIMD, after asking V8 for it where it is behind a flag (Node 20). */
function relaxedSimdSupported(): boolean {
  if (hasWasmRelaxedSimd()) return true;
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    return false;
  }
  return hasWasmRelaxedSimd();
}

interface LoadedVariant { exports: Partial<KernelSet>; problem: string | null }
const loaded = new Map<KernelVariant, LoadedVariant>();

/** Instantiates every compiled module of one variant (once); returns their exported functions by name. */
function loadVariant(variant: KernelVariant): LoadedVariant {
  let result = loaded.get(variant);
  if (result === undefined) {
    result = instantiateVariant(variant);
    loaded.set(variant, result);
  }
  return result;
}

function instantiateVariant(variant: KernelVariant): LoadedVariant {
  if (!hasWasmSimd()) return { exports: {}, problem: "this runtime lacks WebAssembly SIMD" };
  if (variant === "relaxed" && !relaxedSimdSupported()) {
    return { exports: {}, problem: "this runtime lacks WebAssembly relaxed SIMD (Node 22+, or Node 20 with --experimental-wasm-relaxed-simd)" };
  }
  const root = findKernelDir();
  const dir = root === null ? null : join(root, variant);
  if (dir === null || !existsSync(dir)) {
    return { exports: {}, problem: `build/kernels/${variant} not found (run \`npm run build:kernels\`)` };
  }
  const exports: Record<string, unknown> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".wasm")).sort()) {
    const bytes = readFileSync(join(dir, file));
    if (!WebAssembly.validate(bytes)) return { exports: {}, problem: `build/kernels/${variant}/${file} does not validate in this runtime` };
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    // A module that needs a workspace (e.g. GEMM packing buffers) exports scratchBytes() and
    // setScratch(ptr); each instance (one per thread and variant) gets its own block from the heap.
    const { scratchBytes, setScratch } = instance.exports as { scratchBytes?: () => number; setScratch?: (ptr: number) => void };
    if (scratchBytes !== undefined && setScratch !== undefined) setScratch(alloc(scratchBytes()));
    for (const [name, value] of Object.entries(instance.exports)) {
      if (typeof value !== "function" || name === "scratchBytes" || name === "setScratch") continue;
      if (name in exports) throw new Error(`kernel ${name} is exported by two modules of build/kernels/${variant} (second: ${file})`);
      exports[name] = value;
    }
  }
  return { exports: exports as Partial<KernelSet>, problem: null };
}

/** Why a WebAssembly variant is unavailable, or null when it loads. */
export function variantProblem(variant: KernelVariant): string | null {
  return loadVariant(variant).problem;
}

/** The WebAssembly variants this runtime runs, fastest first. */
export function availableVariants(): KernelVariant[] {
  return KERNEL_VARIANTS.filter((v) => variantProblem(v) === null);
}

/** The exports of one WebAssembly variant (empty when it is unavailable). */
export function variantKernels(variant: KernelVariant): Partial<KernelSet> {
  return loadVariant(variant).exports;
}

/** A full kernel set for a backend: the variant's WebAssembly kernels, the reference where it has none. */
export function kernelSet(backend: ResolvedKernelBackend): KernelSet {
  if (backend === "reference") return { ...referenceKernels };
  const problem = variantProblem(backend);
  if (problem !== null) throw new Error(`${backend} kernels unavailable: ${problem}`);
  return { ...referenceKernels, ...variantKernels(backend) } as KernelSet;
}

/** Names of kernels that have a reference version but no WebAssembly export (in the plain-SIMD build). */
export function kernelsMissingFromWasm(): KernelName[] {
  const exports = variantKernels("simd");
  return (Object.keys(referenceKernels) as KernelName[]).filter((name) => exports[name] === undefined);
}

/** Why no WebAssembly kernels are available (the plain-SIMD build is the baseline), or null when they load. */
export function wasmProblem(): string | null {
  return variantProblem("simd");
}

/** The reference kernels, always available (tests compare the WebAssembly versions against them). */
export const reference: KernelSet = referenceKernels;

/** The active kernels. */
export const kernels: KernelSet = { ...referenceKernels };
let active: ResolvedKernelBackend = "reference";

/** The fastest WebAssembly variant this runtime runs, or "reference". */
function bestBackend(): ResolvedKernelBackend {
  return KERNEL_VARIANTS.find((v) => variantProblem(v) === null) ?? "reference";
}

/**
 * Selects the kernel backend; "wasm" means the fastest available WebAssembly variant. Throws when
 * the variant is unavailable.
 */
export function setKernelBackend(backend: KernelBackend): void {
  const chosen: ResolvedKernelBackend = backend === "wasm" ? bestBackend() : backend;
  if (backend === "wasm" && chosen === "reference") throw new Error(`WebAssembly kernels unavailable: ${wasmProblem()}`);
  if (!BACKENDS.includes(chosen)) throw new Error(`unknown kernel backend "${String(backend)}" (expected ${BACKENDS.join(", ")} or wasm)`);
  Object.assign(kernels, kernelSet(chosen));
  active = chosen;
}

/** The active kernel backend. */
export function kernelBackend(): ResolvedKernelBackend {
  return active;
}

/** SPARSETRAIN_KERNELS, or the fastest backend; a forced variant the runtime lacks falls back (with a warning) to the next. */
function initialBackend(forced: string | undefined): ResolvedKernelBackend {
  if (forced === "reference") return "reference";
  const candidates = KERNEL_VARIANTS.slice(forced === "simd" ? 1 : 0);
  if (forced === "relaxed" || forced === "simd") {
    const problem = variantProblem(forced);
    if (problem !== null) process.emitWarning(`sparsetrain: SPARSETRAIN_KERNELS=${forced}: ${problem}; falling back`);
  }
  const variant = candidates.find((v) => variantProblem(v) === null);
  if (variant !== undefined) return variant;
  process.emitWarning(`sparsetrain: ${wasmProblem()}; using the slow TypeScript reference kernels`);
  return "reference";
}

const forcedBackend = process.env.SPARSETRAIN_KERNELS || undefined;
if (forcedBackend !== undefined && forcedBackend !== "wasm" && !BACKENDS.includes(forcedBackend as ResolvedKernelBackend)) {
  throw new Error(`SPARSETRAIN_KERNELS="${forcedBackend}" is not a kernel backend (expected ${BACKENDS.join(", ")})`);
}
setKernelBackend(initialBackend(forcedBackend));

/**
 * The WebAssembly kernels tests compare against the reference: those of the variant in use, or of
 * the fastest available one when the reference was chosen.
 */
export const wasmKernels: Partial<KernelSet> = variantKernels(active === "reference" ? (availableVariants()[0] ?? "simd") : active);
