// Compiles the inference WebAssembly module once per variant: relaxed SIMD where the runtime validates it, plain SIMD otherwise (the same choice as src/backend/kernels.ts, without Node-only APIs).
//
// Node 22+, Chrome and Firefox run relaxed SIMD; Node 20 does only when started with
// --experimental-wasm-relaxed-simd (or after the training kernels set that V8 flag), else it
// gets the plain-SIMD build. The bytes come base64-encoded from the generated inference-wasm.ts.
import { INFERENCE_WASM_RELAXED, INFERENCE_WASM_SIMD } from "./inference-wasm.js";
import { hasWasmRelaxedSimd, hasWasmSimd } from "./simd-support.js";

/** A WebAssembly build of the inference kernels: relaxed SIMD (fused multiply-add) or plain SIMD. */
export type InferenceVariant = "relaxed" | "simd";

/** Why a variant cannot run here, or null when it can. */
export function inferenceVariantProblem(variant: InferenceVariant): string | null {
  if (!hasWasmSimd()) return "this JavaScript engine lacks WebAssembly SIMD";
  if (variant === "relaxed" && !hasWasmRelaxedSimd()) {
    return "this JavaScript engine lacks WebAssembly relaxed SIMD (Node 22+, Chrome, Firefox; Node 20 with --experimental-wasm-relaxed-simd)";
  }
  return null;
}

/** The fastest variant this engine runs; throws when it lacks WebAssembly SIMD altogether. */
export function bestInferenceVariant(): InferenceVariant {
  if (inferenceVariantProblem("relaxed") === null) return "relaxed";
  const problem = inferenceVariantProblem("simd");
  if (problem !== null) throw new Error(`sparsetrain runtime: ${problem}`);
  return "simd";
}

const compiled = new Map<InferenceVariant, Promise<WebAssembly.Module>>();

/** The compiled module of one variant (compiled asynchronously, as browsers require for modules of this size, and once). */
export function inferenceModule(variant: InferenceVariant): Promise<WebAssembly.Module> {
  const problem = inferenceVariantProblem(variant);
  if (problem !== null) return Promise.reject(new Error(`sparsetrain runtime: the ${variant} kernels cannot run: ${problem}`));
  let module = compiled.get(variant);
  if (module === undefined) {
    module = WebAssembly.compile(decodeBase64(variant === "relaxed" ? INFERENCE_WASM_RELAXED : INFERENCE_WASM_SIMD));
    compiled.set(variant, module);
  }
  return module;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
