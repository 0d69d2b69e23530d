// Feature normalization fitted on the training part and applied unchanged to validation and test data.
import type { Dataset } from "./dataset.js";

/**
 * - `none`: leave features as they are.
 * - `scale`: (x − min) / (max − min) with one min and max over all training features (MNIST: x / 255).
 * - `standardize`: (x − mean) / std with one mean and std over all training features (MNIST: 0.1307, 0.3081).
 * - `standardize-features`: the same per feature (tabular data); constant features get std 1.
 */
export type NormalizeKind = "none" | "scale" | "standardize" | "standardize-features";

/** x' = (x − shift) · factor, with one (shift, factor) pair or one per feature; plain numbers so it fits in a checkpoint. */
export interface Normalizer {
  kind: NormalizeKind;
  shift: number[];
  factor: number[];
}

/** Computes the normalizer of `kind` from the training data only. */
export function fitNormalizer(kind: NormalizeKind, train: Dataset): Normalizer {
  const x = train.features;
  switch (kind) {
    case "none":
      return { kind, shift: [0], factor: [1] };
    case "scale": {
      let min = Infinity, max = -Infinity;
      for (let i = 0; i < x.length; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
      }
      if (x.length === 0) return { kind, shift: [0], factor: [1] };
      return { kind, shift: [min], factor: [max > min ? 1 / (max - min) : 1] };
    }
    case "standardize": {
      const { mean, std } = meanAndStd(x, 0, 1, x.length);
      return { kind, shift: [mean], factor: [1 / std] };
    }
    case "standardize-features": {
      const d = train.featureSize;
      const shift: number[] = [], factor: number[] = [];
      for (let j = 0; j < d; j++) {
        const { mean, std } = meanAndStd(x, j, d, train.length);
        shift.push(mean);
        factor.push(1 / std);
      }
      return { kind, shift, factor };
    }
  }
}

/** Mean and population std of `count` values x[start + k·stride], in float64 (two passes, for accuracy); std 0 becomes 1. */
function meanAndStd(x: Float32Array, start: number, stride: number, count: number): { mean: number; std: number } {
  if (count === 0) return { mean: 0, std: 1 };
  let sum = 0;
  for (let k = 0, i = start; k < count; k++, i += stride) sum += x[i];
  const mean = sum / count;
  let squares = 0;
  for (let k = 0, i = start; k < count; k++, i += stride) squares += (x[i] - mean) ** 2;
  const std = Math.sqrt(squares / count);
  return { mean, std: std > 0 ? std : 1 };
}

/** Normalizes `dataset`'s features in place. */
export function applyNormalizer(normalizer: Normalizer, dataset: Dataset): void {
  const { shift, factor } = normalizer;
  const x = dataset.features;
  const d = dataset.featureSize;
  if (shift.length !== 1 && shift.length !== d) {
    throw new RangeError(`${dataset.name}: normalizer has ${shift.length} features, the dataset ${d}`);
  }
  if (normalizer.kind === "none") return;
  if (shift.length === 1) {
    const s = shift[0], f = factor[0];
    for (let i = 0; i < x.length; i++) x[i] = (x[i] - s) * f;
    return;
  }
  for (let row = 0; row < dataset.length; row++) {
    const base = row * d;
    for (let j = 0; j < d; j++) x[base + j] = (x[base + j] - shift[j]) * factor[j];
  }
}
