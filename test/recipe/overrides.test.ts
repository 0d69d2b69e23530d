// --set overrides: YAML-typed values, created sections, list indices, and errors that point at the override.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRecipe } from "../../src/recipe/load.js";
import { applyOverrides, parseOverrides } from "../../src/recipe/overrides.js";

test("values are parsed as YAML scalars and flow collections", () => {
  assert.deepEqual(parseOverrides(["optimizer.lr=0.1", "model.widths=[300,100]", "data.shuffle=false", "name=run 1", "x={a: 1}", "empty="]), [
    { text: "optimizer.lr=0.1", path: ["optimizer", "lr"], value: 0.1 },
    { text: "model.widths=[300,100]", path: ["model", "widths"], value: [300, 100] },
    { text: "data.shuffle=false", path: ["data", "shuffle"], value: false },
    { text: "name=run 1", path: ["name"], value: "run 1" },
    { text: "x={a: 1}", path: ["x"], value: { a: 1 } },
    { text: "empty=", path: ["empty"], value: null },
  ]);
});

test("applyOverrides copies, creates missing sections and indexes lists", () => {
  const recipe = { optimizer: { name: "sgd", lr: 1 }, model: { widths: [1, 2] } };
  const result = applyOverrides(recipe, ["optimizer.lr=0.1", "model.widths.1=50", "model.widths.2=7", "train.earlyStopping.patience=3", "model.sparse.0.density=0.2"]);
  assert.deepEqual(result, {
    optimizer: { name: "sgd", lr: 0.1 },
    model: { widths: [1, 50, 7], sparse: { "0": { density: 0.2 } } },
    train: { earlyStopping: { patience: 3 } },
  });
  assert.deepEqual(recipe, { optimizer: { name: "sgd", lr: 1 }, model: { widths: [1, 2] } });
  assert.deepEqual(applyOverrides(null, ["seed=4"]), { seed: 4 });
});

test("malformed overrides are errors naming the override", () => {
  assert.throws(() => parseOverrides(["optimizer.lr"]), { message: "--set optimizer.lr: expected path.to.key=value, e.g. optimizer.lr=0.05 or model.widths=[300,100]" });
  assert.throws(() => parseOverrides(["=3"]), /--set =3: expected path\.to\.key=value/);
  assert.throws(() => parseOverrides(["a..b=3"]), /--set a\.\.b=3: expected path\.to\.key=value/);
  assert.throws(() => parseOverrides(["a=[1, 2"]), /--set a=\[1, 2: the value is not valid YAML/);
  assert.throws(() => applyOverrides({ optimizer: { lr: 1 } }, ["optimizer.lr.x=1"]), { message: "--set optimizer.lr.x=1: optimizer.lr is 1, not a section that can hold x" });
  assert.throws(() => applyOverrides({ w: [1] }, ["w.5=1"]), /--set w\.5=1: "5" is not an index of a list of 1 items \(use 0 to 1\)/);
  assert.throws(() => applyOverrides({ w: [1] }, ["w.x=1"]), /"x" is not an index of a list of 1 items/);
  assert.throws(() => applyOverrides(3, ["a=1"]), /--set: the recipe is 3, not a mapping/);
});

test("overrides apply before validation; their errors point at the override, the rest at the YAML", () => {
  const yaml = "optimizer:\n  name: sgd\n  lr: 0.1\nmodel: {preset: mlp, widths: [10]}\n";
  const recipe = parseRecipe(yaml, "r.yaml", ["optimizer.lr=0.02", "optimizer.momentum=0.9", "model.widths=[300,100]"]);
  assert.equal(recipe.optimizer.lr, 0.02);
  assert.deepEqual(recipe.model.preset === "mlp" && recipe.model.widths, [300, 100]);
  assert.throws(() => parseRecipe(yaml, "r.yaml", ["optimizer.lr=fast", "model.widths=[300,x]", "optimizer.lrr=1", "seed=-2"]), {
    message: [
      '--set optimizer.lr=fast: optimizer.lr: expected a number > 0, got "fast"',
      '--set model.widths=[300,x]: model.widths[1]: expected an integer >= 1, got "x"',
      '--set optimizer.lrr=1: optimizer.lrr: unknown key "lrr" (did you mean "lr"?); allowed here: name, lr, momentum, nesterov, weightDecay, paramGroups, gradClip, weightClip',
      "--set seed=-2: seed: expected an integer >= 0, got -2",
    ].join("\n"),
  });
  // Switching the optimizer by override leaves a YAML key that the new one does not allow: the YAML line is named.
  assert.throws(() => parseRecipe("optimizer:\n  name: sgd\n  momentum: 0.9\n", "r.yaml", ["optimizer.name=adam"]), {
    message: 'r.yaml:3:3: optimizer.momentum: unknown key "momentum"; allowed here: name, lr, betas, eps, weightDecay, paramGroups, gradClip, weightClip',
  });
});
