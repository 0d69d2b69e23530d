// Reductions with gradients: sum and mean over any set of axes, max (and argmax) along one axis.
import { heapI32 } from "../../backend/heap.js";
import { kernels } from "../../backend/kernels.js";
import { empty, formatShape, shapeSize, type Shape, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";
import { normalizeAxis } from "./shape.js";

/** Sorted, validated axes; `undefined` means every axis. */
function normalizeAxes(op: string, axes: number | readonly number[] | undefined, shape: Shape): number[] {
  if (axes === undefined) return shape.map((_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  const normalized = list.map((a) => normalizeAxis(op, a, shape));
  if (new Set(normalized).size !== normalized.length) {
    throw new RangeError(`${op}: axes [${list.join(", ")}] name an axis twice for shape ${formatShape(shape)}`);
  }
  return normalized.sort((a, b) => a - b);
}

/** Maximal runs [start, end) of consecutive axes: each run is one (outer, len, inner) kernel call. */
function axisRuns(axes: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs.at(-1);
    if (last !== undefined && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  return runs;
}

function product(shape: Shape, start: number, end: number): number {
  let n = 1;
  for (let i = start; i < end; i++) n *= shape[i];
  return n;
}

function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** scale · Σ over `axes`, one reduceSum per run of adjacent axes; the gradient broadcasts back. */
function scaledSum(op: string, x: Tensor, axes: readonly number[], keepDims: boolean, scale: number): Tensor {
  const runs = axisRuns(axes);
  // `current` keeps the input's rank with reduced axes set to 1, so that run positions stay valid.
  const current = [...x.shape];
  let source = x;
  const out = empty(reducedShape(x.shape, axes, keepDims));
  if (runs.length === 0) kernels.copy(x.size, x.ptr, out.ptr);
  for (let r = runs.length - 1; r >= 0; r--) {
    const [start, end] = runs[r];
    const outer = product(current, 0, start), len = product(current, start, end), inner = product(current, end, current.length);
    for (let i = start; i < end; i++) current[i] = 1;
    const target = r === 0 ? out : empty(current);
    kernels.reduceSum(outer, len, inner, source.ptr, target.ptr);
    if (source !== x) source.dispose();
    source = target;
  }
  if (scale !== 1) kernels.scale(out.size, scale, out.ptr);
  return record(op, out, [x], (g) => {
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    let grad = g;
    for (const [start, end] of runs) {
      const outer = product(expanded, 0, start), inner = product(expanded, end, expanded.length);
      for (let i = start; i < end; i++) expanded[i] = x.shape[i];
      const next = empty(expanded);
      kernels.broadcastAlong(outer, product(x.shape, start, end), inner, grad.ptr, next.ptr);
      if (grad !== g) grad.dispose();
      grad = next;
    }
    if (grad === g) {
      grad = empty(x.shape);
      kernels.copy(g.size, g.ptr, grad.ptr);
    }
    if (scale !== 1) kernels.scale(grad.size, scale, grad.ptr);
    return [grad];
  });
}

/** Σ over `axes` (every axis by default; `[]` reduces none). keepDims leaves reduced axes as 1. */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return scaledSum("sum", x, normalizeAxes("sum", axes, x.shape), keepDims, 1);
}

/** Mean over `axes` (every axis by default). The mean over zero elements is NaN, as in PyTorch. */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const normalized = normalizeAxes("mean", axes, x.shape);
  const count = normalized.reduce((n, a) => n * x.shape[a], 1);
  return scaledSum("mean", x, normalized, keepDims, 1 / count);
}

/** Views a tensor as (outer, len, inner) around `axis`. */
function aroundAxis(shape: Shape, axis: number): [number, number, number] {
  return [product(shape, 0, axis), shape[axis], product(shape, axis + 1, shape.length)];
}

/** Runs reduceMax; returns the maxima and an int32 argmax held in a float32-sized tensor. */
function maxAlong(op: string, x: Tensor, axis: number, keepDims: boolean): { values: Tensor; indices: Tensor; ax: number } {
  const ax = normalizeAxis(op, axis, x.shape);
  if (x.shape[ax] === 0) {
    throw new RangeError(`${op}: axis ${axis} of shape ${formatShape(x.shape)} is empty; the maximum of nothing is undefined`);
  }
  const [outer, len, inner] = aroundAxis(x.shape, ax);
  const outShape = reducedShape(x.shape, [ax], keepDims);
  const values = empty(outShape);
  // NOTE: tensors are float32; the argmax indices are int32 bits in a tensor of the same size.
  const indices = empty(outShape);
  kernels.reduceMax(outer, len, inner, x.ptr, values.ptr, indices.ptr);
  return { values, indices, ax };
}

/** Maximum along `axis`; the gradient flows to the first maximal element. NaN propagates. */
export function max(x: Tensor, axis: number, keepDims = false): Tensor {
  const { values, indices, ax } = maxAlong("max", x, axis, keepDims);
  const [outer, len, inner] = aroundAxis(x.shape, ax);
  const out = record("max", values, [x], (g) => {
    const gx = empty(x.shape);
    kernels.reduceMaxBackward(outer, len, inner, g.ptr, indices.ptr, gx.ptr);
    return [gx];
  });
  if (out.node === null) indices.dispose();
  return out;
}

/** Index of the first maximum along `axis` (no gradient), e.g. predicted classes of logits (N, C). */
export function argmax(x: Tensor, axis = -1): Int32Array {
  const { values, indices } = maxAlong("argmax", x, axis, false);
  const result = heapI32().slice(indices.ptr >>> 2, (indices.ptr >>> 2) + shapeSize(indices.shape));
  values.dispose();
  indices.dispose();
  return result;
}
