// Fake quantization of a model's weights in place, for quantization-aware training with a straight-through estimator.
//
// At each step the float weights (the "masters") are copied aside and replaced, in their own
// memory, by their quantize-dequantize values; forward and backward run at those; then the masters
// are written back before the optimizer (and every afterBackward hook) sees the weights. The
// gradient computed at the quantized weights thus updates the float weights: the identity
// straight-through estimator, exact here because per-row max scales clip nothing. Because the swap
// is in the weights' memory, worker threads, which read the main thread's weights in place, compute
// with the quantized weights too. Only stored entries are touched, and a zero quantizes to exactly
// zero: a mask, a CSR structure and the non-zero count of the float weights never change. Biases,
// batch-norm parameters and gates stay float.
import { Conv2d } from "../nn/conv2d.js";
import { GatedLayer } from "../nn/gated-layer.js";
import { Linear } from "../nn/linear.js";
import type { NamedParameter } from "../nn/sequential.js";
import { SparseLinear } from "../nn/sparse-linear.js";
import type { Tensor } from "../tensor/tensor.js";
import type { HookContext, WeightSwap } from "../train/hooks.js";
import { denseRowOffsets, fakeQuantizeRows, type QuantBits, type QuantGranularity } from "./rows.js";

export interface FakeQuantizationOptions {
  bits: QuantBits;
  granularity: QuantGranularity;
  /** Epochs trained in float before fake quantization starts (0: from the first step). */
  startEpoch: number;
}

/** A weight fake quantization applies to, with the offsets of its quantization rows in `tensor`. */
export interface FakeQuantizedWeight {
  param: NamedParameter;
  /** Storage: "csr" (rows are the CSR rows), "masked" or "dense" ([rows, rowLength] row-major). */
  storage: "dense" | "masked" | "csr";
  offsets: ArrayLike<number>;
}

/** The layer whose weight a parameter is: Linear, SparseLinear or Conv2d (also inside gates), else null. */
function weightLayerOf(param: NamedParameter): Linear | SparseLinear | Conv2d | null {
  if (!param.name.endsWith(".weight")) return null;
  const layer = param.layer instanceof GatedLayer ? param.layer.inner : param.layer;
  return layer instanceof Linear || layer instanceof SparseLinear || layer instanceof Conv2d ? layer : null;
}

/**
 * The weights of linear and convolution layers among `parameters` (dense, masked or CSR), each with
 * its row offsets: one row per output feature or filter (per-row), or the whole tensor (per-tensor).
 * Dense offsets come from `denseOffsets`, cached per shape by the caller.
 */
export function quantizedWeights(
  parameters: NamedParameter[],
  granularity: QuantGranularity,
  denseOffsets: (rows: number, rowLength: number) => ArrayLike<number> = denseRowOffsets,
): FakeQuantizedWeight[] {
  const weights: FakeQuantizedWeight[] = [];
  for (const param of parameters) {
    const layer = weightLayerOf(param);
    if (layer === null) continue;
    const size = param.tensor.size;
    if (param.sparse) {
      weights.push({ param, storage: "csr", offsets: granularity === "per-tensor" ? [0, size] : param.sparse.rowPtr });
      continue;
    }
    const rows = layer instanceof Conv2d ? layer.outChannels : layer.outFeatures;
    const storage = param.mask ? "masked" : "dense";
    weights.push({ param, storage, offsets: granularity === "per-tensor" ? [0, size] : denseOffsets(rows, size / rows) });
  }
  return weights;
}

/** What quantizing a model's weights in place did: weights, stored entries, and entries that rounded to zero. */
export interface QuantizeReport {
  weights: number;
  entries: number;
  /** Non-zero float weights whose code is 0 (|w| below half a step): the stored structure keeps them as zeros. */
  roundedToZero: number;
}

/**
 * Fake-quantizes the weights of linear and convolution layers: temporarily around a training step
 * or an evaluation (`swapIn`/`restore`, the trainer's WeightSwap), or for good (`quantizeInPlace`).
 */
export class FakeQuantizer implements WeightSwap {
  /** Float copies of the swapped weights, by parameter name: O(nnz), reallocated only when a weight's size changes. */
  private readonly masters = new Map<string, Float32Array>();
  private readonly denseOffsets = new Map<string, Int32Array>();
  /** The tensors swapped now (their `data` is re-read at restore: heap growth may move views). */
  private swapped: { tensor: Tensor; master: Float32Array }[] = [];

  constructor(readonly options: FakeQuantizationOptions) {}

  /** Whether steps of this (0-based) epoch train at fake-quantized weights. */
  isActive(epoch: number): boolean {
    return epoch >= this.options.startEpoch;
  }

  private weights(parameters: NamedParameter[]): FakeQuantizedWeight[] {
    return quantizedWeights(parameters, this.options.granularity, (rows, rowLength) => {
      const key = `${rows}x${rowLength}`;
      let offsets = this.denseOffsets.get(key);
      if (offsets === undefined) this.denseOffsets.set(key, (offsets = denseRowOffsets(rows, rowLength)));
      return offsets;
    });
  }

  /**
   * From `startEpoch` on: saves the float weights and writes their fake-quantized values in place.
   * Parameters are read afresh each time, as a sparsity method may have replaced a CSR structure.
   */
  swapIn(ctx: Pick<HookContext, "parameters" | "epoch">): boolean {
    if (this.swapped.length > 0) throw new Error("fake quantization: the weights are already swapped in; restore them first");
    if (!this.isActive(ctx.epoch)) return false;
    for (const { param, offsets } of this.weights(ctx.parameters)) {
      const values = param.tensor.data;
      let master = this.masters.get(param.name);
      if (master === undefined || master.length !== values.length) this.masters.set(param.name, (master = new Float32Array(values.length)));
      master.set(values);
      fakeQuantizeRows(values, offsets, this.options.bits);
      this.swapped.push({ tensor: param.tensor, master });
    }
    return true;
  }

  /** Writes the saved float weights back (nothing to do when none are swapped in). */
  restore(): void {
    for (const { tensor, master } of this.swapped) tensor.data.set(master);
    this.swapped = [];
  }

  /** Replaces the float weights by their fake-quantized values for good (the final model). */
  quantizeInPlace(parameters: NamedParameter[]): QuantizeReport {
    if (this.swapped.length > 0) throw new Error("fake quantization: restore the swapped weights before quantizing for good");
    const report: QuantizeReport = { weights: 0, entries: 0, roundedToZero: 0 };
    for (const { param, offsets } of this.weights(parameters)) {
      const values = param.tensor.data;
      let nonZeroBefore = 0;
      for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonZeroBefore++;
      fakeQuantizeRows(values, offsets, this.options.bits);
      let nonZeroAfter = 0;
      for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonZeroAfter++;
      report.weights++;
      report.entries += values.length;
      report.roundedToZero += nonZeroBefore - nonZeroAfter;
    }
    return report;
  }

  /** One line for logs, e.g. "int8 per-row fake quantization of 3 weights (2 dense, 1 csr) from epoch 1". */
  describe(parameters: NamedParameter[]): string {
    const weights = this.weights(parameters);
    const kinds = (["dense", "masked", "csr"] as const)
      .map((s) => [s, weights.filter((w) => w.storage === s).length] as const)
      .filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ");
    const { bits, granularity, startEpoch } = this.options;
    return `int${bits} ${granularity} fake quantization of ${weights.length} weights (${kinds}) from epoch ${startEpoch + 1}`;
  }
}
