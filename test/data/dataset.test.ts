// Dataset splits, subsets, normalization and batching: seeded, allocation-free per batch, fitted on training data only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchLoader } from "../../src/data/batches.js";
import { Dataset, seededPermutation } from "../../src/data/dataset.js";
import { applyNormalizer, fitNormalizer } from "../../src/data/normalize.js";

/** n examples of d features where feature j of example i is i·100 + j, label i mod classes. */
function ramp(n: number, d: number, classes = 3): Dataset {
  const x = Float32Array.from({ length: n * d }, (_, k) => Math.floor(k / d) * 100 + (k % d));
  return new Dataset(x, Int32Array.from({ length: n }, (_, i) => i % classes), [d], classes, "ramp");
}

test("constructor checks sizes and labels", () => {
  assert.throws(() => new Dataset(new Float32Array(5), new Int32Array(2), [3], 2, "bad"), /bad: 5 feature values do not make 2 examples of shape \[3\] \(expected 6\)/);
  assert.throws(() => new Dataset(new Float32Array(2), Int32Array.from([0, 4]), [1], 3, "lab"), /lab: label 4 of example 1 is outside \[0, 2\]/);
});

test("subset copies rows in order; limit keeps the first examples", () => {
  const data = ramp(7, 3);
  const sub = data.subset([4, 0]);
  assert.deepEqual([...sub.features], [400, 401, 402, 0, 1, 2]);
  assert.deepEqual([...sub.labels], [1, 0]);
  assert.equal(data.limit(2).length, 2);
  assert.deepEqual([...data.limit(2).labels], [0, 1]);
  assert.equal(data.limit(100), data);
  assert.throws(() => data.subset([7]), /ramp: subset index 7 is outside \[0, 6\]/);
});

test("split is seeded, disjoint, complete and sized by the fraction", () => {
  const data = ramp(101, 2);
  const a = data.split(0.2, 5);
  const b = data.split(0.2, 5);
  const c = data.split(0.2, 6);
  assert.equal(a.validation.length, 20);
  assert.equal(a.train.length, 81);
  assert.deepEqual([...a.validation.features], [...b.validation.features]);
  assert.notDeepEqual([...a.validation.features], [...c.validation.features]);
  const ids = (d: Dataset) => [...d.features].filter((_, k) => k % 2 === 0).map((v) => v / 100);
  const all = [...ids(a.train), ...ids(a.validation)].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 101 }, (_, i) => i));
  assert.equal(data.split(0, 1).validation.length, 0);
  assert.throws(() => data.split(1, 1), /validation fraction must be in \[0, 1\), got 1/);
});

test("normalizers are fitted on training data and applied unchanged elsewhere", () => {
  const train = new Dataset(Float32Array.from([0, 10, 2, 10, 4, 10]), new Int32Array(3), [2], 1, "t");
  const scale = fitNormalizer("scale", train);
  assert.deepEqual(scale, { kind: "scale", shift: [0], factor: [0.1] });
  const global = fitNormalizer("standardize", train);
  assert.ok(Math.abs(global.shift[0] - 6) < 1e-12);
  const perFeature = fitNormalizer("standardize-features", train);
  assert.deepEqual(perFeature.shift, [2, 10]);
  // Feature 0 has population std sqrt(8/3); feature 1 is constant, so its std becomes 1.
  assert.ok(Math.abs(perFeature.factor[0] - 1 / Math.sqrt(8 / 3)) < 1e-12);
  assert.equal(perFeature.factor[1], 1);
  const test_ = new Dataset(Float32Array.from([2, 12]), new Int32Array(1), [2], 1, "test");
  applyNormalizer(perFeature, test_);
  assert.deepEqual([...test_.features], [0, 2]);
  applyNormalizer(fitNormalizer("standardize-features", train), train);
  const mean0 = (train.features[0] + train.features[2] + train.features[4]) / 3;
  assert.ok(Math.abs(mean0) < 1e-6);
  assert.throws(() => applyNormalizer(perFeature, ramp(1, 3)), /ramp: normalizer has 2 features, the dataset 3/);
});

test("batches cover an epoch exactly once, reuse their buffers and keep or drop the last", () => {
  const data = ramp(10, 3);
  const loader = new BatchLoader(data, { batchSize: 4, shuffleSeed: 9 });
  assert.equal(loader.batchesPerEpoch, 3);
  const seen: number[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const sizes: number[] = [];
  for (const batch of loader.epoch(0)) {
    sizes.push(batch.size);
    buffers.add(batch.features.buffer);
    for (let i = 0; i < batch.size; i++) {
      const id = batch.features[i * 3] / 100;
      assert.equal(batch.labels[i], id % 3);
      assert.equal(batch.features[i * 3 + 2], id * 100 + 2);
      seen.push(id);
    }
  }
  assert.deepEqual(sizes, [4, 4, 2]);
  assert.equal(buffers.size, 1);
  assert.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(seen, [...seededPermutation(10, 9, "data/shuffle/epoch-0")]);
  const again = [...loader.epoch(0)].length;
  assert.equal(again, 3);
  // Same epoch → same order (resume); next epoch → a different order.
  assert.equal(loader.fill(0, 0).features[0], seen[0] * 100);
  const epoch1 = [...seededPermutation(10, 9, "data/shuffle/epoch-1")];
  assert.notDeepEqual(epoch1, seen);
  assert.equal(loader.fill(1, 0).features[0], epoch1[0] * 100);

  const dropping = new BatchLoader(data, { batchSize: 4, dropLast: true });
  assert.deepEqual([...dropping.epoch(0)].map((b) => b.size), [4, 4]);
  assert.deepEqual([...dropping.fill(0, 1).labels], [1, 2, 0, 1]);
  assert.throws(() => dropping.fill(0, 2), /ramp: batch 2 is outside \[0, 1\]/);
  assert.throws(() => new BatchLoader(data, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  assert.equal(new BatchLoader(ramp(0, 3), { batchSize: 4 }).batchesPerEpoch, 0);
});

test("features-first layout transposes each batch to (D, B)", () => {
  const data = ramp(5, 3);
  const loader = new BatchLoader(data, { batchSize: 2, layout: "features-first" });
  const last = loader.fill(0, 2);
  assert.equal(last.size, 1);
  assert.deepEqual([...last.features], [400, 401, 402]);
  const first = loader.fill(0, 0);
  // (D = 3, B = 2): feature j of examples 0 and 1 side by side.
  assert.deepEqual([...first.features], [0, 100, 1, 101, 2, 102]);
});
