// Softmax and log-softmax along any axis with gradients (row kernels; other axes go through a transpose).
import { kernels } from "../../backend/kernels.js";
import { empty, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";
import { normalizeAxis } from "./shape.js";

type RowKernel = (rows: number, cols: number, x: number, out: number) => void;
type RowBackwardKernel = (rows: number, cols: number, y: number, dy: number, dx: number) => void;

/** (outer, len, inner) around the axis: the kernels work on rows of length len. */
function layout(x: Tensor, axis: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= x.shape[i];
  for (let i = axis + 1; i < x.rank; i++) inner *= x.shape[i];
  return [outer, x.shape[axis], inner];
}

/**
 * Applies a row kernel along `axis`. For the last axis the rows are contiguous; otherwise the
 * (outer, len, inner) tensor is transposed to (outer, inner, len), processed, and transposed back.
 */
function alongAxis(op: string, x: Tensor, axis: number, forward: RowKernel, backward: RowBackwardKernel): Tensor {
  const ax = normalizeAxis(op, axis, x.shape);
  const [outer, len, inner] = layout(x, ax);
  const rows = outer * inner;
  const out = empty(x.shape);
  if (inner === 1) {
    forward(rows, len, x.ptr, out.ptr);
  } else {
    const rowsIn = empty([outer, inner, len]), rowsOut = empty([outer, inner, len]);
    kernels.transpose2d(outer, len, inner, x.ptr, rowsIn.ptr);
    forward(rows, len, rowsIn.ptr, rowsOut.ptr);
    kernels.transpose2d(outer, inner, len, rowsOut.ptr, out.ptr);
    rowsIn.dispose();
    rowsOut.dispose();
  }
  return record(op, out, [x], (g) => {
    const gx = empty(x.shape);
    if (inner === 1) {
      backward(rows, len, out.ptr, g.ptr, gx.ptr);
      return [gx];
    }
    const y = empty([outer, inner, len]), dy = empty([outer, inner, len]), dx = empty([outer, inner, len]);
    kernels.transpose2d(outer, len, inner, out.ptr, y.ptr);
    kernels.transpose2d(outer, len, inner, g.ptr, dy.ptr);
    backward(rows, len, y.ptr, dy.ptr, dx.ptr);
    kernels.transpose2d(outer, inner, len, dx.ptr, gx.ptr);
    for (const t of [y, dy, dx]) t.dispose();
    return [gx];
  });
}

/** softmax(x)_j = exp(x_j − max x) / Σ_k exp(x_k − max x) along `axis` (default: the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis("softmax", x, axis, kernels.softmaxRows, kernels.softmaxRowsBackward);
}

/** log softmax(x)_j = (x_j − max x) − log Σ_k exp(x_k − max x) along `axis` (default: the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis("logSoftmax", x, axis, kernels.logSoftmaxRows, kernels.logSoftmaxRowsBackward);
}
