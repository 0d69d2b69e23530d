// Criteria: each score is the formula of its paper on small hand-checked inputs; movement follows pruning.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  gradientScores, groupOf, magnitudeScores, MovementAccumulator, randomScores, scoreWeights, snipScores, taylorScores,
} from "../../src/sparse/criteria.js";
import { Rng } from "../../src/tensor/rng.js";

test("magnitude, gradient, Taylor and SNIP scores", () => {
  const w = [0.5, -2, 0, 1];
  const g = [-1, 0.25, 3, -0.5];
  assert.deepEqual([...magnitudeScores(w)], [0.5, 2, 0, 1]);
  assert.deepEqual([...gradientScores(g)], [1, 0.25, 3, 0.5]);
  assert.deepEqual([...taylorScores(w, g)], [0.5, 0.5, 0, 0.5]);
  assert.deepEqual([...snipScores(w, g)].map((v) => +v.toFixed(6)), [1 / 3, 1 / 3, 0, 1 / 3].map((v) => +v.toFixed(6)));
  assert.throws(() => scoreWeights("taylor", { name: "layers.0.weight", values: w }), /needs the gradient of layers\.0\.weight/);
});

test("random scores depend only on the stream (seed, parameter name, purpose)", () => {
  const a = randomScores(5, new Rng(3, "prune/random/layers.0.weight"));
  const b = randomScores(5, new Rng(3, "prune/random/layers.0.weight"));
  const c = randomScores(5, new Rng(3, "prune/random/layers.2.weight"));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test("movement accumulates −w·g and drops pruned entries", () => {
  const m = new MovementAccumulator(3);
  m.accumulate([1, -1, 2], [0.5, 0.5, -1]); // −w·g = [−0.5, 0.5, 2]
  m.accumulate([1, -1, 2], [0.5, 0.5, -1]);
  assert.deepEqual([...m.scores()], [-1, 1, 4]);
  m.keepOnly([1, 0, 1]);
  assert.deepEqual([...m.scores()], [-1, 4]);
  assert.throws(() => m.accumulate([1], [1]), /1 weights, accumulator has 2/);
});

test("groupOf names the neuron, input, filter or channel of each position", () => {
  assert.deepEqual([...groupOf([0, 1, 2, 3, 4, 5], [3, 2], 0)], [0, 0, 1, 1, 2, 2]);
  assert.deepEqual([...groupOf([0, 1, 2, 3, 4, 5], [3, 2], 1)], [0, 1, 0, 1, 0, 1]);
});
