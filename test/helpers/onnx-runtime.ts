// onnxruntime-node for tests that run exported ONNX models: loaded once (null when it cannot be), and one call to run a model on a batch.
import { ONNX_INPUT, ONNX_OUTPUT } from "../../src/export/onnx-export.js";

type OrtModule = typeof import("onnxruntime-node");

let loaded: Promise<{ ort: OrtModule | null; reason: string }> | undefined;

/** The onnxruntime-node module, or null and why it could not be loaded (a missing package or native binary). */
export function loadOnnxRuntime(): Promise<{ ort: OrtModule | null; reason: string }> {
  loaded ??= import("onnxruntime-node").then(
    (ort) => ({ ort: (ort as unknown as { default?: OrtModule }).default ?? ort, reason: "" }),
    (error: Error) => ({ ort: null, reason: `onnxruntime-node cannot be loaded: ${error.message.split("\n")[0]}` }),
  );
  return loaded;
}

/** Logits of `count` raw inputs, one after the other, through the ONNX model in `bytes`. */
export async function runOnnx(ort: OrtModule, bytes: Uint8Array, inputs: Float32Array, count: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ [ONNX_INPUT]: new ort.Tensor("float32", inputs, [count, inputs.length / count]) });
    return result[ONNX_OUTPUT].data as Float32Array;
  } finally {
    await session.release();
  }
}
