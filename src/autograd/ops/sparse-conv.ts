// 2-D convolution with CSR filters: the sparse filter matrix (Cout × Cin·kh·kw) times the im2col patches, cost ∝ non-zeros.
import { kernels } from "../../backend/kernels.js";
import type { SparseMatrix } from "../../tensor/sparse-matrix.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";
import { batchToChannels, channelsToBatch, col2imOf, convGeometry, im2colOf, rowSums, type ConvOptions } from "./conv.js";

/**
 * sparseConv2d(x (N, Cin, H, W), weight CSR (Cout × Cin·k·k), k) → (N, Cout, Ho, Wo); gradients reach
 * weight.values (SDDMM, only at stored positions), x (transposed SpMM, col2im) and the bias.
 */
export function sparseConv2d(x: Tensor, weight: SparseMatrix, kernel: number, bias?: Tensor, options: ConvOptions = {}): Tensor {
  const g = convGeometry("sparseConv2d", x, kernel, kernel, options);
  const patch = g.c * kernel * kernel;
  if (weight.cols !== patch) {
    throw new RangeError(`sparseConv2d: input ${formatShape(x.shape)} with a ${kernel}×${kernel} kernel needs a filter matrix with ${patch} columns, got ${weight.rows}×${weight.cols}`);
  }
  const cout = weight.rows, cols = g.n * g.ho * g.wo;
  if (bias && bias.size !== cout) throw new RangeError(`sparseConv2d: bias shape ${formatShape(bias.shape)} must be [${cout}]`);
  const col = im2colOf(x, g);
  const out2 = empty([cout, cols]);
  kernels.spmm(cout, patch, cols, weight.rowPtrPtr, weight.colIdxPtr, weight.values.ptr, col.ptr, out2.ptr);
  const out = channelsToBatch(out2, g, cout, bias);
  out2.dispose();
  const values = weight.values;
  const inputs = bias ? [x, values, bias] : [x, values];
  return record("sparseConv2d", out, inputs, (dout) => {
    const d2 = batchToChannels(dout, g, cout);
    let dx: Tensor | null = null, dvalues: Tensor | null = null;
    if (x.requiresGrad) {
      // dcol = Wᵀ·d2 as a plain SpMM over the transposed filters: spmmTransposed scatters every
      // non-zero into a whole patch row (measured 4.5× slower than spmm on LeNet-5's second
      // convolution, 50×500 at 10% over 8192 positions), while transposing the CSR costs O(nnz).
      const transposed = weight.transposed();
      const dcol = empty([patch, cols]);
      kernels.spmm(patch, cout, cols, transposed.rowPtrPtr, transposed.colIdxPtr, transposed.values.ptr, d2.ptr, dcol.ptr);
      transposed.dispose();
      dx = col2imOf(dcol, g);
      dcol.dispose();
    }
    if (values.requiresGrad) {
      dvalues = empty([weight.nnz]);
      kernels.sddmm(cout, patch, cols, weight.rowPtrPtr, weight.colIdxPtr, d2.ptr, col.ptr, dvalues.ptr);
    }
    const grads = [dx, dvalues];
    if (bias) grads.push(bias.requiresGrad ? rowSums(d2) : null);
    d2.dispose();
    return grads;
  });
}
