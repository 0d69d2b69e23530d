// Gradient checks for add, sub, mul, div with broadcasting, their number forms, and neg.
import assert from "node:assert/strict";
import { test } from "node:test";
import { add, addScalar, div, mul, mulScalar, neg, sub } from "../../src/autograd/ops/arithmetic.js";
import { broadcastShapes, sumToShape } from "../../src/autograd/ops/broadcast.js";
import { setKernelBackend, type KernelBackend } from "../../src/backend/kernels.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const BACKENDS: KernelBackend[] = ["wasm", "reference"];

/** Runs `body` once per kernel backend (restoring WASM afterwards). */
function onEachBackend(body: () => void): void {
  try {
    for (const backend of BACKENDS) {
      setKernelBackend(backend);
      body();
    }
  } finally {
    setKernelBackend("wasm");
  }
}

/** Plain float64 NumPy-style broadcasting of f over flat row-major arrays. */
function broadcastReference(shapeA: number[], shapeB: number[], f: (x: number, y: number) => number) {
  return ([a, b]: Float64Array[]): number[] => {
    const out = broadcastShapes("test", shapeA, shapeB);
    const rank = out.length;
    const pad = (s: number[]): number[] => [...Array<number>(rank - s.length).fill(1), ...s];
    const pa = pad(shapeA), pb = pad(shapeB);
    const flatIndex = (index: number[], shape: number[]): number =>
      index.reduce((acc, i, k) => acc * shape[k] + (shape[k] === 1 ? 0 : i), 0);
    const total = out.reduce((x, y) => x * y, 1);
    const result: number[] = [];
    for (let linear = 0; linear < total; linear++) {
      const index: number[] = [];
      let rest = linear;
      for (let k = rank - 1; k >= 0; k--) {
        index[k] = rest % out[k];
        rest = Math.floor(rest / out[k]);
      }
      result.push(f(a[flatIndex(index, pa)], b[flatIndex(index, pb)]));
    }
    return result;
  };
}

const SHAPE_PAIRS: [number[], number[]][] = [
  [[5], [5]],
  [[3, 4], [4]],
  [[4], [3, 4]],
  [[3, 1], [1, 4]],
  [[2, 3, 4], [3, 1]],
  [[2, 3], []],
  [[], [2, 3]],
  [[1], [7]],
  [[2, 5, 3], [2, 1, 3]],
  [[2, 1, 3, 1], [1, 4, 1, 5]], // four alternating axes: more than the kernel's three
  [[1, 17], [3, 1]],
];

const OPS = [
  { name: "add", op: add, f: (x: number, y: number) => x + y },
  { name: "sub", op: sub, f: (x: number, y: number) => x - y },
  { name: "mul", op: mul, f: (x: number, y: number) => x * y },
  { name: "div", op: div, f: (x: number, y: number) => x / y },
];

for (const { name, op, f } of OPS) {
  test(`${name}: forward and gradients with broadcasting (both backends)`, () => {
    onEachBackend(() => {
      for (const [shapeA, shapeB] of SHAPE_PAIRS) {
        gradcheck({
          shapes: [shapeA, shapeB],
          // Divisors stay in [0.5, 2) so that finite differences are well conditioned.
          ...(name === "div" ? { low: 0.5, high: 2 } : {}),
          op: ([a, b]) => op(a, b),
          reference: broadcastReference(shapeA, shapeB, f),
        });
      }
    });
  });
}

test("a tensor used as both operands gets both gradients", () => {
  gradcheck({ shapes: [[3, 2]], op: ([a]) => mul(a, a), reference: ([a]) => Array.from(a, (v) => v * v) });
  gradcheck({ shapes: [[4]], low: 0.5, high: 2, op: ([a]) => div(a, a), reference: ([a]) => Array.from(a, () => 1) });
});

test("numbers act as constants: add, sub, mul, div, addScalar, mulScalar, neg", () => {
  onEachBackend(() => {
    const cases: [string, (t: Parameters<typeof neg>[0]) => ReturnType<typeof neg>, (v: number) => number][] = [
      ["x + 2", (x) => add(x, 2), (v) => v + 2],
      ["3 − x", (x) => sub(3, x), (v) => 3 - v],
      ["x − 0.5", (x) => sub(x, 0.5), (v) => v - 0.5],
      ["−1.5 · x", (x) => mul(-1.5, x), (v) => -1.5 * v],
      ["x / 4", (x) => div(x, 4), (v) => v / 4],
      ["1 / x", (x) => div(1, x), (v) => 1 / v],
      ["addScalar", (x) => addScalar(x, -0.25), (v) => v - 0.25],
      ["mulScalar", (x) => mulScalar(x, 3), (v) => 3 * v],
      ["neg", (x) => neg(x), (v) => -v],
    ];
    for (const [what, op, f] of cases) {
      for (const shape of [[1], [3], [2, 9]]) {
        try {
          gradcheck({ shapes: [shape], low: 0.5, high: 2, op: ([x]) => op(x), reference: ([x]) => Array.from(x, f) });
        } catch (error) {
          throw new Error(`${what} on [${shape}]: ${(error as Error).message}`);
        }
      }
    }
  });
});

test("incompatible shapes: the error names the op, both shapes and the axis", () => {
  tidy(() => {
    const a = tensor(new Float32Array(12), [3, 4]), b = tensor(new Float32Array(5), [5]);
    assert.throws(() => add(a, b), /add: shapes \[3, 4\] and \[5\] cannot be broadcast together: sizes 4 and 5 at axis -1/);
    assert.throws(() => div(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [2, 2])), /div: shapes \[2, 3\] and \[2, 2\]/);
  });
});

test("sumToShape sums exactly the broadcast axes", () => {
  tidy(() => {
    const g = tensor(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    assert.deepEqual(Array.from(sumToShape(g, [3, 1]).data), [60, 92, 124]);
    assert.deepEqual(Array.from(sumToShape(g, [4]).data), [60, 66, 72, 78]);
    assert.deepEqual(sumToShape(g, [1, 3, 1]).shape, [1, 3, 1]);
    assert.deepEqual(Array.from(sumToShape(g, []).data), [276]);
    assert.equal(sumToShape(g, [2, 3, 4]), g);
  });
});
