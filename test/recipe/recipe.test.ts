// Recipes: defaults, the shipped examples, and every kind of error reported with its YAML line and column.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { DataOptions } from "../../src/data/prepare.js";
import { loadRecipe, parseRecipe, validateRecipe } from "../../src/recipe/load.js";
import { RecipeError } from "../../src/recipe/recipe-error.js";

/** The error lines parseRecipe reports for `text` (the test fails if it does not throw a RecipeError). */
function errorsOf(text: string, overrides: string[] = []): string[] {
  try {
    parseRecipe(text, "recipes/x.yaml", overrides);
  } catch (error) {
    assert.ok(error instanceof RecipeError, `expected a RecipeError, got ${error}`);
    assert.equal(error.message, error.issues.map((i) => `${i.where}: ${i.path ? `${i.path}: ` : ""}${i.message}`).join("\n"));
    return error.message.split("\n");
  }
  assert.fail("expected the recipe to be rejected");
}

test("an empty recipe gets every default", () => {
  const recipe = parseRecipe("", "recipes/quick.yaml");
  assert.equal(recipe.name, "quick");
  assert.equal(recipe.seed, 0);
  assert.deepEqual(recipe.data, {
    dataset: "mnist", validation: 0.1, limit: {}, normalize: "standardize", batchSize: 128, evalBatchSize: 1000, dropLast: false, shuffle: true,
  });
  assert.deepEqual(recipe.model, { preset: "lenet-300-100", batchNorm: false, activation: "relu", dropout: 0, sparse: {} });
  assert.deepEqual(recipe.optimizer, { name: "sgd", lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0, paramGroups: [] });
  assert.deepEqual(recipe.schedule, { name: "constant", factor: 1, unit: "epoch" });
  assert.deepEqual(recipe.train, { epochs: 10, evalEvery: 1, threads: 1, labelSmoothing: 0 });
  assert.deepEqual(recipe.output, { checkpointEvery: 1, runDir: "runs/quick" });
});

test("a full recipe: every section, sparse layers, parameter groups, a schedule sequence", () => {
  const recipe = parseRecipe(
    `
name: full
seed: 7
data: {dataset: csv, path: data/iris.csv, labelColumn: species, validation: 0.2, limit: {train: 100}}
model:
  preset: mlp
  widths: [64, 32]
  activation: tanh
  sparse:
    0: {density: 0.1}
    layers.2: {density: 0.5}
optimizer:
  name: adamw
  lr: 3e-4
  paramGroups:
    - {pattern: "*.bias", weightDecay: 0}
  gradClip: 1
schedule:
  unit: step
  name: sequence
  parts:
    - {name: warmup, length: 100, startFactor: 0.1}
    - {name: multistep, milestones: [1000, 2000], length: 3000}
    - {name: exponential, gamma: 0.999}
train: {steps: 5000, evalEvery: 500, earlyStopping: {patience: 3, metric: val_accuracy}}
output: {runDir: /tmp/run, checkpointEvery: 0}
`,
    "full.yaml",
  );
  assert.equal(recipe.seed, 7);
  assert.equal(recipe.data.dataset, "csv");
  assert.deepEqual(recipe.model.sparse, { "0": { density: 0.1 }, "layers.2": { density: 0.5 } });
  assert.equal(recipe.optimizer.name, "adamw");
  assert.equal(recipe.optimizer.weightDecay, 0.01);
  assert.equal(recipe.optimizer.lr, 3e-4);
  assert.deepEqual(recipe.optimizer.paramGroups, [{ pattern: "*.bias", weightDecay: 0 }]);
  assert.equal(recipe.schedule.name, "sequence");
  assert.deepEqual(recipe.train, { steps: 5000, evalEvery: 500, earlyStopping: { patience: 3, metric: "val_accuracy", minDelta: 0 }, epochs: undefined, threads: 1, labelSmoothing: 0 });
  assert.equal(recipe.output.runDir, "/tmp/run");
});

test("the shipped recipes are valid", () => {
  const lenet300 = loadRecipe("recipes/lenet-300-100.yaml");
  assert.equal(lenet300.model.preset, "lenet-300-100");
  assert.deepEqual(lenet300.model.sparse, {});
  assert.equal(lenet300.optimizer.name === "sgd" && lenet300.optimizer.momentum, 0.9);
  assert.equal(lenet300.data.batchSize, 128);
  assert.equal(loadRecipe("recipes/lenet-5.yaml").model.preset, "lenet-5");
  // The data section is what prepareData takes (checked by the compiler).
  const options: DataOptions = lenet300.data;
  assert.equal(options.dataset, "mnist");
});

test("wrong types and out-of-range values: line, column, path, what is allowed and what was found", () => {
  const text = [
    "optimizer:", //                           line 1
    "  name: sgd", //                          line 2
    "  lr: fast", //                           line 3, value at column 7
    "  momentum: 1.5", //                      line 4
    "data:", //                                line 5
    "  batchSize: 12.5", //                    line 6
    "  normalize: zscore", //                  line 7
    "model: {preset: mlp, widths: [300, 0]}", // line 8: widths[1] at column 36
  ].join("\n");
  assert.deepEqual(errorsOf(text), [
    "recipes/x.yaml:3:7: optimizer.lr: expected a number > 0, got \"fast\"",
    "recipes/x.yaml:4:13: optimizer.momentum: expected a number in [0, 1), got 1.5",
    "recipes/x.yaml:6:14: data.batchSize: expected an integer >= 1, got 12.5",
    "recipes/x.yaml:7:14: data.normalize: expected one of none | scale | standardize | standardize-features, got \"zscore\"",
    "recipes/x.yaml:8:36: model.widths[1]: expected an integer >= 1, got 0",
  ]);
});

test("unknown keys at any level name the key, suggest a close one and list the allowed ones", () => {
  assert.deepEqual(errorsOf("seed: 1\nsparsty: {method: rigl}\noptimizer:\n  name: adam\n  lr: 0.01\n  beta: [0.9, 0.99]\n"), [
    'recipes/x.yaml:2:1: sparsty: unknown key "sparsty" (did you mean "sparsity"?); allowed here: name, description, seed, data, model, optimizer, schedule, train, output, sparsity, quantize, distill',
    'recipes/x.yaml:6:3: optimizer.beta: unknown key "beta" (did you mean "betas"?); allowed here: name, lr, betas, eps, weightDecay, paramGroups, gradClip, weightClip',
  ]);
  // A key valid for one preset is unknown for another.
  assert.deepEqual(errorsOf("model:\n  preset: lenet-5\n  widths: [10]\n"), [
    'recipes/x.yaml:3:3: model.widths: unknown key "widths"; allowed here: preset, initFrom, activation, dropout, sparse',
  ]);
  assert.deepEqual(errorsOf("train:\n  earlyStopping: {patience: 2, Metric: val_loss}\n"), [
    'recipes/x.yaml:2:32: train.earlyStopping.Metric: unknown key "Metric" (did you mean "metric"?); allowed here: patience, metric, minDelta',
  ]);
});

test("missing required fields point at their section; bad choices list the options", () => {
  assert.deepEqual(errorsOf("model:\n  preset: mlp\n"), ["recipes/x.yaml:1:1: model.widths: expected a list of layer widths, e.g. [300, 100], but it is missing"]);
  assert.deepEqual(errorsOf("seed: 3\ndata:\n  dataset: fashion\n"), ['recipes/x.yaml:3:12: data.dataset: expected one of mnist | fashion-mnist | csv, got "fashion"']);
  // Sections default their kind (mnist, lenet-300-100, sgd, constant), so a partial section needs none.
  const partial = parseRecipe("data: {batchSize: 32}\nmodel: {dropout: 0.5}\noptimizer: {lr: 0.5}\nschedule: {unit: step}\n", "p.yaml");
  assert.equal(partial.data.dataset, "mnist");
  assert.equal(partial.model.preset, "lenet-300-100");
  assert.equal(partial.optimizer.name, "sgd");
  assert.equal(partial.schedule.name, "constant");
  assert.deepEqual(errorsOf("optimizer: {name: rmsprop}\n"), ['recipes/x.yaml:1:19: optimizer.name: expected one of sgd | adam | adamw, got "rmsprop"']);
  assert.deepEqual(errorsOf("data:\n  dataset: csv\n"), ["recipes/x.yaml:1:1: data.path: expected a non-empty string, but it is missing"]);
  assert.deepEqual(errorsOf("schedule: {name: step}\n"), ["recipes/x.yaml:1:1: schedule.stepSize: expected an integer >= 1, but it is missing"]);
  assert.deepEqual(errorsOf("optimizer: fast\n"), ['recipes/x.yaml:1:12: optimizer: expected a mapping of keys to values, got "fast"']);
  assert.deepEqual(errorsOf("- 1\n- 2\n"), ["recipes/x.yaml:1:1: expected a mapping of keys to values, got [1,2]"]);
});

test("cross-field rules, record keys and sequence parts", () => {
  assert.deepEqual(errorsOf("train:\n  epochs: 3\n  steps: 100\n"), ["recipes/x.yaml:3:10: train.steps: expected either epochs or steps, not both, got 100"]);
  assert.deepEqual(errorsOf("optimizer: {name: sgd, nesterov: true}\n"), [
    "recipes/x.yaml:1:34: optimizer.nesterov: expected false when momentum is 0 (Nesterov needs momentum > 0), got true",
  ]);
  assert.deepEqual(errorsOf("model:\n  sparse:\n    fc1: {density: 0.5}\n    1: {density: 0}\n"), [
    'recipes/x.yaml:3:5: model.sparse.fc1: expected a layer index ("0") or name ("layers.0"), got key "fc1"',
    "recipes/x.yaml:4:18: model.sparse.1.density: expected a density in (0, 1], got 0",
  ]);
  assert.deepEqual(errorsOf("schedule:\n  name: sequence\n  parts:\n    - {name: warmup, length: 5}\n    - {name: cosine}\n    - {name: constant}\n"), [
    "recipes/x.yaml:5:7: schedule.parts[1].length: expected an integer >= 1 (every part but the last needs a length), but it is missing",
  ]);
});

test("every problem is listed, in file order, not just the first", () => {
  const lines = errorsOf("train: {epochs: 0}\nseed: -1\ndata: {batchSize: 0, validation: 1}\n");
  assert.deepEqual(lines, [
    "recipes/x.yaml:1:17: train.epochs: expected an integer >= 1, got 0",
    "recipes/x.yaml:2:7: seed: expected an integer >= 0, got -1",
    "recipes/x.yaml:3:19: data.batchSize: expected an integer >= 1, got 0",
    "recipes/x.yaml:3:34: data.validation: expected a number in [0, 1), got 1",
  ]);
});

test("YAML syntax errors and unreadable files name the place", () => {
  assert.deepEqual(errorsOf("seed: 1\nseed: 2\n"), ["recipes/x.yaml:2:1: invalid YAML: Map keys must be unique"]);
  const [bad] = errorsOf("optimizer:\n  lr: [0.1\n");
  assert.match(bad, /^recipes\/x\.yaml:\d+:\d+: invalid YAML: /);
  assert.throws(() => loadRecipe("recipes/does-not-exist.yaml"), /recipes\/does-not-exist\.yaml: cannot read recipe/);
});

test("loadRecipe reads files and names the run after the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "recipe-"));
  const path = join(dir, "my-run.yml");
  writeFileSync(path, "seed: 5\n");
  const recipe = loadRecipe(path, ["optimizer.lr=0.5"]);
  assert.equal(recipe.name, "my-run");
  assert.equal(recipe.output.runDir, "runs/my-run");
  assert.equal(recipe.optimizer.lr, 0.5);
});

test("validateRecipe checks objects built in code, naming the source and path", () => {
  assert.equal(validateRecipe({ seed: 3 }).seed, 3);
  assert.throws(() => validateRecipe({ optimizer: { name: "sgd", lr: -1 } }, "api"), { message: "api: optimizer.lr: expected a number > 0, got -1" });
});
