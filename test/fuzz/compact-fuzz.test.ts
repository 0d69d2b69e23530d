// Property: a corrupted compact model file either loads a model that predicts exactly what the original does, or fails with one clean line naming the file; never an internal error or a hang.
//
// Two properties: raw mutations (the CRC-32 catches what the structure checks let through), and
// mutations with the checksum re-stamped afterwards, which reach every structural check behind
// it: those must load a model that runs, or fail cleanly.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { exportCompactModel, type CompactExportOptions } from "../../src/export/compact-writer.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import { readCompactModel } from "../../src/runtime/compact-reader.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { lenetSparseSpec, mlpModel, mnistScalar, rawInputs, restampChecksum } from "../helpers/compact-models.js";
import { safetensorsMutation } from "./mutations.js";
import { fuzzParameters, readsCleanly } from "./properties.js";

const NAME = "fuzzed.compact";

function fuzzCompact(model: Model, options: CompactExportOptions, runs: number, restamp: boolean): void {
  const bytes = exportCompactModel(model, options);
  const original = readCompactModel(bytes, NAME);
  const inputs = rawInputs(2, original.inputSize);
  const expected = referencePredict(original, inputs, 2);
  fc.assert(fc.property(safetensorsMutation(), (mutation) => {
    let mutated = mutation.apply(bytes);
    if (restamp) {
      try {
        mutated = restampChecksum(mutated);
      } catch {
        // A header that no longer parses keeps its old checksum; the reader must refuse it anyway.
      }
    }
    const loaded = readsCleanly(() => readCompactModel(mutated, NAME), [NAME]);
    if (loaded === undefined) return;
    if (!restamp) {
      assert.deepEqual(referencePredict(loaded, inputs, 2), expected, `${mutation.label} loaded a model that predicts differently`);
      return;
    }
    const logits = referencePredict(loaded, rawInputs(2, loaded.inputSize), 2);
    assert.equal(logits.length, 2 * loaded.outputSize);
  }), fuzzParameters(runs));
}

const cases: [string, () => Model, CompactExportOptions][] = [
  ["MLP int8 CSR", () => mlpModel(), { values: "int8", structure: "csr", normalizer: mnistScalar }],
  ["MLP int4 CSR with exp-Golomb gap codes", () => mlpModel(), { values: "int4", structure: "csr-expgolomb", normalizer: mnistScalar }],
  ["MLP int4 bitmask, per-feature normalization step", () => mlpModel(), { values: "int4", structure: "bitmask", normalizer: { kind: "standardize-features", shift: Array(16).fill(3), factor: Array(16).fill(0.5) } }],
  ["MLP float16 dense with class names", () => mlpModel(), { values: "float16", structure: "dense", classNames: ["a", "b", "c"] }],
  ["LeNet-5 float32 auto", () => buildModel(lenetSparseSpec), { normalizer: mnistScalar }],
];

for (const [name, make, options] of cases) {
  test(`fuzz: a corrupted compact file (${name}) loads the same model or fails cleanly`, () => {
    fuzzCompact(make(), options, name.startsWith("LeNet") ? 150 : 400, false);
  });
  test(`fuzz: a corrupted compact file (${name}) with its checksum re-stamped loads a model that runs, or fails cleanly`, () => {
    fuzzCompact(make(), options, name.startsWith("LeNet") ? 150 : 400, true);
  });
}
