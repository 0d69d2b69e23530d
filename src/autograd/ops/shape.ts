// Shape ops with gradients: reshape and flatten (views), transpose and permute (copies through the
// blocked transpose kernel), concat and slice (strided block copies).
import { kernels } from "../../backend/kernels.js";
import { heapF32 } from "../../backend/heap.js";
import { empty, formatShape, shapeSize, type Shape, type Tensor, viewAs } from "../../tensor/tensor.js";
import { record } from "../engine.js";

/** `axis` in [-rank, rank) as an index in [0, rank); a clear error naming the op otherwise. */
export function normalizeAxis(op: string, axis: number, shape: Shape, name = "axis"): number {
  const rank = shape.length;
  if (rank === 0) throw new RangeError(`${op}: a tensor of shape [] has no axes (${name} ${axis} given)`);
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(
      `${op}: ${name} ${axis} is out of range for shape ${formatShape(shape)} (allowed: ${-rank} to ${rank - 1})`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** Product of shape[start..end). */
function product(shape: Shape, start: number, end: number): number {
  let n = 1;
  for (let i = start; i < end; i++) n *= shape[i];
  return n;
}

function resolveShape(op: string, from: Shape, to: Shape): number[] {
  const free = to.filter((d) => d === -1).length;
  if (free > 1) throw new RangeError(`${op}: shape ${formatShape(to)} may contain -1 only once`);
  for (const d of to) {
    if (d !== -1 && !(Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`${op}: invalid shape ${formatShape(to)} (dimensions must be integers >= 0, or one -1)`);
    }
  }
  const size = shapeSize(from);
  if (free === 0) {
    if (shapeSize(to) !== size) {
      throw new RangeError(`${op}: cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(to)} (${shapeSize(to)} elements)`);
    }
    return [...to];
  }
  const known = to.reduce((a, d) => (d === -1 ? a : a * d), 1);
  if (known === 0 || size % known !== 0) {
    throw new RangeError(`${op}: cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(to)}: -1 cannot be inferred`);
  }
  return to.map((d) => (d === -1 ? size / known : d));
}

/** The same elements with another shape (a view: no copy). One dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const resolved = resolveShape("reshape", x.shape, shape);
  return record("reshape", viewAs(x, resolved), [x], (g) => [viewAs(g, x.shape)]);
}

/** Merges axes startDim..endDim (inclusive) into one, as torch.flatten (a view). */
export function flatten(x: Tensor, startDim = 1, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const start = normalizeAxis("flatten", startDim, x.shape, "startDim");
  const end = normalizeAxis("flatten", endDim, x.shape, "endDim");
  if (start > end) {
    throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${formatShape(x.shape)}`);
  }
  return reshape(x, [...x.shape.slice(0, start), product(x.shape, start, end + 1), ...x.shape.slice(end + 1)]);
}

/**
 * Writes x (shape `shape`) permuted by `dims` to `out`: out axis k is input axis dims[k].
 * Axes of size 1 are dropped and axes that stay adjacent are merged, so that common layouts
 * ((B, M, N) → (B, N, M), NCHW → NHWC) become one call of the blocked transpose kernel.
 */
function permuteInto(x: number, shape: Shape, dims: readonly number[], out: number): void {
  const size = shapeSize(shape);
  if (size === 0) return;
  // Keep axes longer than 1, renumbered in input order.
  const kept = dims.filter((d) => shape[d] !== 1);
  const renumber = new Map([...kept].sort((a, b) => a - b).map((d, i) => [d, i]));
  const order = kept.map((d) => renumber.get(d)!);
  const lengths = [...kept].sort((a, b) => a - b).map((d) => shape[d]);
  // Merge runs that are consecutive in both the input and the output order.
  const groups: number[][] = [];
  for (const axis of order) {
    const last = groups.at(-1);
    if (last !== undefined && last.at(-1)! + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const byInputOrder = [...groups].sort((a, b) => a[0] - b[0]);
  const merged = byInputOrder.map((g) => g.reduce((n, axis) => n * lengths[axis], 1)); // input shape after merging
  const perm = groups.map((g) => byInputOrder.indexOf(g)); // output axis k = merged input axis perm[k]
  const key = perm.join(",");
  if (perm.length <= 1) {
    kernels.copy(size, x, out);
  } else if (key === "1,0" || key === "0,2,1") {
    const [batch, rows, cols] = key === "1,0" ? [1, merged[0], merged[1]] : merged;
    kernels.transpose2d(batch, rows, cols, x, out);
  } else if (key === "1,0,2" || key === "0,2,1,3") {
    const [a, b, c, d] = key === "1,0,2" ? [1, ...merged] : merged;
    swapMiddleAxes(a, b, c, d, x, out);
  } else {
    gatherPermuted(merged, perm, x, out);
  }
}

/** (A, B, C, D) → (A, C, B, D) as strided copies of D-element runs, looping over the shorter of B, C. */
function swapMiddleAxes(a: number, b: number, c: number, d: number, x: number, out: number): void {
  for (let i = 0; i < a; i++) {
    const src = x + i * b * c * d * 4, dst = out + i * b * c * d * 4;
    if (b <= c) {
      // x[i][j] is a (C, D) block; it becomes rows out[i][:, j] of stride B·D.
      for (let j = 0; j < b; j++) kernels.copyStrided2d(c, d, src + j * c * d * 4, d, dst + j * d * 4, b * d);
    } else {
      for (let k = 0; k < c; k++) kernels.copyStrided2d(b, d, src + k * d * 4, c * d, dst + k * b * d * 4, d);
    }
  }
}

/** General permutation: an element-by-element gather (rare layouts only). */
function gatherPermuted(shape: readonly number[], perm: readonly number[], x: number, out: number): void {
  const h = heapF32();
  const rank = shape.length;
  const inputStrides = shape.map((_, i) => product(shape, i + 1, rank));
  const strides = perm.map((axis) => inputStrides[axis]); // input stride of each output axis
  const lengths = perm.map((axis) => shape[axis]);
  const index = new Array<number>(rank).fill(0);
  const total = shapeSize(shape);
  let source = x >>> 2;
  for (let o = 0; o < total; o++) {
    h[(out >>> 2) + o] = h[source];
    for (let k = rank - 1; k >= 0; k--) {
      source += strides[k];
      if (++index[k] < lengths[k]) break;
      source -= strides[k] * lengths[k];
      index[k] = 0;
    }
  }
}

/** Reorders the axes: output axis k is input axis dims[k] (a copy). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const rank = x.rank;
  const normalized = dims.map((d) => normalizeAxis("permute", d, x.shape, "dim"));
  if (normalized.length !== rank || new Set(normalized).size !== rank) {
    throw new RangeError(`permute: [${dims.join(", ")}] is not a permutation of the ${rank} axes of shape ${formatShape(x.shape)}`);
  }
  const out = empty(normalized.map((d) => x.shape[d]));
  permuteInto(x.ptr, x.shape, normalized, out.ptr);
  const inverse = new Array<number>(rank);
  normalized.forEach((d, k) => (inverse[d] = k));
  return record("permute", out, [x], (g) => {
    const gx = empty(x.shape);
    permuteInto(g.ptr, g.shape, inverse, gx.ptr);
    return [gx];
  });
}

/** Swaps two axes (by default the last two, i.e. the matrix transpose of a 2-D tensor); a copy. */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  if (x.rank < 2 && dim0 === -2 && dim1 === -1) {
    throw new RangeError(`transpose: shape ${formatShape(x.shape)} has fewer than 2 axes; pass the two axes to swap`);
  }
  const a = normalizeAxis("transpose", dim0, x.shape, "dim0");
  const b = normalizeAxis("transpose", dim1, x.shape, "dim1");
  const dims = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, dims);
}

/** Joins tensors along `axis`; every other axis must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError("concat: needs at least one tensor");
  const first = xs[0];
  const ax = normalizeAxis("concat", axis, first.shape);
  for (const [k, t] of xs.entries()) {
    const compatible = t.rank === first.rank && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!compatible) {
      throw new RangeError(
        `concat: tensor ${k} has shape ${formatShape(t.shape)}, expected [${first.shape.map((d, i) => (i === ax ? "*" : d)).join(", ")}] (only axis ${axis} may differ)`,
      );
    }
  }
  const outer = product(first.shape, 0, ax);
  const inner = product(first.shape, ax + 1, first.rank);
  const total = xs.reduce((n, t) => n + t.shape[ax], 0);
  const rowLength = total * inner;
  const offsets: number[] = [];
  let offset = 0;
  for (const t of xs) {
    offsets.push(offset);
    offset += t.shape[ax] * inner;
  }
  const out = empty(first.shape.map((d, i) => (i === ax ? total : d)));
  xs.forEach((t, k) => {
    const chunk = t.shape[ax] * inner;
    kernels.copyStrided2d(outer, chunk, t.ptr, chunk, out.ptr + offsets[k] * 4, rowLength);
  });
  return record("concat", out, xs, (g) =>
    xs.map((t, k) => {
      if (!t.requiresGrad) return null;
      const chunk = t.shape[ax] * inner;
      const gt = empty(t.shape);
      kernels.copyStrided2d(outer, chunk, g.ptr + offsets[k] * 4, rowLength, gt.ptr, chunk);
      return gt;
    }),
  );
}

/** Elements start..end (exclusive) along `axis`; negative positions count from the end. A copy. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const ax = normalizeAxis("slice", axis, x.shape);
  const len = x.shape[ax];
  const from = start < 0 ? start + len : start;
  const to = end === undefined ? len : end < 0 ? end + len : end;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > len) {
    throw new RangeError(
      `slice: [${start}, ${end ?? len}) is not a valid range of axis ${axis} (length ${len}) of shape ${formatShape(x.shape)}`,
    );
  }
  const outer = product(x.shape, 0, ax);
  const inner = product(x.shape, ax + 1, x.rank);
  const width = (to - from) * inner;
  const out = empty(x.shape.map((d, i) => (i === ax ? to - from : d)));
  kernels.copyStrided2d(outer, width, x.ptr + from * inner * 4, len * inner, out.ptr, width);
  return record("slice", out, [x], (g) => {
    // The gradient is g placed back into a zero tensor of the input's shape.
    const gx = empty(x.shape);
    kernels.fill(gx.size, 0, gx.ptr);
    kernels.copyStrided2d(outer, width, g.ptr, width, gx.ptr + from * inner * 4, len * inner);
    return [gx];
  });
}
