// NumPy/PyTorch broadcasting for binary ops: result shapes, the broadcast binary kernel call, and summing gradients back to an input's shape.
//
// Shapes are aligned at their last axis; each pair of sizes must match or one must be 1. Axes of
// the result are then merged into runs where each operand is either full or repeated, so that every
// case training meets ([3, 4] + [4], [3, 1] · [1, 4], [2, 3, 4] · [3, 1], tensor · scalar) becomes
// one call of the (d0, d1, d2) strided kernel with a contiguous or repeated innermost axis.
import { kernels } from "../../backend/kernels.js";
import type { BinaryOpCode } from "../../backend/reference/elementwise.js";
import { empty, formatShape, type Shape, shapeSize, type Tensor, viewAs } from "../../tensor/tensor.js";

/** The broadcast result shape of `a` and `b`; `op` names the caller in the error. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[k - (rank - a.length)] ?? 1;
    const db = b[k - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together: ` +
          `sizes ${da} and ${db} at axis ${k - rank} differ and neither is 1`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** `shape` with leading 1s up to `rank`. */
function padShape(shape: Shape, rank: number): number[] {
  return [...Array<number>(rank - shape.length).fill(1), ...shape];
}

interface MergedAxes {
  sizes: number[];
  /** Per operand and merged axis: element stride, 0 where the operand is repeated. */
  strides: number[][];
}

/** Merges the result's axes into runs over which every operand is either full or repeated. */
function mergeAxes(out: Shape, operands: Shape[]): MergedAxes {
  const padded = operands.map((s) => padShape(s, out.length));
  const sizes: number[] = [];
  const full: boolean[][] = [];
  out.forEach((size, k) => {
    if (size === 1) return;
    const pattern = padded.map((s) => s[k] === size);
    const last = full.at(-1);
    if (last !== undefined && last.every((f, i) => f === pattern[i])) sizes[sizes.length - 1] *= size;
    else {
      sizes.push(size);
      full.push(pattern);
    }
  });
  const strides = operands.map((_, i) => {
    const s = new Array<number>(sizes.length).fill(0);
    let stride = 1;
    for (let j = sizes.length - 1; j >= 0; j--) {
      if (full[j][i]) {
        s[j] = stride;
        stride *= sizes[j];
      }
    }
    return s;
  });
  return { sizes, strides };
}

/** out = a op b with broadcasting (no autograd). */
export function broadcastBinary(opName: string, op: BinaryOpCode, a: Tensor, b: Tensor): Tensor {
  const outShape = broadcastShapes(opName, a.shape, b.shape);
  const out = empty(outShape);
  if (out.size === 0) return out;
  const { sizes, strides } = mergeAxes(outShape, [a.shape, b.shape]);
  // The kernel takes three axes; pad in front, and loop in JS over any further leading axes.
  while (sizes.length < 3) {
    sizes.unshift(1);
    for (const s of strides) s.unshift(0);
  }
  const lead = sizes.length - 3;
  const [d0, d1, d2] = sizes.slice(lead);
  const [as, bs] = strides.map((s) => s.slice(lead));
  const blockSize = d0 * d1 * d2;
  const leadCount = shapeSize(sizes.slice(0, lead));
  for (let block = 0; block < leadCount; block++) {
    let aOffset = 0, bOffset = 0, rest = block;
    for (let j = lead - 1; j >= 0; j--) {
      const index = rest % sizes[j];
      rest = Math.floor(rest / sizes[j]);
      aOffset += index * strides[0][j];
      bOffset += index * strides[1][j];
    }
    kernels.binaryBroadcast(
      op, d0, d1, d2,
      a.ptr + 4 * aOffset, as[0], as[1], as[2],
      b.ptr + 4 * bOffset, bs[0], bs[1], bs[2],
      out.ptr + 4 * block * blockSize,
    );
  }
  return out;
}

/**
 * Sums `g` (a gradient of the broadcast result) over the axes along which an input of `shape` was
 * repeated, giving a tensor of that shape. Returns `g` itself when nothing was broadcast.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, k) => d === shape[k])) return g;
  const target = padShape(shape, g.shape.length);
  // Runs of kept and of summed axes, with size-1 axes of g dropped.
  const sizes: number[] = [];
  const summed: boolean[] = [];
  g.shape.forEach((size, k) => {
    if (size === 1) return;
    const isSummed = target[k] === 1;
    if (summed.at(-1) === isSummed) sizes[sizes.length - 1] *= size;
    else {
      sizes.push(size);
      summed.push(isSummed);
    }
  });
  let current = g;
  for (let j = sizes.length - 1; j >= 0; j--) {
    if (!summed[j]) continue;
    const outer = shapeSize(sizes.slice(0, j)), inner = shapeSize(sizes.slice(j + 1));
    const next = empty([outer * inner]);
    kernels.reduceSum(outer, sizes[j], inner, current.ptr, next.ptr);
    if (current !== g) current.dispose();
    current = next;
    sizes.splice(j, 1);
  }
  const result = viewAs(current, shape);
  if (current !== g) current.dispose();
  return result;
}
