// sum, mean, max and argmax: forward against float64 references and gradients on both kernel backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { setKernelBackend } from "../../src/backend/kernels.js";
import { argmax, max, mean, sum } from "../../src/autograd/ops/reduce.js";
import { tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS = ["wasm", "reference"] as const;

/** float64 reduction over `axes` with `combine` (sum) or a max (first maximum). */
function reduceReference(x: ArrayLike<number>, shape: number[], axes: number[], kind: "sum" | "mean" | "max"): number[] {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const size = kept.reduce((a, b) => a * b, 1);
  const out = new Array<number>(size).fill(kind === "max" ? -Infinity : 0);
  const strides = kept.map((_, i) => kept.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let flat = 0; flat < x.length; flat++) {
    let rest = flat, target = 0;
    for (let k = shape.length - 1; k >= 0; k--) {
      const index = rest % shape[k];
      rest = Math.floor(rest / shape[k]);
      if (!axes.includes(k)) target += index * strides[k];
    }
    out[target] = kind === "max" ? Math.max(out[target], x[flat]) : out[target] + x[flat];
  }
  const count = axes.reduce((n, a) => n * shape[a], 1);
  return kind === "mean" ? out.map((v) => v / count) : out;
}

const AXES_CASES: [number[], number | number[] | undefined, number[]][] = [
  [[2, 3, 4], undefined, [0, 1, 2]],
  [[2, 3, 4], 0, [0]],
  [[2, 3, 4], 1, [1]],
  [[2, 3, 4], -1, [2]],
  [[2, 3, 4], [0, 2], [0, 2]],
  [[2, 3, 4], [2, 0], [0, 2]],
  [[2, 3, 4], [0, 1], [0, 1]],
  [[2, 3, 4], [1, 2], [1, 2]],
  [[2, 3, 4], [], []],
  [[17], 0, [0]],
  [[1, 1, 7], [0, 1], [0, 1]],
  [[3, 33], 1, [1]],
  [[5, 2, 3, 2], [1, 3], [1, 3]],
];

for (const backend of BACKENDS) {
  for (const kind of ["sum", "mean"] as const) {
    test(`${kind}: every axis set, keepDims or not, with gradients (${backend})`, () => {
      setKernelBackend(backend);
      const op = kind === "sum" ? sum : mean;
      for (const [shape, axes, normalized] of AXES_CASES) {
        for (const keepDims of [false, true]) {
          gradcheck({
            shapes: [shape],
            op: ([x]) => op(x, axes, keepDims),
            reference: ([x]) => reduceReference(x, shape, normalized, kind),
          });
        }
        const expectedShape = shape.map((d, i) => (normalized.includes(i) ? 1 : d));
        assert.deepEqual(op(zeros(shape), axes, true).shape, expectedShape);
        assert.deepEqual(op(zeros(shape), axes).shape, shape.filter((_, i) => !normalized.includes(i)));
      }
    });
  }

  test(`max: along each axis, keepDims, gradient to the maximum (${backend})`, () => {
    setKernelBackend(backend);
    for (const [shape, axis] of [[[2, 3, 4], 0], [[2, 3, 4], 1], [[2, 3, 4], 2], [[2, 3, 4], -1], [[7], 0], [[3, 17], 1], [[3, 17], 0], [[4, 1], 1]] as [number[], number][]) {
      const ax = (axis + shape.length) % shape.length;
      for (const keepDims of [false, true]) {
        gradcheck({ shapes: [shape], op: ([x]) => max(x, axis, keepDims), reference: ([x]) => reduceReference(x, shape, [ax], "max") });
      }
    }
  });

  test(`max: ties send the gradient to the first maximum; NaN propagates (${backend})`, () => {
    setKernelBackend(backend);
    const x = tensor([1, 3, 3, 2, 5, 5, 5, 0, 1, 3, 3, 2], [2, 6]);
    x.requiresGrad = true;
    const m = max(x, 1);
    assert.deepEqual(Array.from(m.data), [5, 5]);
    backward(sum(m));
    assert.deepEqual(Array.from(x.grad!.data), [0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    assert.ok(Number.isNaN(max(tensor([1, NaN, 2]), 0).item()));
    assert.deepEqual(Array.from(argmax(tensor([1, NaN, 2, NaN]), 0)), [1]);
  });

  test(`argmax: first maximum along an axis (${backend})`, () => {
    setKernelBackend(backend);
    const x = tensor([0.1, 0.7, 0.2, 0.9, 0.05, 0.05, 0.3, 0.3, 0.3], [3, 3]);
    assert.deepEqual(Array.from(argmax(x)), [1, 0, 0]);
    assert.deepEqual(Array.from(argmax(x, 0)), [1, 0, 2]);
  });
}

test("sum over an empty axis is 0 and its mean is NaN, as in PyTorch", () => {
  assert.deepEqual(Array.from(sum(zeros([3, 0, 2]), 1).data), [0, 0, 0, 0, 0, 0]);
  assert.ok(Number.isNaN(mean(zeros([0])).item()));
  assert.equal(sum(tensor([4], [])).item(), 4);
});

test("reductions: errors name the op, the axes and the shape", () => {
  const x = zeros([2, 3]);
  assert.throws(() => sum(x, 2), /sum: axis 2 is out of range for shape \[2, 3\] \(allowed: -2 to 1\)/);
  assert.throws(() => mean(x, [0, -2]), /mean: axes \[0, -2\] name an axis twice for shape \[2, 3\]/);
  assert.throws(() => max(x, -3), /max: axis -3 is out of range/);
  assert.throws(() => max(zeros([2, 0]), 1), /max: axis 1 of shape \[2, 0\] is empty/);
  assert.throws(() => sum(x, 0.5), /sum: axis 0.5 is out of range/);
});
