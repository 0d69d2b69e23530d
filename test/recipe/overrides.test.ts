// --set overrides: YAML-typed values, created sections, list indices, null removal, exclusive keys, and errors that point at the override.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRecipe } from "../../src/recipe/load.js";
import { applyOverrides, parseOverrides } from "../../src/recipe/overrides.js";
import { exclusiveRecipeKeys } from "../../src/recipe/schema.js";

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

test("an override that creates a section the file lacks is named for that section's errors", () => {
  const yaml = "model: {preset: mlp, widths: [10]}\n";
  assert.throws(() => parseRecipe(yaml, "r.yaml", ["sparsty.density=0.1"]), {
    message: /^--set sparsty\.density=0\.1: sparsty: unknown key "sparsty" \(did you mean "sparsity"\?\); allowed here: name, /,
  });
  assert.throws(() => parseRecipe(yaml, "r.yaml", ["sparsity.density=0.1"]), {
    message: /^--set sparsity\.density=0\.1: sparsity\.method: expected one of static \| set \| rigl/,
  });
});

test("null removes a key (a list item) so its default applies; removing what is absent creates nothing", () => {
  const recipe = { train: { epochs: 3, evalEvery: 2 }, model: { widths: [300, 100, 50] } };
  assert.deepEqual(applyOverrides(recipe, ["train.epochs=null", "train.evalEvery=~", "model.widths.1=", "optimizer.lr=null", "model.sparse.0=null"]), {
    train: {},
    model: { widths: [300, 50] },
  });
  assert.deepEqual(applyOverrides(recipe, ["train=null"]), { model: { widths: [300, 100, 50] } });
  assert.deepEqual(applyOverrides(recipe, ["model.widths.7=null"]), recipe);
  assert.throws(() => applyOverrides(recipe, ["model.widths.x=null"]), { message: '--set model.widths.x=null: "x" is not an index of a list of 3 items' });
  assert.throws(() => applyOverrides(recipe, ["train.epochs.x=null"]), { message: "--set train.epochs.x=null: train.epochs is 3, not a section that can hold x" });
  const yaml = "train: {epochs: 3, evalEvery: 2}\n";
  assert.equal(parseRecipe(yaml, "r.yaml", ["train.epochs=null"]).train.epochs, 10);
  assert.equal(parseRecipe(yaml, "r.yaml", ["train.evalEvery=null"]).train.evalEvery, 1);
  // A required key removed is reported at the override that removed it.
  assert.throws(() => parseRecipe("model: {preset: mlp, widths: [10]}\n", "r.yaml", ["model.widths=null"]), { message: /^--set model\.widths=null: model\.widths: / });
});

test("setting one of an exclusive pair replaces the other: train.epochs / train.steps", () => {
  const epochs = parseRecipe("train: {epochs: 12}\n", "r.yaml", ["train.steps=2"]);
  assert.equal(epochs.train.steps, 2);
  assert.equal(epochs.train.epochs, undefined);
  const steps = parseRecipe("train: {steps: 500}\n", "r.yaml", ["train.epochs=2"]);
  assert.deepEqual([steps.train.epochs, steps.train.steps], [2, undefined]);
  // Both by override: the last one wins. Both in the YAML stays an error.
  assert.deepEqual(applyOverrides({}, ["train.epochs=3", "train.steps=4"]), { train: { steps: 4 } });
  assert.throws(() => parseRecipe("train: {epochs: 2, steps: 3}\n", "r.yaml"), /r\.yaml:1:\d+: train\.steps: expected either epochs or steps, not both/);
  // Without the table the pair still conflicts: the replacement comes from it, not from a special case.
  assert.deepEqual(applyOverrides({ train: { epochs: 1 } }, ["train.steps=2"], []), { train: { epochs: 1, steps: 2 } });
});

test("one-shot pruning: sparsity.nm replaces sparsity.sparsity and back; other methods keep their keys", () => {
  const oneShot = "sparsity: {method: one-shot, sparsity: 0.5}\n";
  const nm = parseRecipe(oneShot, "r.yaml", ["sparsity.nm=2:4"]).sparsity as { nm?: string; sparsity?: number };
  assert.deepEqual([nm.nm, nm.sparsity], ["2:4", undefined]);
  const back = parseRecipe('sparsity: {method: one-shot, nm: "2:4"}\n', "r.yaml", ["sparsity.sparsity=0.7"]).sparsity as { nm?: string; sparsity?: number };
  assert.deepEqual([back.nm, back.sparsity], [undefined, 0.7]);
  // The group applies to one-shot only: iterative has no nm, and its sparsity stays.
  const iterative = { sparsity: { method: "iterative", sparsity: 0.9, rounds: 3, roundEpochs: 1 } };
  assert.deepEqual(applyOverrides(iterative, ["sparsity.nm=2:4"]), { sparsity: { ...iterative.sparsity, nm: "2:4" } });
});

test("every exclusive group in the table is one the schema rejects when both keys are set", () => {
  // Valid values for each group's keys, with whatever else its section needs.
  const samples: Record<string, Record<string, unknown>> = {
    train: { epochs: 2, steps: 3 },
    sparsity: { method: "one-shot", sparsity: 0.5, nm: "2:4" },
  };
  for (const group of exclusiveRecipeKeys) {
    const both = samples[group.section];
    assert.ok(both !== undefined && group.keys.every((k) => k in both), `no sample for ${group.section}: add one`);
    const recipe = { [group.section]: both };
    assert.throws(() => parseRecipe(JSON.stringify(recipe), "r.yaml"), /not both/, `${group.section}: ${group.keys.join(", ")}`);
    for (const key of group.keys) {
      const value = both[key];
      const other = Object.fromEntries(Object.entries(both).filter(([k]) => k === key || !group.keys.includes(k)));
      assert.doesNotThrow(() => parseRecipe(JSON.stringify(recipe), "r.yaml", [`${group.section}.${key}=${JSON.stringify(value)}`]));
      assert.deepEqual((applyOverrides(recipe, [`${group.section}.${key}=${JSON.stringify(value)}`]) as Record<string, unknown>)[group.section], other);
    }
  }
});
