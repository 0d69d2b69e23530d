// An in-memory classification dataset (features [N][D] as float32, integer labels) with seeded splits and subsets.
import { Rng } from "../tensor/rng.js";

export class Dataset {
  /** Number of features per example: the product of `featureShape`. */
  readonly featureSize: number;

  constructor(
    /** (N, D) row-major. */
    readonly features: Float32Array,
    /** (N,) class indices in [0, classCount). */
    readonly labels: Int32Array,
    /** Shape of one example, e.g. [1, 28, 28] for images or [D] for tabular rows. */
    readonly featureShape: number[],
    readonly classCount: number,
    /** Names the dataset in error messages, e.g. "mnist/train". */
    readonly name = "dataset",
  ) {
    this.featureSize = featureShape.reduce((a, b) => a * b, 1);
    if (features.length !== labels.length * this.featureSize) {
      throw new RangeError(
        `${name}: ${features.length} feature values do not make ${labels.length} examples of shape [${featureShape.join(", ")}] ` +
          `(expected ${labels.length * this.featureSize})`,
      );
    }
    if (!(Number.isInteger(classCount) && classCount >= 1)) throw new RangeError(`${name}: class count must be a positive integer, got ${classCount}`);
    for (let i = 0; i < labels.length; i++) {
      if (!(labels[i] >= 0 && labels[i] < classCount)) {
        throw new RangeError(`${name}: label ${labels[i]} of example ${i} is outside [0, ${classCount - 1}]`);
      }
    }
  }

  /** Number of examples. */
  get length(): number {
    return this.labels.length;
  }

  /** A copy holding the examples at `indices`, in that order. */
  subset(indices: ArrayLike<number>, name = this.name): Dataset {
    const d = this.featureSize;
    const features = new Float32Array(indices.length * d);
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const from = indices[i];
      if (!(Number.isInteger(from) && from >= 0 && from < this.length)) {
        throw new RangeError(`${this.name}: subset index ${from} is outside [0, ${this.length - 1}]`);
      }
      features.set(this.features.subarray(from * d, (from + 1) * d), i * d);
      labels[i] = this.labels[from];
    }
    return new Dataset(features, labels, [...this.featureShape], this.classCount, name);
  }

  /** The first `count` examples (all of them if there are fewer): deterministic subsets for quick runs. */
  limit(count: number): Dataset {
    if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`${this.name}: limit must be an integer >= 0, got ${count}`);
    if (count >= this.length) return this;
    const d = this.featureSize;
    return new Dataset(this.features.slice(0, count * d), this.labels.slice(0, count), [...this.featureShape], this.classCount, this.name);
  }

  /**
   * Splits off a random `fraction` of the examples as a validation set. The permutation depends only
   * on (seed, purpose), so a resumed run gets the same split.
   */
  split(fraction: number, seed: number, purpose = "data/validation-split"): { train: Dataset; validation: Dataset } {
    if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`${this.name}: validation fraction must be in [0, 1), got ${fraction}`);
    const order = seededPermutation(this.length, seed, purpose);
    const validationCount = Math.round(this.length * fraction);
    // Sorting each part keeps the original order within it, so `limit` before or after a split behaves alike.
    const validationIndices = order.slice(0, validationCount).sort();
    const trainIndices = order.slice(validationCount).sort();
    return {
      train: this.subset(trainIndices, `${this.name}/train`),
      validation: this.subset(validationIndices, `${this.name}/validation`),
    };
  }

  /** The same examples with a larger class count (when another split has more classes). */
  withClassCount(classCount: number): Dataset {
    return new Dataset(this.features, this.labels, this.featureShape, classCount, this.name);
  }

  /** Number of examples per class, for reports and sanity checks. */
  classCounts(): Int32Array {
    const counts = new Int32Array(this.classCount);
    for (let i = 0; i < this.labels.length; i++) counts[this.labels[i]]++;
    return counts;
  }
}

/** A permutation of 0..n−1 that depends only on (seed, purpose). */
export function seededPermutation(n: number, seed: number, purpose: string): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return new Rng(seed, purpose).shuffle(order);
}
