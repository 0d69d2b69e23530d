// The committed JSON Schema matches the zod schema, and parameter-name patterns match as documented.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { recipeJsonSchema, recipeJsonSchemaText } from "../../src/recipe/json-schema.js";
import { firstMatchingPattern, matchesPattern } from "../../src/recipe/pattern.js";

test("schema/recipe.schema.json is up to date (regenerate with node scripts/generate-schema.mjs)", () => {
  assert.equal(readFileSync("schema/recipe.schema.json", "utf8"), recipeJsonSchemaText());
});

test("the JSON Schema is strict at the top and lists every section", () => {
  const schema = recipeJsonSchema() as { additionalProperties: boolean; properties: Record<string, unknown>; required?: string[] };
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(Object.keys(schema.properties), ["name", "description", "seed", "data", "model", "optimizer", "schedule", "train", "output", "sparsity", "quantize", "distill"]);
  assert.equal(schema.required, undefined);
});

test("parameter patterns: * matches any characters, everything else literally", () => {
  assert.ok(matchesPattern("layers.0.weight", "layers.0.*"));
  assert.ok(matchesPattern("layers.3.bias", "*.bias"));
  assert.ok(matchesPattern("layers.3.bias", "*"));
  assert.ok(!matchesPattern("layers.10.weight", "layers.1.*"));
  assert.ok(!matchesPattern("layersX0.weight", "layers.0.weight"));
  assert.ok(!matchesPattern("layers.0.weight_mask", "layers.0.weight"));
  assert.equal(firstMatchingPattern("layers.2.bias", ["layers.0.*", "*.bias", "layers.2.*"]), 1);
  assert.equal(firstMatchingPattern("layers.2.weight", ["layers.0.*"]), -1);
});
