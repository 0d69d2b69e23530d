// The optimizer contract: parameter groups, per-parameter state buffers parallel to the values, and their checkpoint form.
//
// State buffers have exactly the parameter's size, so for a sparse weight (whose parameter is
// its CSR values) they cost O(nnz). When a sparsity method changes a sparse weight's structure
// it calls `remapParameter`, which carries the state of kept entries and zeroes the rest.
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
  buffers: Record<string, Float32Array>;
  lrs: number[];
}

interface ParamState {
  step: number;
  buffers: Map<string, Tensor>;
}

export abstract class Optimizer<O extends GroupOptions = GroupOptions> {
  readonly groups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(
    readonly kind: string,
    groups: { params: Tensor[]; options?: Partial<O> }[],
    defaults: O,
    /** Names of the per-parameter buffers this optimizer keeps (torch's names). */
    protected readonly bufferNames: readonly string[],
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
        this.update(p, p.grad, s.step, s.buffers, group.options);
      }
    }
  }

  protected abstract update(param: Tensor, grad: Tensor, step: number, buffers: Map<string, Tensor>, options: O): void;

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad !== null) kernels.fill(p.grad.size, 0, p.grad.ptr);
  }

  private paramState(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = { step: 0, buffers: new Map(this.bufferNames.map((name) => [name, keep(zeros([p.size]))])) };
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
   * in the old parameter whose state entry `i` inherits, or −1 for a new entry (state zero).
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
    this.state.set(newParam, { step: old.step, buffers });
  }

  /** Zeroes the state entries `indices` of `param` (regrown weights start fresh). */
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
    }
  }
}

function requireName(p: Tensor): string {
  if (p.name === undefined) throw new Error(`optimizer state needs named parameters; ${p} has no name`);
  return p.name;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
