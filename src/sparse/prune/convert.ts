// Turning masked dense layers into truly sparse ones (CSR) once their density is low enough to run faster that way.
//
// Crossover measured on this machine class (2 cores, Zen 5, WASM SIMD), forward + backward of one
// layer at batch 128, masked dense vs CSR, interleaved in one run (time CSR / time dense):
//   784×300: density 0.3 → 0.53, 0.5 → 0.85, 0.7 → 1.16;  800×500: 0.3 → 0.54, 0.5 → 0.85, 0.7 → 1.17.
// CSR wins below about 0.6; the default threshold 0.5 leaves a margin for the layout transposes a
// lone sparse layer adds at its boundaries.
import { Conv2d } from "../../nn/conv2d.js";
import type { Layer } from "../../nn/layer.js";
import { Linear } from "../../nn/linear.js";
import type { Model } from "../../nn/presets.js";
import { SparseLinear } from "../../nn/sparse-linear.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { Rng } from "../../tensor/rng.js";
import { SparseMatrix } from "../../tensor/sparse-matrix.js";
import type { Tensor } from "../../tensor/tensor.js";

/** Default density at or below which a pruned layer is stored and computed as CSR. */
export const DEFAULT_CSR_BELOW = 0.5;

/** Fraction of a masked layer's weights kept by its mask. */
function maskDensity(mask: Tensor): number {
  let kept = 0;
  for (const v of mask.data) kept += v;
  return kept / mask.size;
}

/**
 * Replaces the masked dense layer `model.net.layers[index]` by its CSR twin (same names, same
 * function): `SparseLinear` for a Linear, a sparse `Conv2d` for a Conv2d. The optimizer's state of
 * the kept weights and of the bias carries over. Also records the layer in `model.spec.sparse` so
 * checkpoints rebuild it sparse. Returns false (and changes nothing) if the layer has no mask.
 */
export function convertLayerToCsr(model: Model, index: number, optimizer: Optimizer | null): boolean {
  const layer = model.net.layers[index];
  if (!(layer instanceof Linear || layer instanceof Conv2d) || layer.mask === null || layer.weight === null) return false;
  const weight = layer.weight, mask = layer.mask;
  const rows = weight.shape[0], cols = weight.size / rows;
  // Copies, not heap views: allocating the CSR may grow the heap and detach views.
  const matrix = SparseMatrix.fromMask(weight.toArray(), mask.toArray(), [rows, cols]);
  const source = new Int32Array(matrix.nnz);
  for (let r = 0, k = 0; r < rows; r++) for (let p = matrix.rowPtr[r]; p < matrix.rowPtr[r + 1]; p++) source[k++] = r * cols + matrix.colIdx[p];
  const withBias = layer.bias !== null;
  let next: SparseLinear | Conv2d;
  if (layer instanceof Linear) {
    next = new SparseLinear(matrix, { bias: withBias, rng: new Rng(0, "convert/placeholder") });
  } else {
    next = new Conv2d(layer.inChannels, layer.outChannels, {
      kernel: layer.kernel, stride: layer.stride, padding: layer.padding, bias: withBias,
      density: Math.max(matrix.density, 1 / (rows * cols)), rng: new Rng(0, "convert/placeholder"),
    });
    next.setSparseWeight(matrix);
  }
  const nextWeight = next instanceof SparseLinear ? next.weight.values : next.sparseWeight!.values;
  if (layer.bias && next.bias) next.bias.data.set(layer.bias.data);
  // Names first: the optimizer state is keyed by tensor, checkpoints by name.
  nextWeight.name = weight.name;
  if (next.bias && layer.bias) next.bias.name = layer.bias.name;
  if (optimizer) {
    optimizer.remapParameter(weight, nextWeight, source);
    if (layer.bias && next.bias) optimizer.remapParameter(layer.bias, next.bias, identity(layer.bias.size));
  }
  model.net.layers[index] = next;
  model.spec.sparse = { ...model.spec.sparse, [String(index)]: placeholderDensity(matrix) };
  disposeLayerTensors(layer);
  return true;
}

/** Converts every masked layer whose density is at or below `csrBelow`; returns the converted layer indices. */
export function convertSparseLayers(model: Model, csrBelow: number, optimizer: Optimizer | null): number[] {
  const converted: number[] = [];
  model.net.layers.forEach((layer, index) => {
    if (!(layer instanceof Linear || layer instanceof Conv2d) || layer.mask === null) return;
    if (maskDensity(layer.mask) <= csrBelow && convertLayerToCsr(model, index, optimizer)) converted.push(index);
  });
  return converted;
}

/**
 * The density written into the model spec for a CSR layer. It only sizes the placeholder that a
 * checkpoint load replaces by the stored structure, and must be > 0 even for an empty layer.
 */
export function placeholderDensity(matrix: SparseMatrix): number {
  return Math.max(matrix.density, 1 / (matrix.rows * matrix.cols));
}

export function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Frees the tensors a replaced weight layer owned. */
export function disposeLayerTensors(layer: Layer): void {
  if (layer instanceof SparseLinear) layer.weight.dispose();
  if (layer instanceof Linear) {
    layer.weight.dispose();
    layer.mask?.dispose();
  }
  if (layer instanceof Conv2d) {
    layer.weight?.dispose();
    layer.sparseWeight?.dispose();
    layer.mask?.dispose();
  }
  if (layer instanceof Linear || layer instanceof SparseLinear || layer instanceof Conv2d) layer.bias?.dispose();
}
