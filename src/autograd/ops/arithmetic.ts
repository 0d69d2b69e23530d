// Differentiable add, sub, mul, div with NumPy/PyTorch broadcasting (tensors or numbers), and neg.
//
// Each input's gradient is the broadcast-shaped gradient summed back to the input's shape
// (sumToShape). Numbers act as constant 0-d tensors: add(x, 1), mul(2, x), div(1, x).
import { kernels } from "../../backend/kernels.js";
import { BinaryOp } from "../../backend/reference/elementwise.js";
import { empty, full, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";
import { broadcastBinary, sumToShape } from "./broadcast.js";

export type Operand = Tensor | number;

function asTensor(x: Operand): Tensor {
  return typeof x === "number" ? full([], x) : x;
}

/** out = alpha·x + beta elementwise (no autograd). */
function affine(x: Tensor, alpha: number, beta: number): Tensor {
  const out = empty(x.shape);
  kernels.affine(x.size, alpha, beta, x.ptr, out.ptr);
  return out;
}

/** a + b (broadcasting). */
export function add(a: Operand, b: Operand): Tensor {
  const ta = asTensor(a), tb = asTensor(b);
  const out = broadcastBinary("add", BinaryOp.add, ta, tb);
  return record("add", out, [ta, tb], (g) => [
    ta.requiresGrad ? sumToShape(g, ta.shape) : null,
    tb.requiresGrad ? sumToShape(g, tb.shape) : null,
  ]);
}

/** a − b (broadcasting). */
export function sub(a: Operand, b: Operand): Tensor {
  const ta = asTensor(a), tb = asTensor(b);
  const out = broadcastBinary("sub", BinaryOp.sub, ta, tb);
  return record("sub", out, [ta, tb], (g) => [
    ta.requiresGrad ? sumToShape(g, ta.shape) : null,
    tb.requiresGrad ? negated(sumToShape(g, tb.shape)) : null,
  ]);
}

/** a · b elementwise (broadcasting): da = g·b, db = g·a, each summed to its input's shape. */
export function mul(a: Operand, b: Operand): Tensor {
  const ta = asTensor(a), tb = asTensor(b);
  const out = broadcastBinary("mul", BinaryOp.mul, ta, tb);
  return record("mul", out, [ta, tb], (g) => [
    ta.requiresGrad ? reduced(broadcastBinary("mul", BinaryOp.mul, g, tb), ta.shape) : null,
    tb.requiresGrad ? reduced(broadcastBinary("mul", BinaryOp.mul, g, ta), tb.shape) : null,
  ]);
}

/** a / b elementwise (broadcasting): da = g / b, db = −g·a / b². */
export function div(a: Operand, b: Operand): Tensor {
  const ta = asTensor(a), tb = asTensor(b);
  const out = broadcastBinary("div", BinaryOp.div, ta, tb);
  return record("div", out, [ta, tb], (g) => [
    ta.requiresGrad ? reduced(broadcastBinary("div", BinaryOp.div, g, tb), ta.shape) : null,
    tb.requiresGrad ? negated(reduced(divideTwice(broadcastBinary("div", BinaryOp.mul, g, ta), tb), tb.shape)) : null,
  ]);
}

/** −x */
export function neg(x: Tensor): Tensor {
  const out = affine(x, -1, 0);
  return record("neg", out, [x], (g) => [affine(g, -1, 0)]);
}

/** x + value (a number). */
export function addScalar(x: Tensor, value: number): Tensor {
  const out = affine(x, 1, value);
  return record("addScalar", out, [x], (g) => [g]);
}

/** x · value (a number). */
export function mulScalar(x: Tensor, value: number): Tensor {
  const out = affine(x, value, 0);
  return record("mulScalar", out, [x], (g) => [affine(g, value, 0)]);
}

/** sumToShape, disposing the full-size temporary when a reduction made a new tensor. */
function reduced(t: Tensor, shape: readonly number[]): Tensor {
  const r = sumToShape(t, shape);
  if (r !== t) t.dispose();
  return r;
}

/** −t as a new tensor: t may be the incoming gradient, which backward must not modify. */
function negated(t: Tensor): Tensor {
  return affine(t, -1, 0);
}

/** (t / b) / b, disposing the intermediates; dividing twice avoids overflow of b² for large |b|. */
function divideTwice(t: Tensor, b: Tensor): Tensor {
  const once = broadcastBinary("div", BinaryOp.div, t, b);
  t.dispose();
  const twice = broadcastBinary("div", BinaryOp.div, once, b);
  once.dispose();
  return twice;
}
