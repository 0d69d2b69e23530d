// Per-weight counts of a model (shape, storage, stored entries, non-zeros, density): what `sparsetrain info` prints and the run logs record.
import type { Model } from "./presets.js";
import type { NamedParameter } from "./sequential.js";

export type WeightStorage = "dense" | "masked" | "csr";

/** One parameter's counts; `density` is non-zero / (rows × columns) of its dense twin. */
export interface LayerStats {
  name: string;
  /** The layer kind, e.g. "Linear", "Conv2d" (a gated layer reports the layer it wraps). */
  layer: string;
  /** The weight's shape: [rows, cols] for a CSR weight, the tensor's shape otherwise. */
  shape: number[];
  storage: WeightStorage;
  /** Entries stored: CSR stored non-zeros, mask ones of a masked weight, every entry of a dense one. */
  stored: number;
  nonzero: number;
  density: number;
}

/** Counts of one parameter, O(stored entries): a CSR weight never touches its rows × columns positions. */
export function parameterStats(p: NamedParameter): LayerStats {
  const shape = p.sparse ? [p.sparse.rows, p.sparse.cols] : [...p.tensor.shape];
  const total = shape.reduce((a, b) => a * b, 1);
  const data = p.tensor.data;
  let nonzero = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) nonzero++;
  let stored = p.tensor.size;
  if (p.mask) {
    const mask = p.mask.data;
    stored = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) stored++;
  }
  return {
    name: p.name, layer: p.layer.kind, shape,
    storage: p.sparse ? "csr" : p.mask ? "masked" : "dense",
    stored, nonzero, density: total === 0 ? 0 : nonzero / total,
  };
}

/** Whether a parameter is the weight of a Linear or Conv2d layer (gated or not); biases, batch norm and gates are not. */
export function isLayerWeight(p: NamedParameter): boolean {
  return p.name.endsWith(".weight") && (p.layer.kind === "Linear" || p.layer.kind === "Conv2d");
}

/** The counts of every Linear and Conv2d weight of `model`, in layer order. */
export function weightLayerStats(model: Model): LayerStats[] {
  return model.net.parameters().filter(isLayerWeight).map(parameterStats);
}

/** 1 − non-zero / total over the given weights (their dense twins' entries). */
export function weightSparsity(layers: LayerStats[]): number {
  let total = 0, nonzero = 0;
  for (const l of layers) {
    total += l.shape.reduce((a, b) => a * b, 1);
    nonzero += l.nonzero;
  }
  return total === 0 ? 0 : 1 - nonzero / total;
}
