// A worker's replica of a model: the same layers, built from plain descriptions, whose parameters are borrowed views of the main thread's storage.
//
// Only the parameters (and the noise of stochastic gates) are shared. Gradients, activations and
// buffers (batch-norm running statistics) are the replica's own, allocated in the worker's arena.
// A description holds what fixes a layer's kind and shapes, never its weights: when the main
// model's descriptions change (a pruned layer converted to CSR, shrunk, gated or its gates folded),
// the workers are started again from the new ones (data-parallel.ts).
import { Dropout, Flatten, GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from "../nn/activations.js";
import { BatchNorm } from "../nn/batch-norm.js";
import { Conv2d } from "../nn/conv2d.js";
import { hasSparseWeight, type Layer } from "../nn/layer.js";
import { Linear } from "../nn/linear.js";
import { Pool2d } from "../nn/pool.js";
import { Sequential, type NamedParameter } from "../nn/sequential.js";
import { SparseLinear } from "../nn/sparse-linear.js";
import { GatedLayer, type GatedWeightLayer, type GateGranularity } from "../nn/gated-layer.js";
import { gateKindFrom, type GateSettings } from "../nn/gates.js";
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import type { Tensor } from "../tensor/tensor.js";
import { borrowMatrix, borrowTensor } from "./borrowed.js";
import type { ParameterLocation } from "./control-block.js";

/** A layer as plain data (structured-clonable), enough to build it again without its weights. */
export type LayerDescription =
  | { kind: "Linear"; inFeatures: number; outFeatures: number; bias: boolean }
  | { kind: "SparseLinear"; inFeatures: number; outFeatures: number; bias: boolean }
  | { kind: "Conv2d"; inChannels: number; outChannels: number; kernel: number; stride: number; padding: number; bias: boolean; sparse: boolean }
  | { kind: "BatchNorm"; channels: number; spatial: boolean; momentum: number; eps: number }
  | { kind: "Pool2d"; mode: "max" | "avg"; kernel: number; stride: number; padding: number }
  | { kind: "ReLU" | "Tanh" | "Sigmoid" | "GELU" | "Flatten" }
  | { kind: "LeakyReLU"; slope: number }
  | { kind: "Dropout"; p: number }
  | { kind: "Gated"; inner: LayerDescription; gate: GateSettings; granularity: GateGranularity; label: string; noisePtr: number };

/** The description of one layer of the main thread's model; errors name layers a replica cannot rebuild. */
export function describeLayer(layer: Layer, index: number): LayerDescription {
  if (layer instanceof GatedLayer) {
    // Stochastic gates draw their noise on the main thread; the replica reads it in place.
    const noisePtr = layer.gateKind.stochastic ? layer.noiseTensor().ptr : 0;
    return { kind: "Gated", inner: describeLayer(layer.inner, index), gate: layer.gateKind.settings, granularity: layer.granularity, label: layer.label, noisePtr };
  }
  if (layer instanceof SparseLinear) return { kind: "SparseLinear", inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, bias: layer.bias !== null };
  if (layer instanceof Linear) return { kind: "Linear", inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, bias: layer.bias !== null };
  if (layer instanceof Conv2d) {
    const { inChannels, outChannels, kernel, stride, padding } = layer;
    return { kind: "Conv2d", inChannels, outChannels, kernel, stride, padding, bias: layer.bias !== null, sparse: layer.sparseWeight !== null };
  }
  if (layer instanceof BatchNorm) return { kind: "BatchNorm", channels: layer.channels, spatial: layer.spatial, momentum: layer.momentum, eps: layer.eps };
  if (layer instanceof Pool2d) return { kind: "Pool2d", mode: layer.mode, kernel: layer.kernel, stride: layer.stride, padding: layer.padding };
  if (layer instanceof LeakyReLU) return { kind: "LeakyReLU", slope: layer.slope };
  if (layer instanceof Dropout) return { kind: "Dropout", p: layer.p };
  if (layer instanceof ReLU || layer instanceof Tanh || layer instanceof Sigmoid || layer instanceof GELU || layer instanceof Flatten) {
    return { kind: layer.kind };
  }
  throw new Error(`threads > 1: layers.${index} (${layer.describe()}) cannot be replicated in a worker thread; train it with threads: 1`);
}

// Placeholder weights for the constructors; binding replaces them with the main thread's storage.
function buildLayer(d: LayerDescription): Layer {
  switch (d.kind) {
    case "Linear": return new Linear(d.inFeatures, d.outFeatures, { bias: d.bias });
    case "SparseLinear": {
      const empty = SparseMatrix.fromCSR({ rows: d.outFeatures, cols: d.inFeatures, rowPtr: new Int32Array(d.outFeatures + 1), colIdx: [], values: [] });
      return new SparseLinear(empty, { bias: d.bias });
    }
    case "Conv2d": {
      // NOTE: the smallest positive density samples no position: the CSR placeholder stays empty.
      const density = d.sparse ? Number.MIN_VALUE : undefined;
      return new Conv2d(d.inChannels, d.outChannels, { kernel: d.kernel, stride: d.stride, padding: d.padding, bias: d.bias, density });
    }
    case "BatchNorm": return new BatchNorm(d.channels, d.spatial, d.momentum, d.eps);
    case "Pool2d": return new Pool2d(d.mode, { kernel: d.kernel, stride: d.stride, padding: d.padding });
    case "ReLU": return new ReLU();
    case "Tanh": return new Tanh();
    case "Sigmoid": return new Sigmoid();
    case "GELU": return new GELU();
    case "Flatten": return new Flatten();
    case "LeakyReLU": return new LeakyReLU(d.slope);
    case "Dropout": return new Dropout(d.p);
    case "Gated": {
      const gated = new GatedLayer(buildLayer(d.inner) as GatedWeightLayer, gateKindFrom(d.gate), d.granularity, new Rng(0, "replica/gates"), d.label);
      if (d.noisePtr !== 0) gated.shareNoise(borrowTensor(d.noisePtr, [gated.gateParameter.size]));
      return gated;
    }
  }
}

/** Before a data-parallel step: stochastic gates draw the step's noise on the main thread, for every thread to use. */
export function drawSharedNoise(net: Sequential): void {
  for (const layer of net.layers) if (layer instanceof GatedLayer) layer.drawNoise(net.rng);
}

/**
 * True when the layer's next backward pass must see the whole batch: an armed gradient probe
 * (RigL's and SNFS's growth scores at an update step) reads x and dY of the rows it runs on.
 */
export function needsWholeBatch(layer: Layer): boolean {
  if (layer instanceof GatedLayer) return needsWholeBatch(layer.inner);
  return layer instanceof SparseLinear && layer.growthProbe !== null;
}

/** Heap bytes a replica's layer needs beyond its gradients and activations (per-weight gates: W⊙z, its inputs and their gradients). */
export function layerWorkspaceBytes(layer: Layer): number {
  return layer instanceof GatedLayer && layer.granularity === "weight" ? 8 * 4 * layer.gateParameter.size : 0;
}

/** The replica's layers (parameters still the placeholders: bind them with `bindParameter`). */
export function buildReplica(layers: LayerDescription[], seed: number): Sequential {
  return new Sequential(layers.map(buildLayer), seed);
}

/** Where the main thread keeps `param` (and its mask), for the worker to borrow. */
export function locateParameter(param: NamedParameter): ParameterLocation {
  const sparse = param.sparse;
  return {
    valuesPtr: param.tensor.ptr,
    size: param.tensor.size,
    rows: sparse?.rows ?? 0,
    cols: sparse?.cols ?? 0,
    rowPtrPtr: sparse?.rowPtrPtr ?? 0,
    colIdxPtr: sparse?.colIdxPtr ?? 0,
    maskPtr: param.mask?.ptr ?? 0,
  };
}

// NOTE: layers keep their parameters in plain fields (weight, bias, mask) that are read-only to
// their users; a replica re-points such a field at borrowed storage, found by identity.
function replaceField(layer: Layer, old: Tensor | null, replacement: Tensor | null, what: string): void {
  const fields = layer as unknown as Record<string, unknown>;
  const key = old === null ? (Object.hasOwn(fields, "mask") ? "mask" : undefined) : Object.keys(fields).find((k) => fields[k] === old);
  if (key === undefined) throw new Error(`threads > 1: ${what} of ${layer.describe()} is not a field the replica can share`);
  fields[key] = replacement;
}

/**
 * Points parameter `index` of the replica at `location` in the main thread's heap: a sparse weight
 * gets a borrowed CSR matrix, a dense one a borrowed tensor (and mask). The replaced tensors and
 * their gradients are freed.
 */
export function bindParameter(net: Sequential, index: number, location: ParameterLocation): void {
  const param = net.parameters()[index];
  if (param === undefined) throw new Error(`threads > 1: the replica has no parameter ${index}`);
  // A gated layer's own parameter is its gate; the others belong to the layer it wraps.
  const layer = param.layer instanceof GatedLayer && param.tensor !== param.layer.gateParameter ? param.layer.inner : param.layer;
  if (location.rows > 0 || param.sparse !== undefined) {
    if (!hasSparseWeight(layer) || param.sparse === undefined) throw new Error(`threads > 1: ${param.name} is sparse in the main model but not in the replica`);
    const matrix = borrowMatrix({ ...location, nnz: location.size });
    layer.setSparseWeight(matrix);
    return;
  }
  if (location.size !== param.tensor.size) {
    throw new Error(`threads > 1: ${param.name} has ${location.size} elements in the main model, ${param.tensor.size} in the replica`);
  }
  const shape = param.tensor.shape;
  const tensor = borrowTensor(location.valuesPtr, shape);
  tensor.requiresGrad = true;
  replaceField(layer, param.tensor, tensor, param.name);
  param.tensor.dispose();
  const oldMask = param.mask ?? null;
  if (location.maskPtr !== 0 || oldMask !== null) {
    replaceField(layer, oldMask, location.maskPtr === 0 ? null : borrowTensor(location.maskPtr, shape), `${param.name} mask`);
    oldMask?.dispose();
  }
}
