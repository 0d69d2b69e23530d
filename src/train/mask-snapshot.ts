// Where a model's non-zeros are: each weight downsampled to a density grid of at most 64 × 64 cells, and the first layer's receptive field per input pixel.
import type { Model } from "../nn/presets.js";
import type { NamedParameter } from "../nn/sequential.js";
import { isLayerWeight } from "../nn/layer-stats.js";

/** A weight as a rows × cols matrix: dense row-major `values`, or CSR when `rowPtr` and `colIdx` are given. */
export interface WeightMatrix {
  rows: number;
  cols: number;
  values: ArrayLike<number>;
  rowPtr?: ArrayLike<number>;
  colIdx?: ArrayLike<number>;
}

/** Fractions of non-zero entries per cell, row-major, rounded to 4 decimals. */
export interface DensityGrid {
  rows: number;
  cols: number;
  density: number[];
}

export interface LayerMask {
  name: string;
  rows: number;
  cols: number;
  grid: DensityGrid;
  /** First Linear layer of an image model: fraction of output units connected to each pixel, summed over channels, [height, width]. */
  inputs?: { shape: [number, number]; density: number[] };
}

export type MaskPhase = "start" | "middle" | "end";

export interface MaskSnapshot {
  kind: "mask";
  phase: MaskPhase;
  step: number;
  epoch: number;
  layers: LayerMask[];
}

export const MAX_GRID_CELLS = 64;

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** Calls `visit(row, col)` for every non-zero entry: O(nnz) for CSR (plus its row pointers), O(rows·cols) for a dense matrix. */
function forEachNonzero(m: WeightMatrix, visit: (row: number, col: number) => void): void {
  const { rows, cols, values, rowPtr, colIdx } = m;
  if (rowPtr !== undefined && colIdx !== undefined) {
    for (let r = 0; r < rows; r++) for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) if (values[k] !== 0) visit(r, colIdx[k]);
    return;
  }
  if (values.length !== rows * cols) throw new RangeError(`mask snapshot: a dense ${rows} × ${cols} weight needs ${rows * cols} values, got ${values.length}`);
  for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < cols; c++, i++) if (values[i] !== 0) visit(r, c);
}

/**
 * Downsamples a weight to at most `maxCells` × `maxCells` cells: blocks of ⌈rows / maxCells⌉ rows
 * and ⌈cols / maxCells⌉ columns (the last block of each may be shorter); each cell holds the
 * fraction of its entries that are non-zero.
 */
export function densityGrid(m: WeightMatrix, maxCells = MAX_GRID_CELLS): DensityGrid {
  if (!(m.rows > 0 && m.cols > 0)) return { rows: 0, cols: 0, density: [] };
  const blockRows = Math.ceil(m.rows / maxCells), blockCols = Math.ceil(m.cols / maxCells);
  const gridRows = Math.ceil(m.rows / blockRows), gridCols = Math.ceil(m.cols / blockCols);
  const counts = new Float64Array(gridRows * gridCols);
  forEachNonzero(m, (r, c) => counts[Math.floor(r / blockRows) * gridCols + Math.floor(c / blockCols)]++);
  const density: number[] = new Array(counts.length);
  for (let i = 0; i < gridRows; i++) {
    const cellRows = Math.min(blockRows, m.rows - i * blockRows);
    for (let j = 0; j < gridCols; j++) {
      const cellCols = Math.min(blockCols, m.cols - j * blockCols);
      density[i * gridCols + j] = round4(counts[i * gridCols + j] / (cellRows * cellCols));
    }
  }
  return { rows: gridRows, cols: gridCols, density };
}

/**
 * The receptive field of a first layer over an image of `shape` [C, H, W] (or [H, W]): per pixel, the
 * fraction of output units (rows) whose weight to it is non-zero, summed over channels.
 */
export function inputDensity(m: WeightMatrix, shape: number[]): { shape: [number, number]; density: number[] } {
  const [channels, height, width] = shape.length === 3 ? shape : [1, shape[0], shape[1]];
  if (channels * height * width !== m.cols) throw new RangeError(`mask snapshot: an image of shape [${shape}] has ${channels * height * width} inputs, the layer ${m.cols}`);
  const pixels = height * width;
  const counts = new Float64Array(pixels);
  forEachNonzero(m, (_r, c) => counts[c % pixels]++);
  return { shape: [height, width], density: Array.from(counts, (n) => round4(n / m.rows)) };
}

/** A model's weight as a matrix: CSR as stored, a dense (or masked) one as [out, fan-in]. */
export function weightMatrix(p: NamedParameter): WeightMatrix {
  if (p.sparse) {
    const s = p.sparse;
    return { rows: s.rows, cols: s.cols, values: s.values.data, rowPtr: s.rowPtr, colIdx: s.colIdx };
  }
  const rows = p.tensor.shape[0];
  return { rows, cols: p.tensor.size / rows, values: p.tensor.data };
}

/** The layers of a mask snapshot of `model`: a grid per Linear/Conv2d weight, and the receptive field of an image model's first layer when it is Linear. */
export function maskLayers(model: Model): LayerMask[] {
  const weights = model.net.parameters().filter(isLayerWeight);
  // An MLP flattens its input: the example's shape is the spec's.
  const exampleShape = model.spec.inputShape;
  const inputSize = exampleShape.reduce((a, b) => a * b, 1);
  const image = exampleShape.length === 3 || exampleShape.length === 2;
  return weights.map((p, i) => {
    const m = weightMatrix(p);
    const layer: LayerMask = { name: p.name, rows: m.rows, cols: m.cols, grid: densityGrid(m) };
    if (i === 0 && image && p.layer.kind === "Linear" && m.cols === inputSize) layer.inputs = inputDensity(m, exampleShape);
    return layer;
  });
}

export function maskSnapshot(model: Model, phase: MaskPhase, step: number, epoch: number): MaskSnapshot {
  return { kind: "mask", phase, step, epoch, layers: maskLayers(model) };
}
