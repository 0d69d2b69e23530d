// The gradient check itself: it passes correct ops and fails a backward or forward that is 0.1% wrong.
import assert from "node:assert/strict";
import { test } from "node:test";
import { record } from "../../src/autograd/engine.js";
import { tanh } from "../../src/autograd/ops/activation.js";
import { matmul } from "../../src/autograd/ops/matmul.js";
import { clone, empty, type Tensor } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

/** (m, k)·(k, n) in float64, row-major. */
function matmulReference(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    out[i * n + j] = s;
  }
  return out;
}

/** The identity, whose backward passes `edit(gradient)` on: a way to corrupt an op's backward by a known amount. */
function identityWithBackward(x: Tensor, edit: (gradient: Float32Array) => void): Tensor {
  return record("edited-identity", clone(x), [x], (g) => {
    const dx = empty(g.shape);
    dx.data.set(g.data);
    edit(dx.data);
    return [dx];
  });
}

const scaleBy = (factor: number) => (g: Float32Array) => g.forEach((v, i) => (g[i] = v * factor));
const largest = (g: Float32Array) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const MATMUL = { shapes: [[4, 6], [6, 5]], reference: ([a, b]: Float64Array[]) => matmulReference(a, b, 4, 6, 5) };
const TANH = { shapes: [[3, 7]], low: -2, high: 2, reference: ([x]: Float64Array[]) => x.map(Math.tanh) };

test("gradcheck passes correct ops (matmul, tanh)", () => {
  gradcheck({ ...MATMUL, op: ([a, b]) => matmul(a, b) });
  gradcheck({ ...TANH, op: ([x]) => tanh(x) });
});

test("gradcheck fails a backward whose gradient is 0.1% too large (or too small)", () => {
  for (const factor of [1.001, 0.999]) {
    assert.throws(() => gradcheck({ ...MATMUL, op: ([a, b]) => matmul(identityWithBackward(a, scaleBy(factor)), b) }), /gradient of input 0/);
    assert.throws(() => gradcheck({ ...MATMUL, op: ([a, b]) => matmul(a, identityWithBackward(b, scaleBy(factor))) }), /gradient of input 1/);
    assert.throws(() => gradcheck({ ...TANH, op: ([x]) => tanh(identityWithBackward(x, scaleBy(factor))) }), /gradient of input 0/);
  }
});

test("gradcheck fails a backward with one element off by 0.1% of the largest gradient", () => {
  for (const index of [0, 7, 19]) {
    const nudge = (g: Float32Array) => void (g[index] += 0.001 * largest(g));
    assert.throws(() => gradcheck({ ...TANH, op: ([x]) => tanh(identityWithBackward(x, nudge)) }), new RegExp(`gradient of input 0 at ${index}:`));
    assert.throws(() => gradcheck({ ...MATMUL, op: ([a, b]) => matmul(identityWithBackward(a, nudge), b) }), new RegExp(`gradient of input 0 at ${index}:`));
  }
});

test("gradcheck fails a forward that is 0.1% wrong and a gradient that is NaN", () => {
  const scaledForward = (x: Tensor) => {
    const y = tanh(x);
    y.data.forEach((v, i) => (y.data[i] = v * 1.001));
    return y;
  };
  assert.throws(() => gradcheck({ ...TANH, op: ([x]) => scaledForward(x) }), /forward at/);
  assert.throws(() => gradcheck({ ...TANH, op: ([x]) => tanh(identityWithBackward(x, (g) => void (g[3] = NaN))) }), /gradient of input 0 at 3: got NaN/);
});
