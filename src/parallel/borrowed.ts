// Tensors and CSR matrices over heap memory owned by another thread: a worker's replica reads the main thread's weights in place.
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { Storage, Tensor, type Shape } from "../tensor/tensor.js";

/** Storage that is never freed here: the owner (the main thread) frees it. */
class BorrowedStorage extends Storage {
  override release(): void {
    this.refs--;
  }
}

/** A tensor of `shape` over the float32 elements at byte offset `ptr`, which this thread must never free. */
export function borrowTensor(ptr: number, shape: Shape): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(shape, new BorrowedStorage(ptr, size * 4));
}

/** Heap offsets and sizes of a CSR matrix (structure and values) owned by another thread. */
export interface CsrLocation {
  rows: number;
  cols: number;
  nnz: number;
  rowPtrPtr: number;
  colIdxPtr: number;
  valuesPtr: number;
}

/** A CSR matrix whose structure and values are borrowed from `location` (nothing copied, nothing freed). */
export function borrowMatrix(location: CsrLocation): SparseMatrix {
  const values = borrowTensor(location.valuesPtr, [location.nnz]);
  return SparseMatrix.borrow(location.rows, location.cols, location.rowPtrPtr, location.colIdxPtr, values);
}
