// Reference elementwise kernels: the specification of the WebAssembly versions in assembly/elementwise.ts.
// Pointers are byte offsets into the shared heap; `n` counts float32 elements. Results are rounded
// to float32 once per operation, as the WebAssembly versions do.
import { heapF32 } from "../heap.js";

/** Codes of the binary ops of `binaryBroadcast` (same numbering in assembly/elementwise.ts). */
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3 } as const;
export type BinaryOpCode = (typeof BinaryOp)[keyof typeof BinaryOp];

/** out[i] = value */
export function fill(n: number, value: number, out: number): void {
  heapF32().fill(value, out >>> 2, (out >>> 2) + n);
}

/** dst[i] = src[i] (regions may not overlap) */
export function copy(n: number, src: number, dst: number): void {
  const h = heapF32();
  h.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + n);
}

/** out[i] = a[i] + b[i] (out may alias a or b, here and in sub, mul, div) */
export function add(n: number, a: number, b: number, out: number): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, io = out >>> 2;
  for (let i = 0; i < n; i++) h[io + i] = h[ia + i] + h[ib + i];
}

/** out[i] = a[i] − b[i] */
export function sub(n: number, a: number, b: number, out: number): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, io = out >>> 2;
  for (let i = 0; i < n; i++) h[io + i] = h[ia + i] - h[ib + i];
}

/** out[i] = a[i] · b[i] */
export function mul(n: number, a: number, b: number, out: number): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, io = out >>> 2;
  for (let i = 0; i < n; i++) h[io + i] = h[ia + i] * h[ib + i];
}

/** out[i] = a[i] / b[i] */
export function div(n: number, a: number, b: number, out: number): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2, io = out >>> 2;
  for (let i = 0; i < n; i++) h[io + i] = h[ia + i] / h[ib + i];
}

/** y[i] += alpha * x[i] */
export function axpy(n: number, alpha: number, x: number, y: number): void {
  const h = heapF32();
  const ix = x >>> 2, iy = y >>> 2;
  for (let i = 0; i < n; i++) h[iy + i] = Math.fround(h[iy + i] + Math.fround(alpha * h[ix + i]));
}

/** x[i] *= alpha */
export function scale(n: number, alpha: number, x: number): void {
  const h = heapF32();
  const ix = x >>> 2;
  for (let i = 0; i < n; i++) h[ix + i] *= alpha;
}

/** out[i] = alpha · x[i] + beta (scalar add, multiply, negate, "scalar minus tensor"; out may alias x) */
export function affine(n: number, alpha: number, beta: number, x: number, out: number): void {
  const h = heapF32();
  const ix = x >>> 2, io = out >>> 2;
  const a = Math.fround(alpha), b = Math.fround(beta);
  for (let i = 0; i < n; i++) h[io + i] = Math.fround(Math.fround(a * h[ix + i]) + b);
}

function applyBinary(op: number, x: number, y: number): number {
  switch (op) {
    case BinaryOp.add: return x + y;
    case BinaryOp.sub: return x - y;
    case BinaryOp.mul: return x * y;
    default: return x / y;
  }
}

/**
 * Binary op over broadcast operands: out[i][j][k] = a[i·as0 + j·as1 + k·as2] op b[i·bs0 + j·bs1 + k·bs2]
 * for out of shape (d0, d1, d2), contiguous. Strides count elements; a stride of 0 repeats the
 * operand along that axis (NumPy broadcasting after merging axes, see src/autograd/ops/broadcast.ts).
 * The WebAssembly version vectorizes the innermost axis when as2 and bs2 are each 0 or 1.
 * `op` is a `BinaryOp` code. out must not overlap a or b unless it equals a full-size operand.
 */
export function binaryBroadcast(
  op: number, d0: number, d1: number, d2: number,
  a: number, as0: number, as1: number, as2: number,
  b: number, bs0: number, bs1: number, bs2: number,
  out: number,
): void {
  const h = heapF32();
  const ia = a >>> 2, ib = b >>> 2;
  let io = out >>> 2;
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      const rowA = ia + i * as0 + j * as1, rowB = ib + i * bs0 + j * bs1;
      for (let k = 0; k < d2; k++) h[io++] = applyBinary(op, h[rowA + k * as2], h[rowB + k * bs2]);
    }
  }
}

export const elementwiseKernels = { fill, copy, add, sub, mul, div, axpy, scale, affine, binaryBroadcast };
