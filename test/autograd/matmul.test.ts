import assert from "node:assert/strict";
import { test } from "node:test";
import { linearOp, matmul } from "../../src/autograd/ops/matmul.js";
import { backward } from "../../src/autograd/engine.js";
import { kernelBackend, setKernelBackend, type KernelBackend } from "../../src/backend/kernels.js";
import { ones, tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS: KernelBackend[] = ["reference", "wasm"];

/** Runs `fn` once per kernel backend, restoring the active one afterwards. */
function onEachBackend(fn: (backend: KernelBackend) => void): void {
  const previous = kernelBackend();
  try {
    for (const backend of BACKENDS) {
      setKernelBackend(backend);
      fn(backend);
    }
  } finally {
    setKernelBackend(previous);
  }
}

/** (m, k)·(k, n) in float64, row-major. */
function matmulReference(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** x (batch, in) · W (out, in)ᵀ + bias, in float64. */
function linearReference(x: Float64Array, w: Float64Array, bias: Float64Array | undefined, batch: number, inF: number, outF: number): Float64Array {
  const out = new Float64Array(batch * outF);
  for (let r = 0; r < batch; r++) {
    for (let o = 0; o < outF; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      out[r * outF + o] = s;
    }
  }
  return out;
}

const MATMUL_SHAPES: [number, number, number][] = [[1, 1, 1], [1, 5, 1], [3, 1, 4], [2, 3, 4], [5, 7, 3], [9, 17, 13], [1, 33, 6], [6, 4, 33]];
const LINEAR_SHAPES: [number, number, number][] = [[1, 1, 1], [1, 3, 2], [4, 5, 3], [7, 9, 1], [3, 1, 6], [5, 17, 11], [2, 33, 9]];

test("matmul: values and gradients match float64 and finite differences (both backends)", () => {
  onEachBackend((backend) => {
    for (const [m, k, n] of MATMUL_SHAPES) {
      try {
        gradcheck({
          shapes: [[m, k], [k, n]],
          op: ([a, b]) => matmul(a, b),
          reference: ([a, b]) => matmulReference(a, b, m, k, n),
        });
      } catch (error) {
        throw new Error(`matmul ${backend} [${m}, ${k}]·[${k}, ${n}]: ${(error as Error).message}`);
      }
    }
  });
});

test("matmul: a gradient only for the operand that requires one", () => {
  gradcheck({
    shapes: [[4, 3], [3, 5]],
    noGrad: [0],
    op: ([a, b]) => matmul(a, b),
    reference: ([a, b]) => matmulReference(a, b, 4, 3, 5),
  });
  gradcheck({
    shapes: [[4, 3], [3, 5]],
    noGrad: [1],
    op: ([a, b]) => matmul(a, b),
    reference: ([a, b]) => matmulReference(a, b, 4, 3, 5),
  });
});

test("linearOp: values and gradients with and without bias (both backends)", () => {
  onEachBackend((backend) => {
    for (const [batch, inF, outF] of LINEAR_SHAPES) {
      try {
        gradcheck({
          shapes: [[batch, inF], [outF, inF], [outF]],
          op: ([x, w, b]) => linearOp(x, w, b),
          reference: ([x, w, b]) => linearReference(x, w, b, batch, inF, outF),
        });
        gradcheck({
          shapes: [[batch, inF], [outF, inF]],
          op: ([x, w]) => linearOp(x, w),
          reference: ([x, w]) => linearReference(x, w, undefined, batch, inF, outF),
        });
      } catch (error) {
        throw new Error(`linearOp ${backend} x [${batch}, ${inF}], W [${outF}, ${inF}]: ${(error as Error).message}`);
      }
    }
  });
});

test("linearOp: the input may take no gradient (first layer)", () => {
  gradcheck({
    shapes: [[3, 4], [2, 4], [2]],
    noGrad: [0],
    op: ([x, w, b]) => linearOp(x, w, b),
    reference: ([x, w, b]) => linearReference(x, w, b, 3, 4, 2),
  });
});

test("matmul and linearOp: a zero inner dimension gives zeros (and a bias only)", () => {
  assert.deepEqual(Array.from(matmul(zeros([2, 0]), zeros([0, 3])).data), [0, 0, 0, 0, 0, 0]);
  const y = linearOp(zeros([2, 0]), zeros([3, 0]), tensor([1, 2, 3]));
  assert.deepEqual(Array.from(y.data), [1, 2, 3, 1, 2, 3]);
});

test("matmul: the backward of a chain of products reaches every leaf", () => {
  const a = tensor([1, 2, 3, 4], [2, 2]);
  const b = tensor([0, 1, 1, 0], [2, 2]);
  a.requiresGrad = true;
  b.requiresGrad = true;
  const c = matmul(matmul(a, b), b); // a·b·b = a (b is a permutation)
  assert.deepEqual(Array.from(c.data), [1, 2, 3, 4]);
  backward(c, ones([2, 2]));
  assert.deepEqual(Array.from(a.grad!.data), [1, 1, 1, 1]);
  assert.ok(b.grad !== null && b.grad.size === 4);
});

test("matmul: shape errors name the op and both shapes", () => {
  assert.throws(() => matmul(zeros([2, 3]), zeros([4, 5])), /matmul: shapes \[2, 3\] and \[4, 5\] do not chain \(the first operand's 3 columns must equal the second operand's 4 rows\)/);
  assert.throws(() => matmul(zeros([2, 3, 5]), zeros([5, 2])), /matmul: first operand shape \[2, 3, 5\] must be 2-D \[m, k\]/);
  assert.throws(() => matmul(zeros([2, 3]), zeros([3])), /matmul: second operand shape \[3\] must be 2-D \[k, n\]/);
});

test("linearOp: shape errors name the op, the shapes and what was expected", () => {
  assert.throws(() => linearOp(zeros([4, 3]), zeros([5, 7])), /linearOp: input \[4, 3\] has 3 features but weight \[5, 7\] expects 7/);
  assert.throws(() => linearOp(zeros([4]), zeros([5, 4])), /linearOp: input shape \[4\] must be 2-D \[batch, inFeatures\]/);
  assert.throws(() => linearOp(zeros([2, 4]), zeros([4])), /linearOp: weight shape \[4\] must be 2-D \[outFeatures, inFeatures\]/);
  assert.throws(() => linearOp(zeros([2, 4]), zeros([5, 4]), zeros([4])), /linearOp: bias shape \[4\] must be \[5\]/);
  assert.throws(() => linearOp(zeros([2, 4]), zeros([5, 4]), zeros([1, 5])), /linearOp: bias shape \[1, 5\] must be \[5\]/);
});
