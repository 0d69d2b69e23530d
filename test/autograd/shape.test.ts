// Shape ops (reshape, flatten, transpose, permute, concat, slice): forward and gradients on both kernel backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setKernelBackend } from "../../src/backend/kernels.js";
import { concat, flatten, permute, reshape, slice, transpose } from "../../src/autograd/ops/shape.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS = ["wasm", "reference"] as const;

/** float64 permutation: output axis k is input axis dims[k]. */
function permuteReference(x: ArrayLike<number>, shape: number[], dims: number[]): Float64Array {
  const outShape = dims.map((d) => shape[d]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float64Array(x.length);
  for (let o = 0; o < out.length; o++) {
    let rest = o, source = 0;
    for (let k = outShape.length - 1; k >= 0; k--) {
      source += (rest % outShape[k]) * strides[dims[k]];
      rest = Math.floor(rest / outShape[k]);
    }
    out[o] = x[source];
  }
  return out;
}

/** float64 slice of [start, end) along axis. */
function sliceReference(x: ArrayLike<number>, shape: number[], axis: number, start: number, end: number): number[] {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = start * inner; i < end * inner; i++) out.push(x[o * shape[axis] * inner + i]);
  }
  return out;
}

for (const backend of BACKENDS) {
  test(`reshape and flatten are views with the same elements; gradients reshape back (${backend})`, () => {
    setKernelBackend(backend);
    gradcheck({ shapes: [[2, 3, 4]], op: ([x]) => reshape(x, [4, -1]), reference: ([x]) => x });
    gradcheck({ shapes: [[2, 3, 4, 5]], op: ([x]) => flatten(x), reference: ([x]) => x });
    const x = zeros([2, 3, 4, 5]);
    assert.deepEqual(reshape(x, [-1, 5]).shape, [24, 5]);
    assert.deepEqual(reshape(x, [0 + 120]).shape, [120]);
    assert.deepEqual(flatten(x).shape, [2, 60]);
    assert.deepEqual(flatten(x, 0).shape, [120]);
    assert.deepEqual(flatten(x, 1, 2).shape, [2, 12, 5]);
    assert.deepEqual(flatten(x, -2).shape, [2, 3, 20]);
    assert.equal(reshape(x, [120]).storage, x.storage, "reshape must not copy");
  });

  test(`transpose: 2-D default, batched last two axes, any pair of axes, with gradients (${backend})`, () => {
    setKernelBackend(backend);
    for (const shape of [[3, 5], [4, 1], [1, 7], [17, 33], [0, 4]]) {
      gradcheck({ shapes: [shape], op: ([x]) => transpose(x), reference: ([x]) => permuteReference(x, shape, [1, 0]) });
    }
    gradcheck({ shapes: [[2, 3, 5]], op: ([x]) => transpose(x), reference: ([x]) => permuteReference(x, [2, 3, 5], [0, 2, 1]) });
    for (const [a, b] of [[0, 1], [0, 2], [1, 2], [1, 3], [0, 3], [-1, 0], [2, 2]]) {
      const dims = [0, 1, 2, 3];
      const [i, j] = [(a + 4) % 4, (b + 4) % 4];
      [dims[i], dims[j]] = [dims[j], dims[i]];
      gradcheck({ shapes: [[2, 3, 4, 5]], op: ([x]) => transpose(x, a, b), reference: ([x]) => permuteReference(x, [2, 3, 4, 5], dims) });
    }
  });

  test(`permute: merged layouts (NCHW→NHWC), middle swaps and general gathers, with gradients (${backend})`, () => {
    setKernelBackend(backend);
    const perms = [[0, 2, 3, 1], [0, 3, 1, 2], [3, 1, 0, 2], [2, 0, 1, 3], [1, 0, 2, 3], [3, 2, 1, 0], [0, 1, 2, 3]];
    for (const shape of [[2, 3, 4, 5], [2, 1, 3, 4], [1, 3, 1, 5]]) {
      for (const dims of perms) {
        gradcheck({ shapes: [shape], op: ([x]) => permute(x, dims), reference: ([x]) => permuteReference(x, shape, dims) });
      }
    }
    // The feature-major/batch-major switch at full size (forward only: exact copies).
    for (const shape of [[128, 1000], [1000, 128], [3, 130, 67]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const rng = new Rng(3);
      const values = Float32Array.from({ length: n }, () => rng.uniform());
      const dims = shape.length === 2 ? [1, 0] : [0, 2, 1];
      const got = transpose(tensor(values, shape)).toArray();
      assert.deepEqual(Array.from(got), Array.from(permuteReference(values, shape, dims)), `transpose ${shape}`);
    }
  });

  test(`concat: along each axis, unequal sizes, an empty piece, a piece without gradient (${backend})`, () => {
    setKernelBackend(backend);
    const cases: [number[][], number][] = [
      [[[2, 3], [4, 3], [1, 3]], 0],
      [[[2, 3, 4], [2, 1, 4], [2, 0, 4], [2, 5, 4]], 1],
      [[[2, 3, 4], [2, 3, 7]], -1],
      [[[5]], 0],
    ];
    for (const [shapes, axis] of cases) {
      const ax = (axis + shapes[0].length) % shapes[0].length;
      gradcheck({
        shapes,
        noGrad: shapes.length > 2 ? [0] : [],
        op: (xs) => concat(xs, axis),
        reference: (xs) => {
          // Move the axis first, concatenate, move it back.
          const outer = shapes[0].slice(0, ax).reduce((a, b) => a * b, 1);
          const inner = shapes[0].slice(ax + 1).reduce((a, b) => a * b, 1);
          const out: number[] = [];
          for (let o = 0; o < outer; o++) {
            xs.forEach((x, k) => out.push(...x.subarray(o * shapes[k][ax] * inner, (o + 1) * shapes[k][ax] * inner)));
          }
          return out;
        },
      });
    }
  });

  test(`slice: ranges along each axis, negative positions, gradient padded with zeros (${backend})`, () => {
    setKernelBackend(backend);
    const shape = [3, 4, 5];
    for (const [axis, start, end, from, to] of [
      [0, 1, 3, 1, 3], [1, 0, 1, 0, 1], [2, 2, 5, 2, 5], [-1, -3, -1, 2, 4], [1, 2, 2, 2, 2], [2, 0, undefined, 0, 5],
    ] as [number, number, number | undefined, number, number][]) {
      const ax = (axis + 3) % 3;
      gradcheck({ shapes: [shape], op: ([x]) => slice(x, axis, start, end), reference: ([x]) => sliceReference(x, shape, ax, from, to) });
    }
  });
}

test("shape ops: errors name the op, the shape and what is allowed", () => {
  const x = zeros([2, 3, 4]);
  assert.throws(() => reshape(x, [-1, -1]), /reshape: shape \[-1, -1\] may contain -1 only once/);
  assert.throws(() => reshape(x, [5, 5]), /reshape: cannot reshape \[2, 3, 4\] \(24 elements\) to \[5, 5\]/);
  assert.throws(() => reshape(x, [5, -1]), /-1 cannot be inferred/);
  assert.throws(() => reshape(x, [2.5, -1]), /invalid shape/);
  assert.throws(() => flatten(x, 2, 1), /flatten: startDim 2 comes after endDim 1/);
  assert.throws(() => transpose(x, 0, 3), /transpose: dim1 3 is out of range for shape \[2, 3, 4\] \(allowed: -3 to 2\)/);
  assert.throws(() => transpose(zeros([4])), /transpose: shape \[4\] has fewer than 2 axes/);
  assert.throws(() => permute(x, [0, 0, 1]), /permute: \[0, 0, 1\] is not a permutation of the 3 axes of shape \[2, 3, 4\]/);
  assert.throws(() => permute(x, [1, 0]), /not a permutation/);
  assert.throws(() => concat([], 0), /concat: needs at least one tensor/);
  assert.throws(() => concat([x, zeros([2, 5, 5])], 1), /concat: tensor 1 has shape \[2, 5, 5\], expected \[2, \*, 4\] \(only axis 1 may differ\)/);
  assert.throws(() => concat([x, zeros([2, 3])], 0), /concat: tensor 1 has shape \[2, 3\]/);
  assert.throws(() => slice(x, 1, 2, 5), /slice: \[2, 5\) is not a valid range of axis 1 \(length 3\) of shape \[2, 3, 4\]/);
  assert.throws(() => slice(x, 1, 2, 1), /not a valid range/);
  assert.throws(() => slice(x, 3, 0, 1), /slice: axis 3 is out of range/);
});
