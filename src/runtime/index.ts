// `sparsetrain/runtime`: loads a compact model file from bytes and runs it in WebAssembly, in Node and in browsers (no Node-only API, nothing outside src/runtime/).
//
//   const model = await loadModel(bytes);
//   const logits = model.predict(pixels, batchSize); // raw features in, batch × classes logits out
import { readCompactModel } from "./compact-reader.js";
import { bestInferenceVariant, inferenceModule, type InferenceVariant } from "./inference-module.js";
import { WasmRuntimeModel, type RuntimeModel, type StrategyChoice } from "./runtime-model.js";

export type { RuntimeModel, StrategyChoice } from "./runtime-model.js";
export type { InferenceVariant } from "./inference-module.js";
export { CompactFormatError } from "./safetensors-view.js";

export interface LoadModelOptions {
  /** Names the model in error messages (e.g. its file name); default "compact model". */
  source?: string;
  /** The WebAssembly build: relaxed SIMD or plain SIMD; default the fastest this engine runs. */
  kernels?: InferenceVariant;
  /** Which program predict runs: "auto" (default) picks by batch size; "rows" or "lanes" force one (tests, benchmarks). */
  strategy?: StrategyChoice;
}

/** Reads and validates a compact model file and places its weights in a new WebAssembly instance. */
export async function loadModel(bytes: Uint8Array | ArrayBuffer, options: LoadModelOptions = {}): Promise<RuntimeModel> {
  const source = options.source ?? "compact model";
  let data: Uint8Array;
  if (bytes instanceof Uint8Array) data = bytes;
  else if (bytes instanceof ArrayBuffer) data = new Uint8Array(bytes);
  else throw new TypeError(`${source}: loadModel takes the file's bytes as a Uint8Array or ArrayBuffer`);
  const strategy = options.strategy ?? "auto";
  if (!["auto", "rows", "lanes"].includes(strategy)) throw new RangeError(`${source}: strategy must be auto, rows or lanes, got ${JSON.stringify(strategy)}`);
  const kernels = options.kernels ?? bestInferenceVariant();
  if (kernels !== "relaxed" && kernels !== "simd") throw new RangeError(`${source}: kernels must be relaxed or simd, got ${JSON.stringify(kernels)}`);
  const model = readCompactModel(data, source);
  const instance = await WebAssembly.instantiate(await inferenceModule(kernels), {});
  return new WasmRuntimeModel(model, instance, kernels, strategy, source);
}
