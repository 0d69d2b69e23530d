// The shared control block through which the main thread and one worker run a training step: signals, step arguments, parameter locations, results.
//
// One SharedArrayBuffer per worker. Its first 64 bytes are int32 signal slots (for Atomics.wait and
// Atomics.notify); then float64 slots (heap offsets reach 4 GiB, beyond int32): the step's
// arguments and results, one record per parameter (where the main thread keeps it, and where the
// worker left its gradient), and one slot per model buffer (where the worker keeps its copy).

/** Int32 signal slots. */
const COMMAND = 0; // sequence number of the latest command
export const DONE = 1; // sequence number of the last command the worker finished
export const STATE = 2; // a WorkerState
const KIND = 3; // a CommandKind

export const WorkerState = { starting: 0, ready: 1, failed: 2, exited: 3 } as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

export const CommandKind = { step: 1, stop: 2 } as const;
export type CommandKind = (typeof CommandKind)[keyof typeof CommandKind];

export const HEADER_BYTES = 64;

/** Float64 slots of one step. */
const Arg = {
  startRow: 0, rows: 1, batchPtr: 2, labelsPtr: 3, share: 4, step: 5, labelSmoothing: 6,
  loss: 7, correct: 8, teacherPtr: 9, temperature: 10, alpha: 11,
} as const;
const ARG_SLOTS = 16;

/** What a worker needs for its rows of a step (heap offsets as numbers). */
export interface StepArguments {
  startRow: number;
  rows: number;
  batchPtr: number;
  labelsPtr: number;
  share: number;
  step: number;
  labelSmoothing: number;
  /** The teacher's logits of the whole batch (rows × classes) when distilling, else 0; with the distillation loss's T and α. */
  teacherPtr: number;
  temperature: number;
  alpha: number;
}

/**
 * Where a parameter lives in the main thread's heap. Dense: `valuesPtr` and `size` (rows = cols = 0).
 * Sparse (CSR): also `rows`, `cols` and the structure arrays; `size` is the number of non-zeros.
 * `maskPtr` is 0 unless a dense weight has a mask of its own shape.
 */
export interface ParameterLocation {
  valuesPtr: number;
  size: number;
  rows: number;
  cols: number;
  rowPtrPtr: number;
  colIdxPtr: number;
  maskPtr: number;
}

const LOCATION_FIELDS = ["valuesPtr", "size", "rows", "cols", "rowPtrPtr", "colIdxPtr", "maskPtr"] as const;
const PARAMETER_SLOTS = LOCATION_FIELDS.length + 1; // + the worker's gradient offset
const GRADIENT = LOCATION_FIELDS.length;

export class ControlBlock {
  private readonly signals: Int32Array;
  private readonly slots: Float64Array;

  private constructor(
    readonly buffer: SharedArrayBuffer,
    readonly parameterCount: number,
    readonly bufferCount: number,
  ) {
    this.signals = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.slots = new Float64Array(buffer, HEADER_BYTES);
  }

  /** A fresh block for a model with `parameterCount` parameters and `bufferCount` buffers. */
  static create(parameterCount: number, bufferCount: number): ControlBlock {
    const bytes = HEADER_BYTES + 8 * (ARG_SLOTS + PARAMETER_SLOTS * parameterCount + bufferCount);
    return new ControlBlock(new SharedArrayBuffer(bytes), parameterCount, bufferCount);
  }

  /** The same block seen from another thread. */
  static attach(buffer: SharedArrayBuffer, parameterCount: number, bufferCount: number): ControlBlock {
    return new ControlBlock(buffer, parameterCount, bufferCount);
  }

  // ---- signals ----

  get state(): WorkerState {
    return Atomics.load(this.signals, STATE) as WorkerState;
  }

  /** Sets the worker's state and wakes a thread waiting for it (or for a command to finish). */
  setState(state: WorkerState): void {
    Atomics.store(this.signals, STATE, state);
    Atomics.notify(this.signals, STATE);
    Atomics.notify(this.signals, DONE);
  }

  /** Blocks until the state leaves `state` or `timeoutMs` passes; returns the state. */
  waitWhileState(state: WorkerState, timeoutMs: number): WorkerState {
    const deadline = performance.now() + timeoutMs;
    while (this.state === state) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.signals, STATE, state, left);
    }
    return this.state;
  }

  /** Main thread: posts command number `sequence` of `kind` (its arguments written before). */
  post(kind: CommandKind, sequence: number): void {
    Atomics.store(this.signals, KIND, kind);
    Atomics.store(this.signals, COMMAND, sequence);
    Atomics.notify(this.signals, COMMAND);
  }

  /** Worker: blocks until a command after `lastSequence` arrives; returns its number and kind. */
  nextCommand(lastSequence: number): { sequence: number; kind: CommandKind } {
    while (Atomics.load(this.signals, COMMAND) === lastSequence) Atomics.wait(this.signals, COMMAND, lastSequence);
    return { sequence: Atomics.load(this.signals, COMMAND), kind: Atomics.load(this.signals, KIND) as CommandKind };
  }

  /** Worker: reports command `sequence` finished. */
  finish(sequence: number): void {
    Atomics.store(this.signals, DONE, sequence);
    Atomics.notify(this.signals, DONE);
  }

  /**
   * Main thread: blocks until command `sequence` is finished, the worker failed or exited, or
   * `timeoutMs` passed. Returns true when finished.
   */
  waitDone(sequence: number, timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(this.signals, DONE);
      if (done === sequence) return true;
      const state = this.state;
      if (state === WorkerState.failed || state === WorkerState.exited) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.signals, DONE, done, left);
    }
  }

  // ---- step arguments and results ----

  writeStep(step: StepArguments): void {
    for (const key of Object.keys(step) as (keyof typeof step)[]) this.slots[Arg[key]] = step[key];
  }

  readStep(): StepArguments {
    const s = this.slots;
    return {
      startRow: s[Arg.startRow], rows: s[Arg.rows], batchPtr: s[Arg.batchPtr], labelsPtr: s[Arg.labelsPtr],
      share: s[Arg.share], step: s[Arg.step], labelSmoothing: s[Arg.labelSmoothing],
      teacherPtr: s[Arg.teacherPtr], temperature: s[Arg.temperature], alpha: s[Arg.alpha],
    };
  }

  writeResult(loss: number, correct: number): void {
    this.slots[Arg.loss] = loss;
    this.slots[Arg.correct] = correct;
  }

  readResult(): { loss: number; correct: number } {
    return { loss: this.slots[Arg.loss], correct: this.slots[Arg.correct] };
  }

  // ---- parameters and buffers ----

  private parameterBase(index: number): number {
    return ARG_SLOTS + index * PARAMETER_SLOTS;
  }

  writeLocation(index: number, location: ParameterLocation): void {
    const base = this.parameterBase(index);
    LOCATION_FIELDS.forEach((field, k) => (this.slots[base + k] = location[field]));
  }

  readLocation(index: number): ParameterLocation {
    const base = this.parameterBase(index);
    const location = {} as ParameterLocation;
    LOCATION_FIELDS.forEach((field, k) => (location[field] = this.slots[base + k]));
    return location;
  }

  /** Heap offset of the worker's gradient of parameter `index` (0: none). */
  gradientPtr(index: number): number {
    return this.slots[this.parameterBase(index) + GRADIENT];
  }

  setGradientPtr(index: number, ptr: number): void {
    this.slots[this.parameterBase(index) + GRADIENT] = ptr;
  }

  /** Heap offset of the worker's copy of model buffer `index` (batch-norm running statistics). */
  bufferPtr(index: number): number {
    return this.slots[ARG_SLOTS + PARAMETER_SLOTS * this.parameterCount + index];
  }

  setBufferPtr(index: number, ptr: number): void {
    this.slots[ARG_SLOTS + PARAMETER_SLOTS * this.parameterCount + index] = ptr;
  }
}

/** True when two locations name the same storage (so a replica's view of it is still valid). */
export function sameLocation(a: ParameterLocation, b: ParameterLocation): boolean {
  return LOCATION_FIELDS.every((field) => a[field] === b[field]);
}
