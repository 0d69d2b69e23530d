// The --grid syntax: values split at top-level commas and parsed as YAML, the product's order, run folder names, and bad flags.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkDistinctKeys, gridCombinations, parseGridFlag, splitTopLevel } from "../../src/sweep/grid.js";
import { runNames } from "../../src/sweep/run-names.js";

test("values split at commas outside brackets, braces and quotes, and parse as YAML like --set", () => {
  assert.deepEqual(splitTopLevel("0.1, 0.2"), ["0.1", " 0.2"]);
  assert.deepEqual(splitTopLevel('[300,100],[100,30],{a: 1, b: 2},"x,y",\'p,q\''), ["[300,100]", "[100,30]", "{a: 1, b: 2}", '"x,y"', "'p,q'"]);
  const axis = parseGridFlag("model.widths=[300,100], [100,30]");
  assert.equal(axis.key, "model.widths");
  assert.deepEqual(axis.values, [{ text: "[300,100]", value: [300, 100] }, { text: "[100,30]", value: [100, 30] }]);
  assert.deepEqual(parseGridFlag("sparsity.method=rigl,set,null").values.map((v) => v.value), ["rigl", "set", null]);
  assert.deepEqual(parseGridFlag("optimizer.lr=1e-3,0.1").values.map((v) => v.value), [0.001, 0.1]);
});

test("the product varies the first --grid slowest; overrides and labels follow the flags' order", () => {
  const axes = [parseGridFlag("sparsity.method=set,rigl"), parseGridFlag("sparsity.density=0.02,0.05,0.1")];
  const combinations = gridCombinations(axes);
  assert.deepEqual(combinations.map((c) => c.overrides.join(" ")), [
    "sparsity.method=set sparsity.density=0.02", "sparsity.method=set sparsity.density=0.05", "sparsity.method=set sparsity.density=0.1",
    "sparsity.method=rigl sparsity.density=0.02", "sparsity.method=rigl sparsity.density=0.05", "sparsity.method=rigl sparsity.density=0.1",
  ]);
  assert.deepEqual(runNames(combinations).slice(0, 2), ["method=set,density=0.02", "method=set,density=0.05"]);
});

test("run names: last key segments unless two collide, lists flattened, unsafe characters replaced, never shared", () => {
  const colliding = gridCombinations([parseGridFlag("model.sparse.0.density=0.1"), parseGridFlag("sparsity.density=0.2")]);
  assert.deepEqual(runNames(colliding), ["model.sparse.0.density=0.1,sparsity.density=0.2"]);
  assert.deepEqual(runNames(gridCombinations([parseGridFlag("model.widths=[300,100],[ 16 ]")])), ["widths=300-100", "widths=16"]);
  // Distinct values that clean up to one name (or differ only in case) get numbered folders.
  const names = runNames(gridCombinations([parseGridFlag('model.initFrom="a/b.safetensors","a:b.safetensors",A_b.safetensors')]));
  assert.deepEqual(names, ["initFrom=a_b.safetensors", "initFrom=a_b.safetensors~2", "initFrom=A_b.safetensors~3"]);
  for (const name of names) assert.match(name, /^[A-Za-z0-9._+=,~-]+$/);
});

test("bad --grid flags fail naming the flag and what is expected", () => {
  assert.throws(() => parseGridFlag("sparsity.density="), /^Error: --grid sparsity\.density=: no values: expected at least one value/);
  assert.throws(() => parseGridFlag("sparsity.density=0.1,,0.2"), /--grid sparsity\.density=0\.1,,0\.2: value 2 is empty; write null to mean the recipe's default/);
  assert.throws(() => parseGridFlag("sparsity.density=0.1,0.10"), /--grid sparsity\.density=0\.1,0\.10: value "0\.10" repeats "0\.1"/);
  assert.throws(() => parseGridFlag("density"), /--grid density: expected key=value1,value2,\.\.\./);
  assert.throws(() => parseGridFlag("a..b=1"), /--grid a\.\.b=1: expected key=value1,value2/);
  assert.throws(() => parseGridFlag("model.widths=[1"), /--grid model\.widths=\[1: value "\[1": the value is not valid YAML/);
  const axes = [parseGridFlag("sparsity.density=0.1"), parseGridFlag("sparsity.density=0.2")];
  assert.throws(() => checkDistinctKeys(axes, []), /--grid sparsity\.density: sparsity\.density is already varied by another --grid/);
  assert.throws(() => checkDistinctKeys([parseGridFlag("sparsity=null"), parseGridFlag("sparsity.density=0.2")], []), /sparsity is already varied/);
  assert.throws(() => checkDistinctKeys([axes[0]], ["sparsity.density=0.3"]), /--grid sparsity\.density: --set sparsity\.density=0\.3 sets the same field/);
  assert.doesNotThrow(() => checkDistinctKeys([axes[0], parseGridFlag("sparsity.method=set")], ["sparsity.distribution=erk"]));
});
