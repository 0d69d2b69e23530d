// Compiles the inference WebAssembly module once per variant: relaxed SIMD where the runtime validates it, plain SIMD otherwise (the same choice as src/backend/kernels.ts, without Node-only APIs).
//
// Node 22+, Chrome and Firefox run relaxed SIMD; Node 20 does only when started with
// --experimental-wasm-relaxed-simd (or after the training kernels set that V8 flag), else it
// gets the plain-SIMD build. The bytes come base64-encoded from the generated inference-wasm.ts.
import { INFERENCE_WASM_RELAXED, INFERENCE_WASM_SIMD } from "./inference-wasm.js";

/** A WebAssembly build of the inference kernels: relaxed SIMD (fused multiply-add) or plain SIMD. */
export type InferenceVariant = "relaxed" | "simd";

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)) — validates only with SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
// (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd)) — validates only with relaxed SIMD.
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 133, 2, 11,
]);

/** Why a variant cannot run here, or null when it can. */
export function inferenceVariantProblem(variant: InferenceVariant): string | null {
  if (!WebAssembly.validate(SIMD_PROBE)) return "this JavaScript engine lacks WebAssembly SIMD";
  if (variant === "relaxed" && !WebAssembly.validate(RELAXED_PROBE)) {
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
