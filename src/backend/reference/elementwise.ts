// Reference elementwise kernels: the specification of the WebAssembly versions in assembly/elementwise.ts.
// Pointers are byte offsets into the shared heap; `n` counts float32 elements.
import { heapF32 } from "../heap.js";

/** out[i] = value */
export function fill(n: number, value: number, out: number): void {
  heapF32().fill(value, out >> 2, (out >> 2) + n);
}

/** dst[i] = src[i] (regions may not overlap) */
export function copy(n: number, src: number, dst: number): void {
  const h = heapF32();
  h.copyWithin(dst >> 2, src >> 2, (src >> 2) + n);
}

/** out[i] = a[i] + b[i] */
export function add(n: number, a: number, b: number, out: number): void {
  const h = heapF32();
  const ia = a >> 2, ib = b >> 2, io = out >> 2;
  for (let i = 0; i < n; i++) h[io + i] = h[ia + i] + h[ib + i];
}

/** y[i] += alpha * x[i] */
export function axpy(n: number, alpha: number, x: number, y: number): void {
  const h = heapF32();
  const ix = x >> 2, iy = y >> 2;
  for (let i = 0; i < n; i++) h[iy + i] = Math.fround(h[iy + i] + Math.fround(alpha * h[ix + i]));
}

/** x[i] *= alpha */
export function scale(n: number, alpha: number, x: number): void {
  const h = heapF32();
  const ix = x >> 2;
  for (let i = 0; i < n; i++) h[ix + i] *= alpha;
}

export const elementwiseKernels = { fill, copy, add, axpy, scale };
