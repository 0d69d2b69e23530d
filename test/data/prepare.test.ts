// prepareData: limits, seeded validation split, normalization fitted on training data, CSV train/test files.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { prepareData } from "../../src/data/prepare.js";

test("MNIST with limits, a validation split and standardization from the training part", () => {
  const data = prepareData({ dataset: "mnist", validation: 0.2, limit: { train: 1000, test: 300 }, normalize: "standardize" }, 1);
  assert.equal(data.train.length, 800);
  assert.equal(data.validation.length, 200);
  assert.equal(data.test.length, 300);
  let sum = 0;
  for (const v of data.train.features) sum += v;
  assert.ok(Math.abs(sum / data.train.features.length) < 1e-4);
  // The MNIST pixel mean is about 0.1307 · 255 ≈ 33.3.
  assert.ok(Math.abs(data.normalizer.shift[0] - 33.3) < 2);
  const again = prepareData({ dataset: "mnist", validation: 0.2, limit: { train: 1000, test: 300 }, normalize: "standardize" }, 1);
  assert.deepEqual(again.validation.labels, data.validation.labels);
});

test("CSV: a held-out test fraction, or a separate test file with the class count of both", () => {
  const dir = mkdtempSync(join(tmpdir(), "prepare-"));
  const trainPath = join(dir, "train.csv");
  const rows = Array.from({ length: 50 }, (_, i) => `${i},${i % 3}`);
  writeFileSync(trainPath, ["x,label", ...rows].join("\n"));
  const split = prepareData({ dataset: "csv", path: trainPath, testFraction: 0.2, validation: 0.25, normalize: "scale" }, 3);
  assert.equal(split.test.length, 10);
  assert.equal(split.validation.length, 10);
  assert.equal(split.train.length, 30);
  assert.ok(Math.min(...split.train.features) === 0 && Math.max(...split.train.features) === 1);

  const testPath = join(dir, "test.csv");
  writeFileSync(testPath, "x,label\n1,4\n");
  const separate = prepareData({ dataset: "csv", path: trainPath, testPath, validation: 0, normalize: "none" }, 3);
  assert.equal(separate.train.classCount, 5);
  assert.equal(separate.test.classCount, 5);
  assert.equal(separate.validation.length, 0);
  writeFileSync(testPath, "x,y,label\n1,2,0\n");
  assert.throws(() => prepareData({ dataset: "csv", path: trainPath, testPath, validation: 0, normalize: "none" }, 3), /test\.csv: 2 feature columns, but .*train\.csv has 1/);
});
