// A sparse matrix in CSR form (row pointers, sorted column indices, values) whose structure lives in the shared heap.
//
// `values` is an ordinary float32 tensor of shape [nnz]: it is the trainable parameter, so autograd
// and optimizers see only the stored weights and optimizer state costs O(nnz). The structure
// arrays (int32 `rowPtr`, M+1 entries, and `colIdx`, nnz entries) are heap blocks that the sparse
// kernels read by byte offset. Layout and names follow torch's CSR (crow_indices, col_indices).
import { alloc, free, heapI32 } from "../backend/heap.js";
import type { Rng } from "./rng.js";
import { empty, formatShape, keep, Tensor, zeros } from "./tensor.js";

/** The raw CSR arrays, as accepted by `SparseMatrix.fromCSR`. */
export interface CsrArrays {
  rows: number;
  cols: number;
  rowPtr: ArrayLike<number>;
  colIdx: ArrayLike<number>;
  values: ArrayLike<number> | Tensor;
}

/** An int32 array in the heap: byte offset and length. */
interface HeapInt32Block {
  ptr: number;
  length: number;
}

/** Above this many positions (rows·cols) Floyd's draws no longer fit `Rng.int`: `random` draws positions directly (see sampleSortedPositions). */
const LARGE_LAYER_POSITIONS = 2 ** 32;

/**
 * `count` distinct uniform positions in [0, total), sorted: draw, sort, drop repeats, draw the
 * shortfall again. Memory and time grow with `count`, not `total` (a 10⁵×10⁵ layer at 0.1% draws
 * 10⁷ positions instead of scanning 10¹⁰).
 */
function sampleSortedPositions(total: number, count: number, rng: Rng): Float64Array {
  let kept = new Float64Array(0);
  while (kept.length < count) {
    const drawn = new Float64Array(count - kept.length);
    for (let i = 0; i < drawn.length; i++) drawn[i] = rng.bigInt(total);
    const merged = new Float64Array(kept.length + drawn.length);
    merged.set(kept);
    merged.set(drawn, kept.length);
    merged.sort();
    let unique = 0;
    for (let i = 0; i < merged.length; i++) if (i === 0 || merged[i] !== merged[i - 1]) merged[unique++] = merged[i];
    kept = merged.slice(0, unique);
  }
  return kept;
}

/**
 * Floyd's sampling of `count` distinct positions in [0, total) for total <= 2^32, sorted: for j in
 * [total − count, total), pick t in [0, j]; take t unless taken, else take j. The positions taken
 * are kept in an open-addressing hash set (a few bytes per position drawn), so neither memory nor
 * time grows with `total`; the draws are those of the one-bit-per-position version this replaced,
 * so a seed gives the same structure as before.
 */
function floydSortedPositions(total: number, count: number, rng: Rng): Uint32Array {
  const capacity = 2 ** Math.ceil(Math.log2(Math.max(2, 2 * count)));
  const mask = capacity - 1;
  // EMPTY marks a free slot; the position equal to it (possible only when total = 2^32) is tracked apart.
  const EMPTY = 0xffffffff;
  const slots = new Uint32Array(capacity).fill(EMPTY);
  let hasEmptyValue = false;
  const slotOf = (position: number): number => {
    let slot = Math.imul(position, 0x9e3779b1) & mask;
    while (slots[slot] !== EMPTY && slots[slot] !== position) slot = (slot + 1) & mask;
    return slot;
  };
  const has = (position: number): boolean => (position === EMPTY ? hasEmptyValue : slots[slotOf(position)] === position);
  const add = (position: number): void => {
    if (position === EMPTY) hasEmptyValue = true;
    else slots[slotOf(position)] = position;
  };
  for (let j = total - count; j < total; j++) {
    const t = rng.int(j + 1);
    add(has(t) ? j : t);
  }
  const positions = new Uint32Array(count);
  let n = 0;
  for (let slot = 0; slot < capacity; slot++) if (slots[slot] !== EMPTY) positions[n++] = slots[slot];
  if (hasEmptyValue) positions[n++] = EMPTY;
  return positions.sort();
}

function allocInt32(values: ArrayLike<number>): HeapInt32Block {
  const block = { ptr: alloc(values.length * 4), length: values.length };
  heapI32().set(values, block.ptr >>> 2);
  return block;
}

// Safety net, as for tensors: structure arrays of a matrix the program forgot to dispose are freed on collection.
const collected = new FinalizationRegistry<HeapInt32Block[]>((blocks) => {
  for (const block of blocks) free(block.ptr, block.length * 4);
});

function describeMatrix(rows: number, cols: number): string {
  return `SparseMatrix ${rows}×${cols}`;
}

function checkDimensions(rows: number, cols: number, where: string): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`${where}: shape [${rows}, ${cols}] must be two integers >= 0`);
  }
}

/**
 * Checks a CSR structure and throws an error naming the first problem: lengths, non-integer
 * entries, row pointers (start at 0, never decrease, end at nnz) and column indices (in range,
 * strictly increasing within each row).
 */
export function validateCsr(rows: number, cols: number, rowPtr: ArrayLike<number>, colIdx: ArrayLike<number>, valuesLength: number): void {
  const where = describeMatrix(rows, cols);
  checkDimensions(rows, cols, "SparseMatrix");
  if (rowPtr.length !== rows + 1) throw new RangeError(`${where}: rowPtr has ${rowPtr.length} entries, expected rows + 1 = ${rows + 1}`);
  for (let i = 0; i <= rows; i++) {
    if (!Number.isInteger(rowPtr[i])) throw new TypeError(`${where}: rowPtr[${i}] = ${rowPtr[i]} is not an integer`);
  }
  if (rowPtr[0] !== 0) throw new RangeError(`${where}: row pointers must start at 0 (rowPtr[0] = ${rowPtr[0]})`);
  for (let i = 0; i < rows; i++) {
    if (rowPtr[i] > rowPtr[i + 1]) {
      throw new RangeError(`${where}: rowPtr[${i}]=${rowPtr[i]} > rowPtr[${i + 1}]=${rowPtr[i + 1]} (row pointers must not decrease)`);
    }
  }
  const nnz = rowPtr[rows];
  if (colIdx.length !== nnz) {
    throw new RangeError(`${where}: colIdx has ${colIdx.length} entries but rowPtr[${rows}] = ${nnz} (they must agree: the number of non-zeros)`);
  }
  if (valuesLength !== nnz) throw new RangeError(`${where}: values has ${valuesLength} entries but there are ${nnz} non-zeros`);
  for (let i = 0; i < rows; i++) {
    for (let p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
      const c = colIdx[p];
      if (!Number.isInteger(c)) throw new TypeError(`${where}: column index ${c} at position ${p} (row ${i}) is not an integer`);
      if (c < 0 || c >= cols) throw new RangeError(`${where}: column index ${c} at position ${p} (row ${i}) out of range [0, ${cols})`);
      if (p > rowPtr[i] && c <= colIdx[p - 1]) {
        throw new RangeError(`${where}: column indices of row ${i} not strictly increasing at position ${p} (${c} after ${colIdx[p - 1]})`);
      }
    }
  }
}

function denseInput(dense: Tensor | ArrayLike<number>, shape: readonly number[] | undefined, where: string): { data: ArrayLike<number>; rows: number; cols: number } {
  const dims = dense instanceof Tensor ? dense.shape : shape;
  if (dims === undefined) throw new TypeError(`${where}: a flat array needs its shape [rows, cols]`);
  if (dims.length !== 2) throw new RangeError(`${where}: shape ${formatShape(dims)} must be 2-D [rows, cols]`);
  const [rows, cols] = dims;
  checkDimensions(rows, cols, where);
  const data = dense instanceof Tensor ? dense.data : dense;
  if (data.length !== rows * cols) throw new RangeError(`${where}: ${data.length} values do not fill shape ${formatShape(dims)}`);
  return { data, rows, cols };
}

export class SparseMatrix {
  readonly rows: number;
  readonly cols: number;
  /** The stored weights, shape [nnz]: the parameter tensor (owned by this matrix, outside tidy scopes). */
  readonly values: Tensor;
  private readonly rowPtrBlock: HeapInt32Block;
  private readonly colIdxBlock: HeapInt32Block;
  /** False for a borrowed matrix: its structure arrays belong to another matrix (see `borrow`). */
  private readonly ownsStructure: boolean;
  private disposed = false;

  /** Takes ownership of heap blocks and `values`; use the static constructors instead. */
  private constructor(rows: number, cols: number, rowPtr: HeapInt32Block, colIdx: HeapInt32Block, values: Tensor, ownsStructure = true) {
    this.rows = rows;
    this.cols = cols;
    this.rowPtrBlock = rowPtr;
    this.colIdxBlock = colIdx;
    this.ownsStructure = ownsStructure;
    this.values = keep(values);
    if (ownsStructure) collected.register(this, [rowPtr, colIdx], this);
  }

  /**
   * A view of CSR arrays owned by another matrix (a worker thread's replica of the main thread's
   * weight): nothing is copied or validated, and `dispose` frees no structure array. `values` must
   * be a tensor over the owner's values (whose storage is borrowed as well). The owner must outlive the view.
   */
  static borrow(rows: number, cols: number, rowPtrPtr: number, colIdxPtr: number, values: Tensor): SparseMatrix {
    checkDimensions(rows, cols, "SparseMatrix.borrow");
    if (values.rank !== 1) throw new RangeError(`SparseMatrix.borrow: values tensor has shape ${formatShape(values.shape)}, expected [nnz]`);
    return new SparseMatrix(rows, cols, { ptr: rowPtrPtr, length: rows + 1 }, { ptr: colIdxPtr, length: values.size }, values, false);
  }

  /**
   * From CSR arrays; validates them (see `validateCsr`) and copies the structure into the heap.
   * Values given as an array are copied; a tensor of shape [nnz] is adopted as the parameter
   * itself (not copied: the matrix owns it from now on, and gradients reach that tensor).
   */
  static fromCSR({ rows, cols, rowPtr, colIdx, values }: CsrArrays): SparseMatrix {
    if (values instanceof Tensor && values.rank !== 1) {
      throw new RangeError(`${describeMatrix(rows, cols)}: values tensor has shape ${formatShape(values.shape)}, expected [nnz]`);
    }
    validateCsr(rows, cols, rowPtr, colIdx, values instanceof Tensor ? values.size : values.length);
    let valueTensor: Tensor;
    if (values instanceof Tensor) {
      values.assertAlive();
      valueTensor = values;
    } else {
      valueTensor = empty([values.length]);
      valueTensor.data.set(values);
    }
    return new SparseMatrix(rows, cols, allocInt32(rowPtr), allocInt32(colIdx), valueTensor);
  }

  /** Keeps the non-zeros of a dense 2-D tensor (or a flat row-major array with its shape). */
  static fromDense(dense: Tensor | ArrayLike<number>, shape?: readonly number[]): SparseMatrix {
    const { data, rows, cols } = denseInput(dense, shape, "SparseMatrix.fromDense");
    return SparseMatrix.select(rows, cols, data, (index) => data[index] !== 0);
  }

  /** Keeps the positions where `mask` is non-zero, with their values from `dense` (even zeros). */
  static fromMask(dense: Tensor | ArrayLike<number>, mask: Tensor | ArrayLike<number>, shape?: readonly number[]): SparseMatrix {
    const { data, rows, cols } = denseInput(dense, shape, "SparseMatrix.fromMask");
    const maskInput = denseInput(mask, shape ?? [rows, cols], "SparseMatrix.fromMask (mask)");
    if (maskInput.rows !== rows || maskInput.cols !== cols) {
      throw new RangeError(`SparseMatrix.fromMask: mask shape [${maskInput.rows}, ${maskInput.cols}] differs from the values' [${rows}, ${cols}]`);
    }
    const maskData = maskInput.data;
    return SparseMatrix.select(rows, cols, data, (index) => maskData[index] !== 0);
  }

  /** A rows×cols matrix with nothing stored (e.g. a layer about to receive a checkpoint's structure). */
  static empty(rows: number, cols: number): SparseMatrix {
    checkDimensions(rows, cols, "SparseMatrix.empty");
    return new SparseMatrix(rows, cols, allocInt32(new Int32Array(rows + 1)), allocInt32([]), zeros([0]));
  }

  /**
   * A rows×cols matrix with exactly round(density·rows·cols) stored positions, uniformly at random
   * (Floyd's sampling without replacement), deterministic for `rng`. Values are zero unless `init`
   * fills them. Time and memory grow with the number of positions drawn, not with rows·cols.
   */
  static random(rows: number, cols: number, density: number, rng: Rng, init?: (values: Tensor) => void): SparseMatrix {
    checkDimensions(rows, cols, "SparseMatrix.random");
    if (!(density >= 0 && density <= 1)) throw new RangeError(`SparseMatrix.random: density must be in [0, 1], got ${density}`);
    const total = rows * cols;
    const count = Math.round(density * total);
    const positions = total > LARGE_LAYER_POSITIONS ? sampleSortedPositions(total, count, rng) : floydSortedPositions(total, count, rng);
    const matrix = SparseMatrix.fromSortedPositions(rows, cols, positions);
    init?.(matrix.values);
    return matrix;
  }

  /** CSR of strictly increasing row-major positions (row·cols + col), values zero. */
  private static fromSortedPositions(rows: number, cols: number, positions: Float64Array | Uint32Array): SparseMatrix {
    const rowPtr = new Int32Array(rows + 1);
    const colIdx = new Int32Array(positions.length);
    for (let p = 0; p < positions.length; p++) {
      const row = Math.floor(positions[p] / cols);
      colIdx[p] = positions[p] - row * cols;
      rowPtr[row + 1]++;
    }
    for (let i = 0; i < rows; i++) rowPtr[i + 1] += rowPtr[i];
    return new SparseMatrix(rows, cols, allocInt32(rowPtr), allocInt32(colIdx), zeros([positions.length]));
  }

  /** CSR of the positions `keepAt(row·cols + col)` in row-major order, values from `data`. */
  private static select(rows: number, cols: number, data: ArrayLike<number>, keepAt: (index: number) => boolean): SparseMatrix {
    const rowPtr = new Int32Array(rows + 1);
    let nnz = 0;
    for (let index = 0; index < rows * cols; index++) if (keepAt(index)) nnz++;
    const colIdx = new Int32Array(nnz);
    const values = zeros([nnz]);
    const valueData = values.data;
    let p = 0;
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) {
        const index = i * cols + c;
        if (!keepAt(index)) continue;
        colIdx[p] = c;
        valueData[p] = data[index];
        p++;
      }
      rowPtr[i + 1] = p;
    }
    return new SparseMatrix(rows, cols, allocInt32(rowPtr), allocInt32(colIdx), values);
  }

  /** Number of stored entries. */
  get nnz(): number {
    return this.colIdxBlock.length;
  }

  /** Fraction of positions stored (0 for an empty shape). */
  get density(): number {
    const total = this.rows * this.cols;
    return total === 0 ? 0 : this.nnz / total;
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  /** Byte offset of the int32 row pointers (rows + 1 entries), for kernels. */
  get rowPtrPtr(): number {
    this.assertAlive();
    return this.rowPtrBlock.ptr;
  }

  /** Byte offset of the int32 column indices (nnz entries), for kernels. */
  get colIdxPtr(): number {
    this.assertAlive();
    return this.colIdxBlock.ptr;
  }

  /** Live view of the row pointers (valid until dispose; do not modify). */
  get rowPtr(): Int32Array {
    this.assertAlive();
    const start = this.rowPtrBlock.ptr >>> 2;
    return heapI32().subarray(start, start + this.rowPtrBlock.length);
  }

  /** Live view of the column indices (valid until dispose; do not modify). */
  get colIdx(): Int32Array {
    this.assertAlive();
    const start = this.colIdxBlock.ptr >>> 2;
    return heapI32().subarray(start, start + this.colIdxBlock.length);
  }

  /** Throws if the structure or the values' length is inconsistent (see `validateCsr`). */
  validate(): void {
    this.assertAlive();
    validateCsr(this.rows, this.cols, this.rowPtr, this.colIdx, this.values.size);
  }

  /** The dense rows×cols tensor (zeros where nothing is stored). */
  toDense(): Tensor {
    const values = this.values.data;
    return this.scatterToDense((p) => values[p]);
  }

  /** A rows×cols tensor with 1 at stored positions and 0 elsewhere. */
  toMask(): Tensor {
    return this.scatterToDense(() => 1);
  }

  private scatterToDense(valueAt: (p: number) => number): Tensor {
    const dense = zeros([this.rows, this.cols]);
    const out = dense.data;
    const rowPtr = this.rowPtr, colIdx = this.colIdx;
    for (let i = 0; i < this.rows; i++) {
      for (let p = rowPtr[i]; p < rowPtr[i + 1]; p++) out[i * this.cols + colIdx[p]] = valueAt(p);
    }
    return dense;
  }

  /** A deep copy (structure and values; the copy's values do not require a gradient). */
  clone(): SparseMatrix {
    this.assertAlive();
    const values = empty([this.nnz]);
    values.data.set(this.values.data);
    return new SparseMatrix(this.rows, this.cols, allocInt32(this.rowPtr), allocInt32(this.colIdx), values);
  }

  /**
   * Wᵀ (cols × rows, values copied) by a stable counting sort, O(nnz + cols): row c of the result
   * lists column c's entries in row order, so its column indices stay sorted.
   */
  transposed(): SparseMatrix {
    this.assertAlive();
    const rowPtr = this.rowPtr, colIdx = this.colIdx, values = this.values.data, nnz = this.nnz;
    const tRowPtr = new Int32Array(this.cols + 1);
    for (let p = 0; p < nnz; p++) tRowPtr[colIdx[p] + 1]++;
    for (let c = 0; c < this.cols; c++) tRowPtr[c + 1] += tRowPtr[c];
    const next = tRowPtr.slice(0, this.cols);
    const tColIdx = new Int32Array(nnz);
    const tValues = empty([nnz]);
    const out = tValues.data;
    for (let r = 0; r < this.rows; r++) {
      for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) {
        const q = next[colIdx[p]]++;
        tColIdx[q] = r;
        out[q] = values[p];
      }
    }
    return new SparseMatrix(this.cols, this.rows, allocInt32(tRowPtr), allocInt32(tColIdx), tValues);
  }

  /**
   * A matrix of the same shape with a new structure and values (e.g. after pruning or regrowth),
   * validated; values are copied from an array or adopted from a tensor as in `fromCSR`. The new
   * values take this matrix's `requiresGrad` and name. This matrix is unchanged.
   */
  withStructure(rowPtr: ArrayLike<number>, colIdx: ArrayLike<number>, values: ArrayLike<number> | Tensor): SparseMatrix {
    this.assertAlive();
    const next = SparseMatrix.fromCSR({ rows: this.rows, cols: this.cols, rowPtr, colIdx, values });
    next.values.requiresGrad = this.values.requiresGrad;
    next.values.name = this.values.name;
    return next;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees the structure arrays and the values. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsStructure) {
      collected.unregister(this);
      free(this.rowPtrBlock.ptr, this.rowPtrBlock.length * 4);
      free(this.colIdxBlock.ptr, this.colIdxBlock.length * 4);
    }
    this.values.dispose();
  }

  assertAlive(): void {
    if (this.disposed) throw new Error(`${this} was used after dispose()`);
  }

  toString(): string {
    return `${describeMatrix(this.rows, this.cols)} (nnz ${this.nnz}${this.values.name ? `, ${this.values.name}` : ""})`;
  }
}
