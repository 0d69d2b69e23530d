// Mini-batches copied into buffers allocated once, in a seeded order that depends only on (seed, epoch).
import { Rng } from "../tensor/rng.js";
import type { Dataset } from "./dataset.js";

/**
 * - `examples-first`: features (B, D), one example per row (dense layers, convolutions).
 * - `features-first`: features (D, B), so SIMD kernels of sparse layers run along the batch (DESIGN.md).
 */
export type BatchLayout = "examples-first" | "features-first";

export interface BatchOptions {
  batchSize: number;
  /** Seed of the per-epoch shuffle; without it, examples come in dataset order. */
  shuffleSeed?: number;
  /** Drop a last batch smaller than batchSize (default false: keep it). */
  dropLast?: boolean;
  layout?: BatchLayout;
}

/** One batch: views into the loader's buffers, valid until the next batch is filled. */
export interface Batch {
  /** (size, D) or (D, size), see BatchLayout. */
  readonly features: Float32Array;
  /** (size,) */
  readonly labels: Int32Array;
  /** (size,) the dataset index of each row's example (to look up per-example data such as a teacher's logits). */
  readonly indices: Int32Array;
  readonly size: number;
}

export class BatchLoader {
  readonly batchSize: number;
  readonly layout: BatchLayout;
  private readonly shuffleSeed: number | undefined;
  private readonly dropLast: boolean;
  private readonly order: Int32Array;
  private readonly fullBatch: Batch;
  private readonly lastBatch: Batch | null;
  private epochShuffled = -1;

  constructor(readonly dataset: Dataset, options: BatchOptions) {
    const { batchSize } = options;
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`${dataset.name}: batchSize must be a positive integer, got ${batchSize}`);
    this.batchSize = batchSize;
    this.shuffleSeed = options.shuffleSeed;
    this.dropLast = options.dropLast ?? false;
    this.layout = options.layout ?? "examples-first";
    this.order = new Int32Array(dataset.length);
    for (let i = 0; i < dataset.length; i++) this.order[i] = i;

    const features = new Float32Array(batchSize * dataset.featureSize);
    const labels = new Int32Array(batchSize);
    const indices = new Int32Array(batchSize);
    this.fullBatch = { features, labels, indices, size: batchSize };
    const remainder = dataset.length % batchSize;
    this.lastBatch = remainder > 0 && !this.dropLast
      ? { features: features.subarray(0, remainder * dataset.featureSize), labels: labels.subarray(0, remainder), indices: indices.subarray(0, remainder), size: remainder }
      : null;
  }

  /** Number of batches one epoch yields. */
  get batchesPerEpoch(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Yields the batches of epoch `epoch` (0-based). Each batch reuses the same buffers. */
  *epoch(epoch: number): Generator<Batch> {
    for (let b = 0; b < this.batchesPerEpoch; b++) yield this.fill(epoch, b);
  }

  /** Fills the buffers with batch `batchIndex` of `epoch` and returns views of them (for resuming mid-epoch). */
  fill(epoch: number, batchIndex: number): Batch {
    if (!(Number.isInteger(batchIndex) && batchIndex >= 0 && batchIndex < this.batchesPerEpoch)) {
      throw new RangeError(`${this.dataset.name}: batch ${batchIndex} is outside [0, ${this.batchesPerEpoch - 1}]`);
    }
    this.shuffleFor(epoch);
    const start = batchIndex * this.batchSize;
    const isLast = start + this.batchSize > this.dataset.length;
    const batch = isLast ? this.lastBatch! : this.fullBatch;
    const { features: source, labels: sourceLabels, featureSize: d } = this.dataset;
    const { features, labels, indices, size } = batch;
    for (let i = 0; i < size; i++) {
      const example = this.order[start + i];
      indices[i] = example;
      labels[i] = sourceLabels[example];
      if (this.layout === "examples-first") {
        for (let j = 0, at = example * d, to = i * d; j < d; j++) features[to + j] = source[at + j];
      } else {
        for (let j = 0, at = example * d; j < d; j++, at++) features[j * size + i] = source[at];
      }
    }
    return batch;
  }

  private shuffleFor(epoch: number): void {
    if (this.shuffleSeed === undefined || epoch === this.epochShuffled) return;
    // A fresh permutation per epoch from (seed, epoch): resuming at any epoch needs no saved loader state.
    const rng = new Rng(this.shuffleSeed, `data/shuffle/epoch-${epoch}`);
    for (let i = 0; i < this.order.length; i++) this.order[i] = i;
    rng.shuffle(this.order);
    this.epochShuffled = epoch;
  }
}
