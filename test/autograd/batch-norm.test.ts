// batchNorm in training and eval mode against float64 loop references and finite differences, running statistics as PyTorch updates them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { batchNorm } from "../../src/autograd/ops/batch-norm.js";
import { heapStats } from "../../src/backend/heap.js";
import { kernelBackend, setKernelBackend } from "../../src/backend/kernels.js";
import { full, tensor, zeros } from "../../src/tensor/tensor.js";
import { gradcheck } from "../helpers/gradcheck.js";

const EPS = 1e-5;

/** Per-channel mean and biased variance of x (N, C, HW) in float64. */
function channelStats(x: ArrayLike<number>, [n, c, hw]: number[]): { mean: number[]; variance: number[] } {
  const mean: number[] = [], variance: number[] = [];
  for (let ci = 0; ci < c; ci++) {
    let m = 0, v = 0;
    for (let ni = 0; ni < n; ni++) for (let i = 0; i < hw; i++) m += x[(ni * c + ci) * hw + i];
    m /= n * hw;
    for (let ni = 0; ni < n; ni++) for (let i = 0; i < hw; i++) v += (x[(ni * c + ci) * hw + i] - m) ** 2;
    mean.push(m);
    variance.push(v / (n * hw));
  }
  return { mean, variance };
}

/** y = γ·(x − μ)/√(σ² + ε) + β with the given per-channel μ and σ². */
function normalizeRef(x: Float64Array, g: ArrayLike<number>, b: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, [n, c, hw]: number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (let ni = 0; ni < n; ni++) for (let ci = 0; ci < c; ci++) for (let i = 0; i < hw; i++) {
    const at = (ni * c + ci) * hw + i;
    out[at] = (g[ci] * (x[at] - mean[ci])) / Math.sqrt(variance[ci] + EPS) + b[ci];
  }
  return out;
}

function onBothBackends(name: string, body: () => void): void {
  for (const backend of ["wasm", "reference"] as const) {
    test(`${name} [${backend}]`, () => {
      const before = kernelBackend();
      setKernelBackend(backend);
      try {
        body();
      } finally {
        setKernelBackend(before);
      }
    });
  }
}

// [N, C] (the 1-d case) and [N, C, H, W] with odd sizes, one channel, a single image.
const SHAPES = [[4, 3], [2, 1], [3, 2, 3, 3], [1, 3, 2, 5], [2, 1, 1, 7]];
const geometry = (shape: number[]) => [shape[0], shape[1], shape.length === 4 ? shape[2] * shape[3] : 1];

onBothBackends("batchNorm (training) matches a float64 reference and finite differences for x, γ and β", () => {
  for (const shape of SHAPES) {
    const c = shape[1];
    gradcheck({
      shapes: [shape, [c], [c]],
      op: ([x, g, b]) => batchNorm(x, g, b, zeros([c]), full([c], 1), { training: true }),
      reference: ([x, g, b]) => {
        const { mean, variance } = channelStats(x, geometry(shape));
        return normalizeRef(x, g, b, mean, variance, geometry(shape));
      },
    });
  }
});

onBothBackends("batchNorm (eval) uses the running statistics; gradients for x, γ and β by finite differences", () => {
  for (const shape of SHAPES) {
    const c = shape[1];
    const runningMean = Array.from({ length: c }, (_, i) => 0.3 * i - 0.2), runningVar = Array.from({ length: c }, (_, i) => 0.5 + i);
    gradcheck({
      shapes: [shape, [c], [c]],
      op: ([x, g, b]) => batchNorm(x, g, b, tensor(runningMean), tensor(runningVar), { training: false }),
      reference: ([x, g, b]) => normalizeRef(x, g, b, runningMean, runningVar, geometry(shape)),
    });
  }
});

onBothBackends("training updates running statistics as PyTorch does (unbiased variance); eval leaves them alone", () => {
  for (const shape of [[4, 1], [3, 2, 2, 3]]) {
    const [n, c, hw] = geometry(shape);
    const values = Array.from({ length: n * c * hw }, (_, i) => Math.fround(Math.sin(i * 1.7) * 2 + i * 0.1));
    const { mean, variance } = channelStats(values, [n, c, hw]);
    const rm = full([c], 0.5), rv = full([c], 2);
    const momentum = 0.25;
    batchNorm(tensor(values, shape), full([c], 1), zeros([c]), rm, rv, { training: true, momentum });
    for (let ci = 0; ci < c; ci++) {
      // running ← (1 − momentum)·running + momentum·batch, with the batch variance times count/(count − 1).
      const expectedMean = (1 - momentum) * 0.5 + momentum * mean[ci];
      const expectedVar = (1 - momentum) * 2 + (momentum * variance[ci] * n * hw) / (n * hw - 1);
      assert.ok(Math.abs(rm.data[ci] - expectedMean) < 1e-5, `running mean[${ci}]: ${rm.data[ci]}, expected ${expectedMean}`);
      assert.ok(Math.abs(rv.data[ci] - expectedVar) < 1e-5, `running var[${ci}]: ${rv.data[ci]}, expected ${expectedVar}`);
    }
    const before = [...rm.toArray(), ...rv.toArray()];
    batchNorm(tensor(values, shape), full([c], 1), zeros([c]), rm, rv, { training: false });
    assert.deepEqual([...rm.toArray(), ...rv.toArray()], before);
  }
  // PyTorch's default momentum is 0.1: x = [1, 2, 3, 5] has mean 2.75 and unbiased variance 2.9166….
  const rm = zeros([1]), rv = full([1], 1);
  batchNorm(tensor([1, 2, 3, 5], [4, 1]), full([1], 1), zeros([1]), rm, rv, { training: true });
  assert.ok(Math.abs(rm.data[0] - 0.275) < 1e-6);
  assert.ok(Math.abs(rv.data[0] - (0.9 + 0.1 * (8.75 / 3))) < 1e-6);
});

test("batchNorm errors name the input shape and the expected parameter shape", () => {
  const c3 = () => zeros([3]);
  assert.throws(() => batchNorm(zeros([2, 3, 4]), c3(), c3(), c3(), c3(), { training: true }), /batchNorm: input shape \[2, 3, 4\] must be \[N, C\] or \[N, C, H, W\]/);
  assert.throws(() => batchNorm(zeros([2, 3]), zeros([4]), c3(), c3(), c3(), { training: true }), /batchNorm: gamma has shape \[4\], expected \[3\] for input \[2, 3\]/);
  assert.throws(() => batchNorm(zeros([2, 3]), c3(), c3(), c3(), zeros([2]), { training: false }), /batchNorm: runningVar has shape \[2\], expected \[3\]/);
  assert.throws(() => batchNorm(zeros([1, 3]), c3(), c3(), c3(), c3(), { training: true }), /batchNorm: training needs more than one value per channel/);
});

test("batchNorm without gradients keeps no statistics alive", () => {
  const x = tensor(Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i)), [2, 3, 2, 2]);
  const gamma = full([3], 1), beta = zeros([3]), rm = zeros([3]), rv = full([3], 1);
  const before = heapStats().bytesInUse;
  const y = noGrad(() => batchNorm(x, gamma, beta, rm, rv, { training: true }));
  assert.equal(heapStats().bytesInUse - before, 128, "only the output (24 floats, one 128-byte block) stays allocated");
  y.dispose();
});
