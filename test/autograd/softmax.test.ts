// softmax and logSoftmax: forward against float64 references and gradients along every axis, on both backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setKernelBackend } from "../../src/backend/kernels.js";
import { logSoftmax, softmax } from "../../src/autograd/ops/softmax.js";
import { tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS = ["wasm", "reference"] as const;

/** float64 (log-)softmax along `axis` of a tensor of `shape`. */
function softmaxReference(x: ArrayLike<number>, shape: number[], axis: number, log: boolean): Float64Array {
  const len = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (l: number) => (o * len + l) * inner + i;
      let m = -Infinity;
      for (let l = 0; l < len; l++) m = Math.max(m, x[at(l)]);
      let s = 0;
      for (let l = 0; l < len; l++) s += Math.exp(x[at(l)] - m);
      for (let l = 0; l < len; l++) out[at(l)] = log ? x[at(l)] - m - Math.log(s) : Math.exp(x[at(l)] - m) / s;
    }
  }
  return out;
}

const CASES: [number[], number][] = [
  [[3, 5], -1], [[3, 5], 0], [[2, 3, 4], 0], [[2, 3, 4], 1], [[2, 3, 4], 2], [[1, 1], 1],
  [[4, 17], 1], [[2, 1, 3], 1], [[9], 0], [[2, 5, 3, 2], 1],
];

for (const backend of BACKENDS) {
  for (const [name, op, log] of [["softmax", softmax, false], ["logSoftmax", logSoftmax, true]] as const) {
    test(`${name}: along every axis, with gradients (${backend})`, () => {
      setKernelBackend(backend);
      for (const [shape, axis] of CASES) {
        const ax = (axis + shape.length) % shape.length;
        gradcheck({ shapes: [shape], low: -3, high: 3, op: ([x]) => op(x, axis), reference: ([x]) => softmaxReference(x, shape, ax, log) });
      }
    });

    test(`${name}: stable and accurate for logits of magnitude 1e4 (${backend})`, () => {
      setKernelBackend(backend);
      const values = [1e4, -1e4, 9999, 0, -5e3, 1e4 - 0.5, 2e3, -1e4, 1e4, 0.25, -0.25, 1];
      for (const [shape, axis] of [[[3, 4], 1], [[3, 4], 0], [[12], 0]] as [number[], number][]) {
        const got = op(tensor(values, shape), axis).toArray();
        const expected = softmaxReference(values, shape, axis, log);
        got.forEach((v, i) => {
          assert.ok(Number.isFinite(v), `${name}[${i}] = ${v}`);
          assert.ok(Math.abs(v - expected[i]) <= 1e-6 * Math.max(1, Math.abs(expected[i])), `${name}[${i}]: ${v}, expected ${expected[i]}`);
        });
      }
    });
  }
}

test("softmax: errors name the op, the axis and the shape", () => {
  assert.throws(() => softmax(zeros([2, 3]), 2), /softmax: axis 2 is out of range for shape \[2, 3\] \(allowed: -2 to 1\)/);
  assert.throws(() => logSoftmax(zeros([4]), -2), /logSoftmax: axis -2 is out of range for shape \[4\]/);
});
