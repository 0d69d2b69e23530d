// The layer contract shared by every building block of a model, and the context a forward pass runs in.
import type { Rng } from "../tensor/rng.js";
import type { SparseMatrix } from "../tensor/sparse-matrix.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * How a 2-D activation [batch, features] is laid out in memory. Sparse layers compute in
 * "feature-major" order ([features][batch]) so that SIMD runs along the batch (DESIGN.md).
 */
export type Layout = "batch-major" | "feature-major";

export interface ForwardContext {
  training: boolean;
  /** Layout of the input tensor (and of the output the layer must return). */
  layout: Layout;
  /** Randomness for dropout and similar (a stream owned by the model). */
  rng: Rng;
}

/** A trainable tensor of a layer, named locally (e.g. "weight"); models prefix the layer path. */
export interface LayerParameter {
  name: string;
  tensor: Tensor;
  /** For a sparse weight: the CSR matrix whose `values` is `tensor`. */
  sparse?: SparseMatrix;
  /** For a dense weight with a mask: the mask (1 = kept), same shape as the weight. */
  mask?: Tensor;
}

/** Activations a linear layer can fuse into its bias add (their derivative follows from the output). */
export type { FusedActivationName as FusedActivation } from "../autograd/ops/activation.js";
import type { FusedActivationName as FusedActivation } from "../autograd/ops/activation.js";

export interface Layer {
  /** PyTorch class name, e.g. "Linear", "ReLU", "Conv2d". */
  readonly kind: string;
  /** The layout the layer computes in; "any" for elementwise layers. */
  readonly layout: Layout | "any";
  forward(x: Tensor, ctx: ForwardContext): Tensor;
  parameters(): LayerParameter[];
  /** Non-trainable state saved in checkpoints (batch-norm running statistics). */
  buffers(): { name: string; tensor: Tensor }[];
  /** Output shape (without the batch dimension) for an input shape (without the batch dimension). */
  outputShape(input: readonly number[]): number[];
  /** One line for summaries, e.g. "Linear(784 → 300, sparse 5.0%)". */
  describe(): string;
}

/** A layer whose weight is a CSR matrix that can be replaced (structure changes, checkpoint loads). */
export interface SparseWeightLayer extends Layer {
  setSparseWeight(matrix: SparseMatrix): void;
}

export function hasSparseWeight(layer: Layer): layer is SparseWeightLayer {
  return typeof (layer as Partial<SparseWeightLayer>).setSparseWeight === "function";
}

/** A layer that can apply a following activation inside its own bias kernel. */
export interface FusableLayer extends Layer {
  forwardFused(x: Tensor, ctx: ForwardContext, activation: FusedActivation, slope: number): Tensor;
}

export function isFusable(layer: Layer): layer is FusableLayer {
  return typeof (layer as Partial<FusableLayer>).forwardFused === "function";
}
