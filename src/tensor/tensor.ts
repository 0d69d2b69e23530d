// Float32 tensors stored contiguously in the shared heap, with reference-counted storage and tidy scopes.
import { alloc, free, heapF32 } from "../backend/heap.js";
import type { GradNode } from "../autograd/engine.js";

export type Shape = readonly number[];
export type DType = "float32";

/** Number of elements of a shape. */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "[2, 3]" for error messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

function checkShape(shape: Shape, where: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${where}: invalid shape ${formatShape(shape)} (dimensions must be integers >= 0)`);
  }
}

/** A block of heap memory shared by a tensor and its views. */
export class Storage {
  refs = 0;
  constructor(
    readonly ptr: number,
    readonly bytes: number,
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) free(this.ptr, this.bytes);
  }
}

// Safety net: a tensor the program forgot to dispose releases its storage when collected.
const collected = new FinalizationRegistry<Storage>((storage) => storage.release());

// Tidy scopes: every tensor created inside `tidy` is disposed when it ends, unless returned or kept.
const scopes: Set<Tensor>[] = [];

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly storage: Storage;
  /** Byte offset of element 0 inside the storage (non-zero for views such as row slices). */
  readonly offset: number;
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf tensor (set by `backward`). */
  grad: Tensor | null = null;
  /** How this tensor was computed, for backward; null for leaves and outside autograd. */
  node: GradNode | null = null;
  /** Optional name (parameters use their PyTorch-style name), shown in errors. */
  name: string | undefined;
  private disposed = false;

  /** Wraps existing storage; prefer the factory functions (`empty`, `zeros`, `tensor`). */
  constructor(shape: Shape, storage: Storage, offset = 0, requiresGrad = false) {
    checkShape(shape, "Tensor");
    this.shape = [...shape];
    this.size = shapeSize(shape);
    if (offset + this.size * 4 > storage.bytes) {
      throw new RangeError(`Tensor: shape ${formatShape(shape)} at offset ${offset} exceeds its storage (${storage.bytes} bytes)`);
    }
    this.storage = storage;
    this.offset = offset;
    this.requiresGrad = requiresGrad;
    storage.retain();
    collected.register(this, storage, this);
    scopes.at(-1)?.add(this);
  }

  /** Byte offset of the first element in the heap (what kernels take). */
  get ptr(): number {
    return this.storage.ptr + this.offset;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A live Float32Array view of the elements (valid until the tensor is disposed). */
  get data(): Float32Array {
    this.assertAlive();
    return heapF32().subarray(this.ptr >>> 2, (this.ptr >>> 2) + this.size);
  }

  /** A copy of the elements. */
  toArray(): Float32Array {
    return this.data.slice();
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item(): tensor has shape ${formatShape(this.shape)}, expected one element`);
    return this.data[0];
  }

  /** Nested arrays, for printing and tests. */
  toNested(): unknown {
    const flat = Array.from(this.data);
    const build = (dim: number, start: number): unknown => {
      if (dim === this.shape.length) return flat[start];
      const stride = shapeSize(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, start + i * stride));
    };
    return build(0, 0);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees the storage (once every view of it is disposed too). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    collected.unregister(this);
    this.storage.release();
    this.node = null;
    if (this.grad !== null) {
      this.grad.dispose();
      this.grad = null;
    }
    for (const scope of scopes) scope.delete(this);
  }

  assertAlive(): void {
    if (this.disposed) throw new Error(`tensor${this.name ? ` ${this.name}` : ""} ${formatShape(this.shape)} was used after dispose()`);
  }

  toString(): string {
    return `Tensor${formatShape(this.shape)}${this.name ? ` ${this.name}` : ""}`;
  }
}

/** A new tensor with unspecified contents. */
export function empty(shape: Shape): Tensor {
  checkShape(shape, "empty");
  const bytes = shapeSize(shape) * 4;
  return new Tensor(shape, new Storage(alloc(bytes), bytes));
}

/** A tensor of zeros. */
export function zeros(shape: Shape): Tensor {
  const t = empty(shape);
  t.data.fill(0);
  return t;
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number): Tensor {
  const t = empty(shape);
  t.data.fill(value);
  return t;
}

/** A tensor of ones. */
export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

/** A tensor from flat values (length must match the shape). Only float32 is supported. */
export function tensor(values: ArrayLike<number>, shape: Shape = [values.length], dtype: DType = "float32"): Tensor {
  if (dtype !== "float32") throw new TypeError(`tensor: unsupported dtype "${String(dtype)}" (only "float32" is supported)`);
  checkShape(shape, "tensor");
  if (values.length !== shapeSize(shape)) {
    throw new RangeError(`tensor: ${values.length} values do not fill shape ${formatShape(shape)} (${shapeSize(shape)} elements)`);
  }
  const t = empty(shape);
  t.data.set(values);
  return t;
}

/** A view of the same storage with another shape of the same size (no copy, no autograd). */
export function viewAs(t: Tensor, shape: Shape): Tensor {
  if (shapeSize(shape) !== t.size) {
    throw new RangeError(`reshape: cannot view ${formatShape(t.shape)} (${t.size} elements) as ${formatShape(shape)}`);
  }
  return new Tensor(shape, t.storage, t.offset);
}

/** A view of rows [start, end) along the first axis (no copy, no autograd). */
export function rowsView(t: Tensor, start: number, end: number): Tensor {
  const rowSize = t.size / (t.shape[0] || 1);
  return new Tensor([end - start, ...t.shape.slice(1)], t.storage, t.offset + start * rowSize * 4);
}

/** A copy (no autograd). */
export function clone(t: Tensor): Tensor {
  const c = empty(t.shape);
  c.data.set(t.data);
  return c;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== "object") return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
}

/**
 * Runs `fn`, then disposes every tensor created during it except those it returns (found in
 * arrays and plain objects) and those passed to `keep`. Returned tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) {
    if (kept.has(t)) scopes.at(-1)?.add(t);
    else t.dispose();
  }
  return result;
}

/** Removes `t` from every enclosing tidy scope so that it outlives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}
