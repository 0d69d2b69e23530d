// Lays a compact model out in the inference module's memory (weights once, at load) and writes the programs the module's `run` interprets: one for small batches (batch-major, row-gather kernels) and one for large batches (batch-in-lanes kernels).
//
// The operation codes and the record layout must match assembly/runtime/infer.ts.
import type { CompactActivation, CompactLayer, CompactModel } from "./compact-model.js";
import { rowGroupLayout } from "./row-groups.js";

/** int32 words per operation record. */
const OP_WORDS = 24;
const OP = {
  normalizeRows: 1, normalizeLanes: 2, activateRows: 3, activateLanes: 4, csrRows: 5, denseRows: 6,
  csrLanes: 7, denseLanes: 8, conv2d: 9, maxPool: 10, toLanes: 11, fromLanes: 12,
} as const;
const ACTIVATION_CODES: Record<CompactActivation, number> = { identity: 0, relu: 1, "leaky-relu": 2, tanh: 3, sigmoid: 4, gelu: 5 };

/** How activations are laid out while a program runs: batch-major rows, or features × batch with examples in SIMD lanes. */
export type InferenceStrategy = "rows" | "lanes";

export interface InferenceProgram {
  /** Byte offset of the operation records and their number. */
  pointer: number;
  count: number;
  /** The buffer (0 = A, 1 = B) holding the logits, batch-major, when the program ends. */
  output: 0 | 1;
}

export interface InferencePlan {
  programs: Record<InferenceStrategy, InferenceProgram>;
  /** First free byte after the weights and programs: the activation buffers start here. */
  end: number;
  /** Floats one example needs in the largest activation (input included). */
  largestActivation: number;
}

/** Bump allocator over the module's memory that grows it as needed; every block is 16-byte aligned. */
class MemoryWriter {
  constructor(private readonly memory: WebAssembly.Memory, public end: number) {}

  write(array: Float32Array | Int32Array): number {
    const at = align16(this.end);
    ensureMemory(this.memory, at + array.byteLength);
    new Uint8Array(this.memory.buffer, at, array.byteLength).set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    this.end = at + array.byteLength;
    return at;
  }
}

export function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** Grows `memory` (in 64 KiB pages) until it holds `bytes`. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
}

/** Byte offsets of a layer's arrays in the module's memory. */
type PlacedLayer =
  | { kind: "weight"; rowPtr: number; colIdx: number; values: number; bias: number; dense: boolean; rowGroups: { records: number; steps: number; count: number } | null }
  | { kind: "normalize"; shift: number; factor: number }
  | null;

/** Writes every weight of `model` and both programs into `memory` from byte `base` on. */
export function writeInferencePlan(model: CompactModel, memory: WebAssembly.Memory, base: number): InferencePlan {
  const writer = new MemoryWriter(memory, base);
  const placed = model.layers.map((layer) => placeLayer(layer, writer));
  const programs = {} as Record<InferenceStrategy, InferenceProgram>;
  for (const strategy of ["rows", "lanes"] as const) {
    const { records, output } = buildProgram(model, placed, strategy);
    programs[strategy] = { pointer: writer.write(Int32Array.from(records.flat())), count: records.length, output };
  }
  const largestActivation = Math.max(model.inputSize, ...model.layers.map((l) => size(l.outputShape)));
  return { programs, end: align16(writer.end), largestActivation };
}

function placeLayer(layer: CompactLayer, writer: MemoryWriter): PlacedLayer {
  if (layer.kind === "normalize") return { kind: "normalize", shift: writer.write(layer.shift), factor: writer.write(layer.factor) };
  if (layer.kind !== "linear" && layer.kind !== "conv2d") return null;
  const w = layer.weight;
  // A dense weight's values are already row-major [rows][cols]: the dense kernels need no indices.
  const dense = layer.kind === "linear" && w.structure === "dense";
  // A sparse linear layer is laid out twice: CSR for the lanes kernel, SELL-4 groups for the rows kernel.
  const groups = layer.kind === "linear" && !dense ? rowGroupLayout(w, layer.bias) : null;
  return {
    kind: "weight",
    dense,
    rowPtr: dense ? 0 : writer.write(w.rowPtr),
    colIdx: dense ? 0 : writer.write(w.colIdx),
    values: writer.write(w.values),
    bias: writer.write(layer.bias),
    rowGroups: groups === null ? null : { records: writer.write(groups.records), steps: writer.write(groups.steps), count: groups.count },
  };
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function floatBits(value: number): number {
  return new Int32Array(Float32Array.of(value).buffer)[0];
}

/**
 * The index of the layer where a lanes program switches to feature-major activations: the first
 * linear layer from which on every layer runs in lanes (convolution and pooling run batch-major),
 * or -1 when there is none (then the lanes program is the rows program).
 */
function lanesStart(layers: readonly CompactLayer[]): number {
  let start = layers.length;
  while (start > 0 && ["linear", "activation", "normalize", "flatten"].includes(layers[start - 1].kind)) start--;
  return layers.findIndex((l, i) => i >= start && l.kind === "linear");
}

function buildProgram(model: CompactModel, placed: PlacedLayer[], strategy: InferenceStrategy): { records: number[][]; output: 0 | 1 } {
  const records: number[][] = [];
  let current: 0 | 1 = 0;
  const emit = (code: number, toOther: boolean, args: number[]) => {
    const target: 0 | 1 = toOther ? (current === 0 ? 1 : 0) : current;
    const record = [code, current, target, ...args];
    while (record.length < OP_WORDS) record.push(0);
    records.push(record);
    current = target;
  };
  const switchAt = strategy === "lanes" ? lanesStart(model.layers) : -1;
  let lanes = false;
  model.layers.forEach((layer, i) => {
    if (i === switchAt) {
      emit(OP.toLanes, true, [size(layer.inputShape)]);
      lanes = true;
    }
    const features = size(layer.inputShape);
    switch (layer.kind) {
      case "normalize": {
        const p = placed[i] as Extract<PlacedLayer, { kind: "normalize" }>;
        // A step of 0 reads the one shared value for every feature.
        emit(lanes ? OP.normalizeLanes : OP.normalizeRows, false, [features, p.shift, layer.shift.length === 1 ? 0 : 1, p.factor, layer.factor.length === 1 ? 0 : 1]);
        break;
      }
      case "activation":
        emit(lanes ? OP.activateLanes : OP.activateRows, false, [features, ACTIVATION_CODES[layer.activation], floatBits(layer.negativeSlope)]);
        break;
      case "flatten":
        break;
      case "linear": {
        const w = placed[i] as Extract<PlacedLayer, { kind: "weight" }>;
        const act = [ACTIVATION_CODES[layer.activation], floatBits(layer.negativeSlope)];
        const { rows, cols } = layer.weight;
        if (w.dense) emit(lanes ? OP.denseLanes : OP.denseRows, true, [rows, cols, w.values, w.bias, ...act]);
        else if (lanes) emit(OP.csrLanes, true, [rows, cols, w.rowPtr, w.colIdx, w.values, w.bias, ...act]);
        else emit(OP.csrRows, true, [rows, cols, w.rowGroups!.records, w.rowGroups!.steps, w.rowGroups!.count, ...act]);
        break;
      }
      case "conv2d": {
        const w = placed[i] as Extract<PlacedLayer, { kind: "weight" }>;
        const [c, h, wIn] = layer.inputShape;
        const [co, ho, wo] = layer.outputShape;
        emit(OP.conv2d, true, [c, h, wIn, co, ho, wo, layer.kernel, layer.stride, layer.padding, w.rowPtr, w.colIdx, w.values, w.bias,
          ACTIVATION_CODES[layer.activation], floatBits(layer.negativeSlope)]);
        break;
      }
      case "maxpool": {
        const [c, h, wIn] = layer.inputShape;
        const [, ho, wo] = layer.outputShape;
        emit(OP.maxPool, true, [c, h, wIn, ho, wo, layer.kernel, layer.stride, layer.padding]);
        break;
      }
    }
  });
  if (lanes) emit(OP.fromLanes, true, [model.outputSize]);
  return { records, output: current };
}
