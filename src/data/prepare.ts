// Turns a data description (a recipe's data section) into normalized train, validation and test sets.
import { readCsvDataset } from "./csv.js";
import type { Dataset } from "./dataset.js";
import { loadImageDataset } from "./mnist.js";
import { applyNormalizer, fitNormalizer, type NormalizeKind, type Normalizer } from "./normalize.js";

/** The fields of a recipe's `data` section that decide which examples are used and how they are scaled. */
export interface DataOptions {
  dataset: "mnist" | "fashion-mnist" | "csv";
  /** mnist / fashion-mnist: folder of the four IDX files. */
  dataDir?: string;
  /** csv: the data file, an optional separate test file, else the held-out test fraction. */
  path?: string;
  testPath?: string;
  testFraction?: number;
  labelColumn?: string;
  delimiter?: string;
  validation: number;
  limit?: { train?: number; test?: number };
  normalize: NormalizeKind;
}

export interface PreparedData {
  train: Dataset;
  /** Empty when validation is 0. */
  validation: Dataset;
  test: Dataset;
  /** Fitted on `train` only; saved with checkpoints so evaluation scales new data the same way. */
  normalizer: Normalizer;
}

/**
 * Loads, subsets (`limit`: the first N examples), splits off validation (seeded) and normalizes.
 * Every random choice depends only on `seed`, so a resumed run sees the same data.
 */
export function prepareData(options: DataOptions, seed: number): PreparedData {
  const { train: full, test: fullTest } = loadSplits(options, seed);
  const limited = options.limit?.train === undefined ? full : full.limit(options.limit.train);
  const test = options.limit?.test === undefined ? fullTest : fullTest.limit(options.limit.test);
  const { train, validation } = limited.split(options.validation, seed);
  const normalizer = fitNormalizer(options.normalize, train);
  for (const part of [train, validation, test]) applyNormalizer(normalizer, part);
  return { train, validation, test, normalizer };
}

function loadSplits(options: DataOptions, seed: number): { train: Dataset; test: Dataset } {
  if (options.dataset !== "csv") return loadImageDataset(options.dataset, options.dataDir);
  if (options.path === undefined) throw new Error("data: dataset csv needs a path to the CSV file");
  const csv = { labelColumn: options.labelColumn ?? "label", delimiter: options.delimiter };
  const all = readCsvDataset(options.path, csv);
  if (options.testPath === undefined) {
    const { train, validation: test } = all.split(options.testFraction ?? 0.2, seed, "data/test-split");
    return { train, test };
  }
  const test = readCsvDataset(options.testPath, csv);
  if (test.featureSize !== all.featureSize) {
    throw new Error(`${options.testPath}: ${test.featureSize} feature columns, but ${options.path} has ${all.featureSize}`);
  }
  const classCount = Math.max(all.classCount, test.classCount);
  return { train: all.withClassCount(classCount), test: test.withClassCount(classCount) };
}
