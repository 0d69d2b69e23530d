// The recipe's quantize: section: defaults, and bad values reported with their YAML line and what is allowed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRecipe } from "../../src/recipe/load.js";
import { RecipeError } from "../../src/recipe/recipe-error.js";

function errorsOf(text: string): string[] {
  try {
    parseRecipe(text, "recipes/q.yaml");
  } catch (error) {
    assert.ok(error instanceof RecipeError, `expected a RecipeError, got ${error}`);
    return error.message.split("\n");
  }
  assert.fail("expected the recipe to be rejected");
}

test("quantize: defaults to int8 per-row from the first epoch; absent, there is no quantization", () => {
  assert.deepEqual(parseRecipe("quantize: {}\n", "q.yaml").quantize, { bits: 8, granularity: "per-row", startEpoch: 0 });
  assert.deepEqual(parseRecipe("quantize: {bits: 4, granularity: per-tensor, startEpoch: 2}\n", "q.yaml").quantize, { bits: 4, granularity: "per-tensor", startEpoch: 2 });
  assert.equal(parseRecipe("seed: 1\n", "q.yaml").quantize, undefined);
});

test("bad quantize: values name the line, the field, what is allowed and what was found", () => {
  const text = [
    "seed: 1", //                   line 1
    "quantize:", //                 line 2
    "  bits: 16", //                line 3
    "  granularity: per-channel", // line 4
    "  startEpoch: -1", //          line 5
    "  bit: 8", //                  line 6
  ].join("\n");
  assert.deepEqual(errorsOf(text), [
    "recipes/q.yaml:3:9: quantize.bits: expected one of 8 | 4 (bits per weight), got 16",
    "recipes/q.yaml:4:16: quantize.granularity: expected one of per-row | per-tensor, got \"per-channel\"",
    "recipes/q.yaml:5:15: quantize.startEpoch: expected an integer >= 0, got -1",
    'recipes/q.yaml:6:3: quantize.bit: unknown key "bit" (did you mean "bits"?); allowed here: bits, granularity, startEpoch',
  ]);
  assert.deepEqual(errorsOf("quantize: {bits: \"8\"}\n"), ['recipes/q.yaml:1:18: quantize.bits: expected one of 8 | 4 (bits per weight), got "8"']);
  assert.deepEqual(errorsOf("quantize: int8\n"), ['recipes/q.yaml:1:11: quantize: expected a mapping of keys to values, got "int8"']);
});
