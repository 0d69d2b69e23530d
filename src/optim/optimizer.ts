// The optimizer contract: parameter groups, per-parameter state buffers parallel to the values, and their checkpoint form.
//
// State buffers have exactly the parameter's size, so for a sparse weight (whose parameter is
// its CSR values) they cost O(nnz). When a sparsity method changes a sparse weight's structure
// it calls `remapParameter`, which carries the state of kept entries and zeroes the rest.
//
// Optimizers whose update depends on the step count (Adam's bias correction) also keep a step
// count per entry once entries differ: a connection grown at step t then takes exactly the first
// steps of a fresh Adam, instead of inheriting the parameter's decayed bias correction (which made
// its first step about 3× the learning rate at β2 = 0.999). RigL and SNFS zero the moments of new
// connections; the per-entry count makes that reset complete.
import { kernels } from "../backend/kernels.js";
import { formatShape, keep, Tensor, zeros } from "../tensor/tensor.js";

/** Hyper-parameters shared by all optimizers; each group may override them. */
export interface GroupOptions {
  lr: number;
  weightDecay: number;
}

export interface ParamGroup<O extends GroupOptions = GroupOptions> {
  params: Tensor[];
  options: O;
  /** The learning rate before schedules (schedules set options.lr = initialLr · factor). */
  initialLr: number;
}

/** Serializable optimizer state: per-parameter buffers by name, step counts and group learning rates. */
export interface OptimizerState {
  kind: string;
  steps: Record<string, number>;
  /** `<param>.<buffer>`; `<param>.entry_steps` holds per-entry step counts where they differ from the parameter's. */
  buffers: Record<string, Float32Array>;
  lrs: number[];
}

interface ParamState {
  step: number;
  buffers: Map<string, Tensor>;
  /** Steps taken by each entry, when they differ (after a structure change grew entries); null: all took `step`. */
  entrySteps: Int32Array | null;
}

/** Name of the per-entry step counts in `OptimizerState.buffers` (float32 holds counts up to 2^24 exactly). */
const ENTRY_STEPS = "entry_steps";
const MAX_ENTRY_STEP = 2 ** 24;

export abstract class Optimizer<O extends GroupOptions = GroupOptions> {
  readonly groups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(
    readonly kind: string,
    groups: { params: Tensor[]; options?: Partial<O> }[],
    defaults: O,
    /** Names of the per-parameter buffers this optimizer keeps (torch's names). */
    protected readonly bufferNames: readonly string[],
    /** True when the update depends on the step count, so that entries grown later need their own count. */
    protected readonly countsStepsPerEntry = false,
  ) {
    const seen = new Set<Tensor>();
    this.groups = groups.map((g, i) => {
      const options = { ...defaults, ...stripUndefined(g.options ?? {}) } as O;
      if (!(options.lr >= 0)) throw new RangeError(`${kind}: group ${i}: lr must be >= 0, got ${options.lr}`);
      if (!(options.weightDecay >= 0)) throw new RangeError(`${kind}: group ${i}: weightDecay must be >= 0, got ${options.weightDecay}`);
      for (const p of g.params) {
        if (seen.has(p)) throw new Error(`${kind}: parameter ${p.name ?? formatShape(p.shape)} appears in more than one group`);
        seen.add(p);
      }
      return { params: [...g.params], options, initialLr: options.lr };
    });
  }

  /** Every parameter, in group order. */
  parameters(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    for (const group of this.groups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        const s = this.paramState(p);
        s.step++;
        if (s.entrySteps !== null) {
          if (s.step > MAX_ENTRY_STEP) throw new RangeError(`${this.kind}: ${p.name ?? "parameter"} passed ${MAX_ENTRY_STEP} steps, beyond exact per-entry step counts`);
          const counts = s.entrySteps;
          for (let i = 0; i < counts.length; i++) counts[i]++;
        }
        this.update(p, p.grad, s.step, s.buffers, group.options, s.entrySteps);
      }
    }
  }

  /** One update of `param`; `entrySteps` (when not null) gives each entry's own step count, all ≥ 1. */
  protected abstract update(param: Tensor, grad: Tensor, step: number, buffers: Map<string, Tensor>, options: O, entrySteps: Int32Array | null): void;

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad !== null) kernels.fill(p.grad.size, 0, p.grad.ptr);
  }

  private paramState(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = { step: 0, buffers: new Map(this.bufferNames.map((name) => [name, keep(zeros([p.size]))])), entrySteps: null };
      this.state.set(p, s);
    }
    return s;
  }

  /** The state buffer `name` of `param` (created as zeros if the parameter has not stepped yet). */
  buffer(param: Tensor, name: string): Tensor {
    const b = this.paramState(param).buffers.get(name);
    if (b === undefined) throw new Error(`${this.kind} has no state buffer "${name}" (it has ${this.bufferNames.join(", ")})`);
    return b;
  }

  /**
   * Replaces `oldParam` by `newParam` (e.g. after a sparse structure change). `source[i]` is the index
   * in the old parameter whose state entry `i` inherits, or −1 for a new entry (state zero and,
   * for step-counting optimizers, step count zero: its next update is a first step).
   */
  remapParameter(oldParam: Tensor, newParam: Tensor, source: Int32Array): void {
    if (source.length !== newParam.size) {
      throw new RangeError(`remapParameter: ${source.length} source indices for a parameter of ${newParam.size} values`);
    }
    const group = this.groups.find((g) => g.params.includes(oldParam));
    if (group === undefined) throw new Error(`remapParameter: ${oldParam} is not optimized by this ${this.kind}`);
    group.params[group.params.indexOf(oldParam)] = newParam;
    const old = this.state.get(oldParam);
    this.state.delete(oldParam);
    if (old === undefined) return;
    const buffers = new Map<string, Tensor>();
    for (const [name, buf] of old.buffers) {
      const next = keep(zeros([newParam.size]));
      const from = buf.data, to = next.data;
      for (let i = 0; i < source.length; i++) if (source[i] >= 0) to[i] = from[source[i]];
      buf.dispose();
      buffers.set(name, next);
    }
    this.state.set(newParam, { step: old.step, buffers, entrySteps: this.countsStepsPerEntry ? remapEntrySteps(old, source) : null });
  }

  /**
   * Zeroes the moments of the entries `indices` of `param`: pruned weights, which keep a zero value
   * and gradient from now on. Their step counts are left alone, since such entries never grow back
   * (a structure change that grows entries goes through `remapParameter`).
   */
  resetEntries(param: Tensor, indices: ArrayLike<number>): void {
    const s = this.state.get(param);
    if (s === undefined) return;
    for (const buf of s.buffers.values()) {
      const d = buf.data;
      for (let i = 0; i < indices.length; i++) d[indices[i]] = 0;
    }
  }

  /** A copy of the state keyed by parameter name (parameters must be named). */
  getState(): OptimizerState {
    const steps: Record<string, number> = {};
    const buffers: Record<string, Float32Array> = {};
    for (const p of this.parameters()) {
      const name = requireName(p);
      const s = this.state.get(p);
      steps[name] = s?.step ?? 0;
      if (s !== undefined) for (const [b, t] of s.buffers) buffers[`${name}.${b}`] = t.toArray();
      if (s?.entrySteps) buffers[`${name}.${ENTRY_STEPS}`] = Float32Array.from(s.entrySteps);
    }
    return { kind: this.kind, steps, buffers, lrs: this.groups.map((g) => g.options.lr) };
  }

  /** Restores a state from `getState`, checking names and sizes. */
  loadState(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new Error(`optimizer state is for ${state.kind}, this optimizer is ${this.kind}`);
    if (state.lrs.length !== this.groups.length) {
      throw new Error(`optimizer state has ${state.lrs.length} parameter groups, this optimizer ${this.groups.length}`);
    }
    this.groups.forEach((g, i) => (g.options.lr = state.lrs[i]));
    for (const p of this.parameters()) {
      const name = requireName(p);
      const step = state.steps[name];
      if (step === undefined) throw new Error(`optimizer state has no entry for parameter ${name}`);
      this.state.get(p)?.buffers.forEach((t) => t.dispose());
      this.state.delete(p);
      if (step === 0) continue;
      const s = this.paramState(p);
      s.step = step;
      for (const [b, t] of s.buffers) {
        const saved = state.buffers[`${name}.${b}`];
        if (saved === undefined || saved.length !== p.size) {
          throw new Error(`optimizer state ${name}.${b}: expected ${p.size} values, found ${saved?.length ?? "none"}`);
        }
        t.data.set(saved);
      }
      const savedEntrySteps = state.buffers[`${name}.${ENTRY_STEPS}`];
      if (savedEntrySteps !== undefined && this.countsStepsPerEntry) s.entrySteps = checkedEntrySteps(savedEntrySteps, p.size, step, `${name}.${ENTRY_STEPS}`);
    }
  }
}

/** The per-entry step counts after a remap: kept entries carry theirs, new ones (source −1) start at 0; null when all are equal again. */
function remapEntrySteps(old: ParamState, source: Int32Array): Int32Array | null {
  const counts = new Int32Array(source.length);
  let uniform = true;
  for (let i = 0; i < source.length; i++) {
    const from = source[i];
    counts[i] = from < 0 ? 0 : old.entrySteps === null ? old.step : old.entrySteps[from];
    if (counts[i] !== old.step) uniform = false;
  }
  return uniform ? null : counts;
}

/** Saved per-entry step counts: `size` integers in [0, step]. */
function checkedEntrySteps(saved: Float32Array, size: number, step: number, where: string): Int32Array {
  if (saved.length !== size) throw new Error(`optimizer state ${where}: expected ${size} values, found ${saved.length}`);
  const counts = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const c = saved[i];
    if (!(Number.isInteger(c) && c >= 0 && c <= step)) throw new Error(`optimizer state ${where}[${i}]: expected an integer step count in [0, ${step}], found ${c}`);
    counts[i] = c;
  }
  return counts;
}

function requireName(p: Tensor): string {
  if (p.name === undefined) throw new Error(`optimizer state needs named parameters; ${p} has no name`);
  return p.name;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
