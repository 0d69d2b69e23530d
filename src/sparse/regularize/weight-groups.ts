// Groups of a weight's stored entries for structured regularization: neurons (rows), inputs, filters or channels.
import type { NamedParameter } from "../../nn/sequential.js";
import { groupOf } from "../criteria.js";
import { weightShape } from "../prune/prunable.js";

/**
 * `neurons` and `filters` group along dim 0 of the PyTorch weight (a Linear's output rows, a
 * Conv2d's filters: a filter is a convolutional neuron); `inputs` and `channels` along dim 1 (a
 * Linear's input features, a Conv2d's input channels). The synonyms let one recipe name the same
 * structure in a model mixing both layer kinds.
 */
export const groupStructures = ["neurons", "filters", "inputs", "channels"] as const;
export type GroupStructure = (typeof groupStructures)[number];

export interface WeightGroups {
  /** Group of each stored entry (aligned to the parameter's tensor: dense weight or CSR values). */
  group: Int32Array;
  /** Number of groups (rows, filters, inputs or channels). */
  count: number;
  /** Entries per group in the dense weight (p_g of group lasso's √p_g weighting). */
  groupSize: number;
}

export function structureDimension(structure: GroupStructure): 0 | 1 {
  return structure === "neurons" || structure === "filters" ? 0 : 1;
}

/**
 * Dense position (row-major over the PyTorch shape) of each stored entry of a weight, as float64:
 * a CSR weight's rows·cols can exceed 2^31 (a 10⁵×10⁵ layer has 10¹⁰ positions).
 */
export function storedPositions(param: NamedParameter): Float64Array {
  const m = param.sparse;
  if (m === undefined) {
    const positions = new Float64Array(param.tensor.size);
    for (let i = 0; i < positions.length; i++) positions[i] = i;
    return positions;
  }
  const positions = new Float64Array(m.nnz);
  const rowPtr = m.rowPtr, colIdx = m.colIdx;
  for (let r = 0; r < m.rows; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) positions[p] = r * m.cols + colIdx[p];
  return positions;
}

/** The groups of `param`'s stored entries for `structure`. */
export function weightGroups(param: NamedParameter, structure: GroupStructure): WeightGroups {
  const shape = weightShape(param);
  const dim = structureDimension(structure);
  const size = shape.reduce((a, b) => a * b, 1);
  return { group: groupOf(storedPositions(param), shape, dim), count: shape[dim], groupSize: size / shape[dim] };
}
