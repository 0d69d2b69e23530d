// Sparse × dense matrix product Y = W·X for a CSR weight and feature-major activations, with its backward.
//
// Forward is SpMM; backward gives dX = Wᵀ·dY (transposed SpMM) and dW only at the stored
// positions, dvalues[p] = dY[i]·X[colIdx[p]] (SDDMM), so no dense weight gradient ever exists.
import { kernels } from "../../backend/kernels.js";
import type { SparseMatrix } from "../../tensor/sparse-matrix.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";

/** Sees the input x (K, B) and the output gradient dY (M, B) during backward; RigL reads |dY·Xᵀ| from them. */
export type GradientProbe = (x: Tensor, dy: Tensor) => void;

/**
 * Y = W·X: W is M×K sparse, x is (K, B) feature-major; returns (M, B). Gradients flow to `w.values`
 * and `x`. An optional `probe` is called in backward with x and dY (off by default: no cost).
 */
export function sparseMatmul(w: SparseMatrix, x: Tensor, probe: GradientProbe | null = null): Tensor {
  w.assertAlive();
  x.assertAlive();
  if (x.rank !== 2 || x.shape[0] !== w.cols) {
    throw new RangeError(
      `sparseMatmul: input ${formatShape(x.shape)} must be [${w.cols}, batch] (feature-major) to multiply the ${w.rows}×${w.cols} sparse weight`,
    );
  }
  if (w.values.size !== w.nnz) {
    throw new RangeError(`sparseMatmul: ${w} has ${w.values.size} values for ${w.nnz} stored positions`);
  }
  const [m, k, b] = [w.rows, w.cols, x.shape[1]];
  const values = w.values;
  const y = empty([m, b]);
  kernels.spmm(m, k, b, w.rowPtrPtr, w.colIdxPtr, values.ptr, x.ptr, y.ptr);
  return record("sparseMatmul", y, [values, x], (dy) => {
    // The structure may not change between forward and backward: the kernels read it again here.
    w.assertAlive();
    probe?.(x, dy);
    let dvalues: Tensor | null = null;
    if (values.requiresGrad) {
      dvalues = empty([w.nnz]);
      kernels.sddmm(m, k, b, w.rowPtrPtr, w.colIdxPtr, dy.ptr, x.ptr, dvalues.ptr);
    }
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty([k, b]);
      kernels.spmmTransposed(m, k, b, w.rowPtrPtr, w.colIdxPtr, values.ptr, dy.ptr, dx.ptr);
    }
    return [dvalues, dx];
  });
}
