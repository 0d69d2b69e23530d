// WASM activation kernels (forward, backward, fused bias + activation) against the TypeScript reference.
import assert from "node:assert/strict";
import { test } from "node:test";
import { alloc, heapF32 } from "../../src/backend/heap.js";
import { reference } from "../../src/backend/kernels.js";
import { variantTest, wasmKernels } from "./variants.js";
import { Activation, activationKernels } from "../../src/backend/reference/activation.js";
import type { KernelName, KernelSet } from "../../src/backend/reference/index.js";
import { Rng } from "../../src/tensor/rng.js";

const rng = new Rng(11, "activation-kernels");
const SIZES = [0, 1, 3, 4, 5, 15, 16, 17, 63, 1000, 4097];
// Subnormal outputs carry fewer bits; allow one unit in their last place.
const SUBNORMAL_SLACK = 3e-45;

function wasm<K extends KernelName>(name: K): KernelSet[K] {
  const kernel = wasmKernels[name];
  assert.ok(kernel, `WASM kernel ${name} is missing`);
  return kernel as KernelSet[K];
}

function heapArray(values: ArrayLike<number>): number {
  const p = alloc(values.length * 4);
  heapF32().set(values, p >> 2);
  return p;
}

function floats(p: number, n: number): Float32Array {
  return heapF32().slice(p >> 2, (p >> 2) + n);
}

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-40, 1.2e-38, 3.4e38, -3.4e38, 88.7, 88.8, -87.5, -103, -104.5, 0.625, -0.625, 1, -1];

/**
 * n inputs mixing magnitudes from 1e-3 to 1e2 (both signs), a few huge and tiny ones, and the
 * special values; `positive` folds them to ≥ 0 (with some negatives kept for log's NaN branch).
 */
function wideInputs(n: number, positive = false): Float32Array {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const magnitude = 10 ** (rng.uniform() * 5 - 3);
    let v = i < SPECIALS.length ? SPECIALS[i] : (rng.uniform() < 0.5 ? -1 : 1) * magnitude;
    if (positive && i >= SPECIALS.length) v = rng.uniform() < 0.05 ? -v : Math.abs(v) * (rng.uniform() < 0.1 ? 1e-30 : 1);
    values[i] = v;
  }
  // Shuffle so that specials also land in the scalar tail.
  return rng.shuffle(values);
}

/** |got − want| ≤ tolerance(i)·|want| + absolute(i); infinities and NaN must match exactly. */
function assertClose(got: Float32Array, want: Float32Array, what: string, relative: (i: number) => number, absolute: (i: number) => number = () => SUBNORMAL_SLACK): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) || !Number.isFinite(want[i])) {
      assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: wasm ${got[i]}, reference ${want[i]}`);
      continue;
    }
    const bound = relative(i) * Math.abs(want[i]) + absolute(i);
    assert.ok(Math.abs(got[i] - want[i]) <= bound, `${what}[${i}]: wasm ${got[i]}, reference ${want[i]} (bound ${bound})`);
  }
}

variantTest("every activation kernel has a WASM export", () => {
  for (const name of Object.keys(activationKernels)) {
    assert.equal(typeof wasmKernels[name as KernelName], "function", `WASM kernel ${name} is missing`);
  }
});

type Unary = (n: number, x: number, out: number) => void;
// GELU's float32 intermediates (e^(−x²/2)) go subnormal before its result does: a looser floor there.
const GELU_SUBNORMAL_SLACK = 1e-43;
const UNARY: { name: string; run: (k: Partial<KernelSet>) => Unary; relative: (x: number) => number; absolute?: number; positive?: boolean }[] = [
  { name: "relu", run: (k) => k.relu!, relative: () => 0 },
  { name: "leakyRelu 0.01", run: (k) => (n, x, out) => k.leakyRelu!(n, 0.01, x, out), relative: () => 0 },
  { name: "leakyRelu 0.3", run: (k) => (n, x, out) => k.leakyRelu!(n, 0.3, x, out), relative: () => 0 },
  { name: "tanh", run: (k) => k.tanh!, relative: () => 2e-6 },
  { name: "sigmoid", run: (k) => k.sigmoid!, relative: () => 2e-6 },
  { name: "exp", run: (k) => k.exp!, relative: () => 2e-6 },
  { name: "log", run: (k) => k.log!, relative: () => 2e-6, positive: true },
  { name: "gelu", run: (k) => k.gelu!, relative: () => 2e-6, absolute: GELU_SUBNORMAL_SLACK },
  // σ(2u) with 2u ≈ 1.6·(x + 0.045x³): each float32 rounding in computing 2u (x³, ·0.045, +x, ·1.6)
  // costs |2u|·6e-8 relative in σ(2u), four of them |2u|·2.4e-7 (measured worst near x = −9: 1.7e-7).
  { name: "geluTanh", run: (k) => k.geluTanh!, relative: (x) => 2e-6 + 2.4e-7 * Math.abs(1.6 * (x + 0.045 * x * x * x)), absolute: GELU_SUBNORMAL_SLACK },
];

for (const kernel of UNARY) {
  variantTest(`${kernel.name}: WASM matches the reference over a wide range (±0, ±∞, NaN, subnormals, large |x|)`, () => {
    const wasmRun = kernel.run(wasmKernels);
    assert.ok(wasmRun, `WASM kernel ${kernel.name} is missing`);
    for (const n of SIZES) {
      const values = wideInputs(n, kernel.positive);
      const x = heapArray(values), a = alloc(n * 4), b = alloc(n * 4);
      wasmRun(n, x, a);
      kernel.run(reference)(n, x, b);
      const relative = (i: number): number => kernel.relative(values[i]);
      const absolute = (): number => kernel.absolute ?? SUBNORMAL_SLACK;
      assertClose(floats(a, n), floats(b, n), `${kernel.name} n=${n}`, relative, absolute);
      // In place: out = x.
      wasmRun(n, x, x);
      assertClose(floats(x, n), floats(b, n), `${kernel.name} in place n=${n}`, relative, absolute);
    }
  });
}

variantTest("exp, log, tanh, sigmoid: exact special values", () => {
  const cases: [KernelName, number[], number[]][] = [
    ["exp", [0, -0, Infinity, -Infinity, 89, -110, 1], [1, 1, Infinity, 0, Infinity, 0, Math.fround(Math.E)]],
    ["log", [1, 0, -0, -1, Infinity, -Infinity], [0, -Infinity, -Infinity, NaN, Infinity, NaN]],
    ["tanh", [0, 20, -20, Infinity, -Infinity], [0, 1, -1, 1, -1]],
    ["sigmoid", [0, 100, Infinity, -Infinity], [0.5, 1, 1, 0]],
  ];
  for (const [name, inputs, expected] of cases) {
    const x = heapArray(inputs), out = alloc(inputs.length * 4);
    (wasm(name) as Unary)(inputs.length, x, out);
    assert.deepEqual(Array.from(floats(out, inputs.length)), expected.map(Math.fround), name);
  }
});

test("gelu reference: matches x·Φ(x) from Python's math.erfc to float32 precision", () => {
  // x·0.5·erfc(−x/√2), computed in float64 with CPython's math.erfc.
  const golden: [number, number][] = [
    [-10, -7.619853024160593e-23], [-5, -1.4332578593959731e-6], [-3, -0.004049694094890287],
    [-1, -0.15865525393145707], [-0.5, -0.15426876936299344], [0.001, 0.000500398942213911],
    [0.5, 0.34573123063700656], [1, 0.8413447460685429], [3, 2.99595030590511],
  ];
  const x = heapArray(golden.map(([v]) => v)), out = alloc(golden.length * 4);
  reference.gelu(golden.length, x, out);
  const got = floats(out, golden.length);
  golden.forEach(([v, want], i) => assert.ok(Math.abs(got[i] - want) <= 2e-7 * Math.abs(want), `gelu(${v}) = ${got[i]}, want ${want}`));
});

type Backward = (n: number, x: number, dy: number, dx: number) => void;
const BACKWARD: { name: string; run: (k: Partial<KernelSet>) => Backward; input: (x: number) => number }[] = [
  { name: "reluBackward", run: (k) => k.reluBackward!, input: (x) => x },
  { name: "leakyReluBackward", run: (k) => (n, x, dy, dx) => k.leakyReluBackward!(n, 0.2, x, dy, dx), input: (x) => x },
  { name: "tanhBackward", run: (k) => k.tanhBackward!, input: Math.tanh },
  { name: "sigmoidBackward", run: (k) => k.sigmoidBackward!, input: (x) => 1 / (1 + Math.exp(-x)) },
  { name: "geluBackward", run: (k) => k.geluBackward!, input: (x) => x },
  { name: "geluTanhBackward", run: (k) => k.geluTanhBackward!, input: (x) => x },
];

for (const kernel of BACKWARD) {
  variantTest(`${kernel.name}: WASM matches the reference (dx may alias dy)`, () => {
    const wasmRun = kernel.run(wasmKernels);
    for (const n of SIZES) {
      const xs = Float32Array.from({ length: n }, () => kernel.input((rng.uniform() * 2 - 1) * (rng.uniform() < 0.2 ? 30 : 4)));
      const dys = Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
      const x = heapArray(xs), dy = heapArray(dys), a = alloc(n * 4), b = alloc(n * 4);
      wasmRun(n, x, dy, a);
      kernel.run(reference)(n, x, dy, b);
      // The GELU slopes cross zero, so the bound is relative to |dy| too.
      const absolute = (i: number): number => 1e-6 * Math.abs(dys[i]) * (1 + Math.abs(xs[i])) + SUBNORMAL_SLACK;
      assertClose(floats(a, n), floats(b, n), `${kernel.name} n=${n}`, () => 2e-6, absolute);
      wasmRun(n, x, dy, dy);
      assertClose(floats(dy, n), floats(b, n), `${kernel.name} in place n=${n}`, () => 2e-6, absolute);
    }
  });
}

const FUSED_SHAPES: [number, number][] = [[0, 5], [5, 0], [1, 1], [3, 1], [2, 3], [4, 4], [3, 5], [2, 15], [2, 16], [2, 17], [5, 63], [3, 1000], [1, 4097]];
const ACTIVATIONS = Object.entries(Activation);

for (const layout of ["Rows", "Cols"] as const) {
  variantTest(`biasActivation${layout} and its backward: WASM matches the reference for every activation`, () => {
    const forward = wasm(`biasActivation${layout}`), backward = wasm(`biasActivation${layout}Backward`);
    for (const [m, cols] of FUSED_SHAPES) {
      for (const [actName, act] of ACTIVATIONS) {
        const size = m * cols, biasSize = layout === "Rows" ? m : cols;
        const x = heapArray(Float32Array.from({ length: size }, () => (rng.uniform() * 2 - 1) * 6));
        const bias = heapArray(Float32Array.from({ length: biasSize }, () => rng.uniform() * 2 - 1));
        const what = `biasActivation${layout} ${actName} (${m}, ${cols})`;
        const outA = alloc(size * 4), outB = alloc(size * 4);
        forward(m, cols, act, 0.1, x, bias, outA);
        reference[`biasActivation${layout}`](m, cols, act, 0.1, x, bias, outB);
        assertClose(floats(outA, size), floats(outB, size), what, () => 2e-6);

        const dout = heapArray(Float32Array.from({ length: size }, () => rng.uniform() * 2 - 1));
        const dxA = alloc(size * 4), dxB = alloc(size * 4), dbA = alloc(biasSize * 4), dbB = alloc(biasSize * 4);
        heapF32().fill(NaN, dbA >> 2, (dbA >> 2) + biasSize); // dbias is overwritten, not accumulated
        backward(m, cols, act, 0.1, outB, dout, dxA, dbA);
        reference[`biasActivation${layout}Backward`](m, cols, act, 0.1, outB, dout, dxB, dbB);
        assertClose(floats(dxA, size), floats(dxB, size), `${what} dx`, () => 2e-6);
        const summed = layout === "Rows" ? cols : m;
        assertClose(floats(dbA, biasSize), floats(dbB, biasSize), `${what} dbias`, () => 0, () => summed * 1e-7 + 1e-6);

        // dbias = 0 skips the bias gradient; dx may overwrite out in place.
        backward(m, cols, act, 0.1, outB, dout, outB, 0);
        assertClose(floats(outB, size), floats(dxB, size), `${what} dx in place without dbias`, () => 2e-6);
      }
    }
  });
}
