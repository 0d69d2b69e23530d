// A loaded model: its weights and programs live in one WebAssembly instance's memory, and each predict is one call into the module.
import type { CompactModel } from "./compact-model.js";
import type { InferenceVariant } from "./inference-module.js";
import { align16, ensureMemory, writeInferencePlan, type InferencePlan, type InferenceStrategy } from "./inference-plan.js";

/**
 * From this batch size on, the lanes program (four examples per SIMD vector, transposes in and
 * out) beats the row-gather program (SELL-4 row groups). Measured with scripts/bench-runtime.mjs
 * on a 95%-sparse LeNet-300-100: at batch 3 rows 12.1 µs, lanes 13.8 µs; at batch 4 rows 16.0 µs,
 * lanes 11.9 µs.
 */
export const LANES_MIN_BATCH = 4;
/** The runtime keeps its memory below 2 GiB so that every byte offset fits the kernels' 32-bit arithmetic with room to spare. */
const MAX_MEMORY_BYTES = 2 ** 31;

/** How predict picks its program: by batch size ("auto"), or always one (tests, benchmarks). */
export type StrategyChoice = InferenceStrategy | "auto";

export interface RuntimeModel {
  /** Features per example (raw, as the dataset files hold them) and the shape they form. */
  readonly inputSize: number;
  readonly inputShape: readonly number[];
  /** Logits per example. */
  readonly classes: number;
  readonly classNames?: readonly string[];
  /** The WebAssembly build in use. */
  readonly kernels: InferenceVariant;
  /** Logits, batch × classes, of `batchSize` examples given one after the other. */
  predict(inputs: Float32Array, batchSize: number): Float32Array;
  /** The index of the largest logit of each example (the first on ties). */
  classify(inputs: Float32Array, batchSize: number): Int32Array;
  /** Releases the WebAssembly memory; the model refuses every later call. */
  dispose(): void;
}

interface RunExport { run(program: number, count: number, batch: number, bufferA: number, bufferB: number): void }

export class WasmRuntimeModel implements RuntimeModel {
  readonly inputSize: number;
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly classNames?: readonly string[];
  private exports: RunExport | null;
  private memory: WebAssembly.Memory | null;
  private readonly plan: InferencePlan;
  /** Examples the activation buffers hold (a multiple of 4); they grow for a larger batch, never shrink. */
  private capacity = 0;
  private bufferB = 0;
  /** A float32 view of the whole memory (see forward). */
  private floats: Float32Array = new Float32Array(0);

  constructor(model: CompactModel, instance: WebAssembly.Instance, readonly kernels: InferenceVariant, private readonly strategy: StrategyChoice, private readonly source: string) {
    this.inputSize = model.inputSize;
    this.inputShape = Object.freeze([...model.inputShape]);
    this.classes = model.outputSize;
    if (model.classNames !== null) this.classNames = Object.freeze([...model.classNames]);
    const exports = instance.exports as unknown as RunExport & { memory: WebAssembly.Memory; heapBase(): number };
    this.exports = exports;
    this.memory = exports.memory;
    this.plan = writeInferencePlan(model, exports.memory, exports.heapBase());
    this.reserve(16);
  }

  predict(inputs: Float32Array, batchSize: number): Float32Array {
    return this.forward("predict", inputs, batchSize);
  }

  classify(inputs: Float32Array, batchSize: number): Int32Array {
    const logits = this.forward("classify", inputs, batchSize);
    const classes = this.classes;
    const labels = new Int32Array(batchSize);
    for (let b = 0; b < batchSize; b++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[b * classes + c] > logits[b * classes + best]) best = c;
      labels[b] = best;
    }
    return labels;
  }

  dispose(): void {
    this.exports = null;
    this.memory = null;
    this.floats = new Float32Array(0);
  }

  /** The logits of a batch: inputs copied into buffer A, one call into the module, the logits copied out. */
  private forward(method: string, inputs: Float32Array, batchSize: number): Float32Array {
    this.checkCall(method, inputs, batchSize);
    this.reserve(batchSize);
    const strategy = this.strategy !== "auto" ? this.strategy : batchSize >= LANES_MIN_BATCH ? "lanes" : "rows";
    const program = this.plan.programs[strategy];
    const bufferA = this.plan.end;
    // One view of the whole memory, made again only after the memory grew (a grown memory detaches
    // the old buffer): a batch-1 call is a few microseconds, and each new view costs a little of that.
    let floats = this.floats;
    if (floats.buffer !== this.memory!.buffer) floats = this.floats = new Float32Array(this.memory!.buffer);
    floats.set(inputs, bufferA >>> 2);
    this.exports!.run(program.pointer, program.count, batchSize, bufferA, this.bufferB);
    const output = (program.output === 0 ? bufferA : this.bufferB) >>> 2;
    return floats.slice(output, output + batchSize * this.classes);
  }

  /** Validates a call's arguments (never a trap or a wrong answer on bad input). */
  private checkCall(method: string, inputs: Float32Array, batchSize: number): void {
    if (this.exports === null || this.memory === null) throw new Error(`${this.source}: ${method}: the model was disposed; load it again`);
    if (!(inputs instanceof Float32Array)) throw new TypeError(`${this.source}: ${method}: inputs must be a Float32Array of raw features, got ${describe(inputs)}`);
    if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new RangeError(`${this.source}: ${method}: batch size must be an integer >= 1, got ${batchSize}`);
    if (inputs.length !== batchSize * this.inputSize) {
      const where = `${this.source}: ${method}`;
      const whole = inputs.length % this.inputSize === 0 ? ` (that is ${inputs.length / this.inputSize} examples)` : " (not a multiple of the input size)";
      throw new RangeError(`${where}: ${inputs.length} input values${whole} for ${batchSize} examples of ${this.inputSize} features (shape [${this.inputShape.join(", ")}]); expected ${batchSize * this.inputSize}`);
    }
  }

  /** Grows the two activation buffers (right after the weights) to hold `batch` examples in either layout. */
  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    const capacity = Math.ceil(batch / 4) * 4;
    const bufferBytes = align16(this.plan.largestActivation * capacity * 4);
    const end = this.plan.end + 2 * bufferBytes;
    if (end > MAX_MEMORY_BYTES) {
      throw new RangeError(`${this.source}: predict: a batch of ${batch} needs ${Math.ceil(end / 2 ** 20)} MiB of WebAssembly memory, more than the ${MAX_MEMORY_BYTES / 2 ** 20} MiB the runtime allows; split the batch`);
    }
    ensureMemory(this.memory!, end);
    this.capacity = capacity;
    this.bufferB = this.plan.end + bufferBytes;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
