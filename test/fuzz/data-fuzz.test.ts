// Property: corrupted IDX files, CSV files and YAML recipes are read, or refused with errors naming the file on every line; never an internal error or a hang.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test } from "node:test";
import fc from "fast-check";
import { parseCsvDataset } from "../../src/data/csv.js";
import { encodeIdx, parseIdx } from "../../src/data/idx.js";
import { parseRecipe } from "../../src/recipe/load.js";
import { repoRoot } from "../helpers/paths.js";
import { awkwardNumber, byteMutation } from "./mutations.js";
import { fuzzParameters, readsCleanly } from "./properties.js";

const idxImages = encodeIdx({ dtype: "uint8", shape: [5, 4, 4], values: Uint8Array.from({ length: 80 }, (_, i) => (i * 37) % 256) });
const idxFloats = encodeIdx({ dtype: "float32", shape: [3, 2], values: Float32Array.from([0.5, -1, 2, 1e-3, 7, 0]) });

/** Header edits of an IDX file: dtype byte, rank byte, one dimension set to an awkward number. */
const idxHeaderEdit = fc.record({ field: fc.constantFrom("dtype", "rank", "dimension"), byte: fc.nat(255), which: fc.nat(3), number: awkwardNumber }).map((e) => ({
  label: `idx header ${JSON.stringify(e)}`,
  apply: (bytes: Uint8Array) => {
    const out = new Uint8Array(bytes);
    if (e.field === "dtype") out[2] = e.byte;
    else if (e.field === "rank") out[3] = e.byte;
    else if (out.length >= 8 + 4 * e.which) new DataView(out.buffer).setUint32(4 + 4 * Math.min(e.which, out[3] - 1), Math.max(0, Math.min(2 ** 32 - 1, Math.trunc(e.number))), false);
    return out;
  },
}));

test("fuzz: a corrupted IDX file (raw or gzip) parses into consistent arrays or fails naming the file", () => {
  const mutation = fc.tuple(fc.constantFrom(idxImages, idxFloats), fc.oneof(byteMutation(), idxHeaderEdit), fc.boolean(), fc.boolean());
  fc.assert(fc.property(mutation, ([base, m, gzipFirst, corruptGzip]) => {
    const bytes = gzipFirst ? (corruptGzip ? m.apply(gzipSync(base)) : gzipSync(m.apply(base))) : m.apply(base);
    const parsed = readsCleanly(() => parseIdx(bytes, "bad.idx"), ["bad.idx"]);
    if (parsed !== undefined) assert.equal(parsed.values.length, parsed.shape.reduce((a, b) => a * b, 1));
  }), fuzzParameters(800));
});

const csv = "x1,x2,label,x3\n0.5,1,0,2\n-1,2.5e-3,2,0\n3,4,1,5\n\n7,8,0,9\n";
const csvPieces = [",", "\n", "\r\n", " ", "-", ".", "e", "0", "1", "9", "x", "label", "NaN", "Infinity", "1e999", "-0", '"', "\t", "2147483648", "1e9", ";"];

test("fuzz: a corrupted CSV file parses into a consistent dataset or fails naming the file (and line)", () => {
  const edit = fc.array(fc.record({ at: fc.nat(), remove: fc.nat(3), insert: fc.constantFrom(...csvPieces) }), { minLength: 1, maxLength: 6 });
  fc.assert(fc.property(edit, fc.constantFrom(undefined, 3, 1), (edits, classCount) => {
    let text = csv;
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
    }
    const dataset = readsCleanly(() => parseCsvDataset(text, "bad.csv", { labelColumn: "label", classCount }), ["bad.csv"]);
    if (dataset !== undefined) {
      assert.equal(dataset.features.length, dataset.length * dataset.featureSize);
      assert.ok(dataset.features.every(Number.isFinite));
      assert.ok(dataset.labels.every((l) => l >= 0 && l < dataset.classCount));
    }
  }), fuzzParameters(800));
});

const recipeNames = ["lenet-300-100.yaml", "sparse-rigl-98.yaml", "prune-iterative-lenet-5.yaml", "reg-l0.yaml"];
const yamlPieces = ["", "~", "null", "-1", "0", "1e999", ".nan", "-.inf", "[]", "{}", "[1, 2]", "*a", "&a x", "!!binary x", "'", '"', ":", "- ", "\n  ", "\t", "#", "0x10", "1_000", "yes", "2147483648", "1e308", "{a: [b", "<<: *a"];

test("fuzz: a corrupted recipe validates or fails with every line naming the file, line and column", () => {
  const texts = recipeNames.map((name) => readFileSync(join(repoRoot(import.meta.url), "recipes", name), "utf8"));
  const edit = fc.array(fc.record({ at: fc.nat(), remove: fc.nat(8), insert: fc.constantFrom(...yamlPieces) }), { minLength: 1, maxLength: 4 });
  fc.assert(fc.property(fc.nat(texts.length - 1), edit, (which, edits) => {
    let text = texts[which];
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
    }
    readsCleanly(() => parseRecipe(text, "bad.yaml"), ["bad.yaml"]);
  }), fuzzParameters(600));
});

test("corruptions the fuzzer found: float32 overflow and int32 labels in CSV, an alias without anchor in YAML", () => {
  const refused = (read: () => unknown, pattern: RegExp) => assert.throws(read, (e: Error) => pattern.test(e.message) && !e.message.includes("\n"));
  refused(() => parseCsvDataset("a,label\n1e39,0\n", "big.csv", { labelColumn: "label" }), /^big\.csv:2: column "a" holds 1e39, beyond the float32 range/);
  refused(() => parseCsvDataset("a,label\n1,2147483648\n", "label.csv", { labelColumn: "label" }), /^label\.csv:2: label column "label" holds 2147483648; labels must be class indices/);
  refused(() => parseRecipe("name: *nowhere\n", "alias.yaml"), /^alias\.yaml: invalid YAML: Unresolved alias/);
});
