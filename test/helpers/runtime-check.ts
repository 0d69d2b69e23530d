// Runs a compact file in the WebAssembly runtime and in referencePredict and compares: logits within a float32 tolerance, identical predictions.
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { readCompactModel } from "../../src/runtime/compact-reader.js";
import { loadModel, type InferenceVariant, type StrategyChoice } from "../../src/runtime/index.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { argmaxRows, rawInputs } from "./compact-models.js";

// Node 20 runs relaxed SIMD only behind this V8 flag; it applies to modules compiled afterwards,
// and the runtime compiles its module at the first loadModel.
setFlagsFromString("--experimental-wasm-relaxed-simd");

export const VARIANTS: readonly InferenceVariant[] = ["relaxed", "simd"];
export const STRATEGIES: readonly StrategyChoice[] = ["auto", "rows", "lanes"];
export const BATCHES = [1, 3, 5, 17, 128];

/**
 * The tolerance, relative to the largest reference logit of the batch (at least 1e-3): 2e-5,
 * about 330 float32 ulps (u = 2^-24 ≈ 6e-8). The runtime rounds every product and partial sum to
 * float32 and adds in another order (SIMD lanes, two or four accumulators, fused multiply-add in
 * the relaxed build) where the reference keeps float64; over sums of up to a few hundred terms
 * and a few layers that costs tens to a hundred ulps of the logits' scale (measured: at most
 * about 1e-6 relative). A wrong index, a skipped entry or a missed bias moves a logit by far more.
 */
export const RELATIVE_TOLERANCE = 2e-5;

/** Asserts that `bytes` run in every kernel variant and strategy on every batch size match the reference. */
export async function assertMatchesReference(bytes: Uint8Array, what: string, batches: readonly number[] = BATCHES): Promise<void> {
  const compact = readCompactModel(bytes, what);
  const cases = batches.map((batch) => {
    const inputs = rawInputs(batch, compact.inputSize, batch);
    return { batch, inputs, expected: referencePredict(compact, inputs, batch) };
  });
  for (const kernels of VARIANTS) {
    for (const strategy of STRATEGIES) {
      const model = await loadModel(bytes, { kernels, strategy, source: what });
      assert.equal(model.kernels, kernels);
      for (const { batch, inputs, expected } of cases) {
        const logits = model.predict(inputs, batch);
        const where = `${what}, ${kernels} kernels, ${strategy}, batch ${batch}`;
        assert.equal(logits.length, batch * compact.outputSize, where);
        const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
        for (let i = 0; i < expected.length; i++) {
          const diff = Math.abs(logits[i] - expected[i]);
          assert.ok(diff <= RELATIVE_TOLERANCE * scale, `${where}: logit ${i} is ${logits[i]}, reference ${expected[i]} (diff ${diff.toExponential(2)}, allowed ${(RELATIVE_TOLERANCE * scale).toExponential(2)})`);
        }
        assert.deepEqual(Array.from(model.classify(inputs, batch)), argmaxRows(expected, compact.outputSize), `${where}: predictions`);
      }
      model.dispose();
    }
  }
}
