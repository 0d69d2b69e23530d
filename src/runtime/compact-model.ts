// The in-memory description of a compact model file (what the reader returns and the reference forward pass runs), and the format's fixed names.

/** The value of the `format` metadata key. */
export const COMPACT_FORMAT = "sparsetrain-compact";
/** The newest layout version; this reader understands 1 and 2 (docs/compact-format.md, "Versions"). */
export const COMPACT_VERSION = 2;
/** The first version with the `csr-expgolomb` structure; a file without it is written as version 1, which older readers read. */
export const EXPGOLOMB_VERSION = 2;

export type CompactActivation = "identity" | "relu" | "leaky-relu" | "tanh" | "sigmoid" | "gelu";
export const COMPACT_ACTIVATIONS: readonly CompactActivation[] = ["identity", "relu", "leaky-relu", "tanh", "sigmoid", "gelu"];

/** How a weight's positions are stored: every entry, CSR with one-byte column gaps, one bit per entry, or CSR with exp-Golomb coded column gaps. */
export type WeightStructure = "dense" | "csr" | "bitmask" | "csr-expgolomb";
export const WEIGHT_STRUCTURES: readonly WeightStructure[] = ["dense", "csr", "bitmask", "csr-expgolomb"];

/** How a weight's stored values are encoded. */
export type WeightValueType = "float32" | "float16" | "int8" | "int4";
export const WEIGHT_VALUE_TYPES: readonly WeightValueType[] = ["float32", "float16", "int8", "int4"];

/**
 * A decoded weight matrix (rows = outputs or filters; cols = inputs, or Cin·k·k for a
 * convolution in PyTorch's (Cout, Cin, k, k) order). Whatever the stored structure, it is given
 * as CSR over the entries the file stores (a dense weight stores all rows·cols), with the values
 * decoded to float32 (code × row scale for int8/int4).
 */
export interface CompactWeight {
  rows: number;
  cols: number;
  structure: WeightStructure;
  valueType: WeightValueType;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float32Array;
  /** int8/int4 only: the integer codes (one per value) and the per-row scales. */
  codes?: Int8Array;
  scales?: Float32Array;
  /** Bytes the file spends on this weight (all of its tensors). */
  storedBytes: number;
}

interface LayerShapes {
  /** Shape without the batch dimension, before and after the layer. */
  inputShape: number[];
  outputShape: number[];
}

export type CompactLayer =
  | (LayerShapes & { kind: "normalize"; shift: Float32Array; factor: Float32Array })
  | (LayerShapes & { kind: "linear"; weight: CompactWeight; bias: Float32Array; activation: CompactActivation; negativeSlope: number })
  | (LayerShapes & {
    kind: "conv2d"; weight: CompactWeight; bias: Float32Array; activation: CompactActivation; negativeSlope: number;
    inChannels: number; outChannels: number; kernel: number; stride: number; padding: number;
  })
  | (LayerShapes & { kind: "maxpool"; kernel: number; stride: number; padding: number })
  | (LayerShapes & { kind: "flatten" })
  | (LayerShapes & { kind: "activation"; activation: CompactActivation; negativeSlope: number });

export interface CompactModel {
  version: number;
  /** Shape of one raw input without the batch dimension, e.g. [784] or [1, 28, 28]. */
  inputShape: number[];
  inputSize: number;
  outputSize: number;
  classNames: string[] | null;
  layers: CompactLayer[];
}
