// Gradient checking: compares an op's float32 output and analytic gradients with a float64 reference
// and float64 central finite differences of that reference, with tolerances that fail a 0.1% error.
import assert from "node:assert/strict";
import { backward } from "../../src/autograd/engine.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, type Tensor, tidy } from "../../src/tensor/tensor.js";

export interface GradcheckCase {
  /** Input shapes; inputs are drawn uniformly from [low, high) unless `inputs` is given. */
  shapes: number[][];
  inputs?: (readonly number[] | undefined)[];
  low?: number;
  high?: number;
  /** Indices of inputs that take no gradient (e.g. labels). */
  noGrad?: number[];
  /** The op under test, on float32 tensors. */
  op: (xs: Tensor[]) => Tensor;
  /** The same function in plain float64 JavaScript over flat arrays; returns the flat output. */
  reference: (xs: Float64Array[]) => ArrayLike<number>;
  seed?: number;
}

/**
 * Relative tolerance of the forward values and the gradients, as a fraction of the largest
 * reference magnitude. Float32 rounding of the op (ε = 6e-8, accumulated over sums of a few dozen
 * terms) stays near 1e-6 of that magnitude; the float64 central difference with STEP is exact to
 * ~1e-9. So 2e-4 leaves a 100× margin for rounding yet fails a backward that is 0.1% wrong (a
 * gradient scaled by 1.001 misses by 1e-3 at its largest element).
 */
export const RELATIVE_TOLERANCE = 2e-4;
/** Absolute floor, for outputs or gradients that are all (near) zero. */
export const ABSOLUTE_TOLERANCE = 1e-7;
/**
 * Float64 finite-difference step: truncation error ~STEP²·f‴ ≈ 1e-10 and cancellation ~1e-16/STEP
 * ≈ 1e-11, both far below the tolerance. Inputs of ops with kinks (relu, max) must keep further than
 * STEP from them; callers choose such inputs.
 */
const STEP = 1e-5;

const maxAbs = (values: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
};

/** Asserts |got − expected| ≤ RELATIVE_TOLERANCE·max|expected| + ABSOLUTE_TOLERANCE elementwise, naming the worst element. */
function assertClose(got: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const tolerance = RELATIVE_TOLERANCE * maxAbs(expected) + ABSOLUTE_TOLERANCE;
  let worst = -1, worstError = -1;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(got[i] - expected[i]);
    if (Number.isNaN(error)) [worst, worstError] = [i, Infinity];
    else if (error > worstError) [worst, worstError] = [i, error];
  }
  assert.ok(
    worst < 0 || worstError <= tolerance,
    `${what} at ${worst}: got ${got[worst]}, expected ${expected[worst]} (error ${worstError.toExponential(2)} > tolerance ${tolerance.toExponential(2)})`,
  );
}

/**
 * Checks forward values against the reference and the gradient of sum(out · R) (R random) against
 * float64 central differences of the reference. Throws an assertion error naming the input and index.
 */
export function gradcheck(c: GradcheckCase): void {
  const rng = new Rng(c.seed ?? 1, "gradcheck");
  const low = c.low ?? -1;
  const high = c.high ?? 1;
  // Inputs are float32 values, so the op and the float64 reference see exactly the same numbers.
  const values = c.shapes.map((shape, i) => {
    if (c.inputs?.[i]) return Float64Array.from(c.inputs[i], Math.fround);
    const n = shape.reduce((a, b) => a * b, 1);
    return Float64Array.from({ length: n }, () => Math.fround(low + (high - low) * rng.uniform()));
  });
  const expected = Array.from(c.reference(values));
  const weights = Float64Array.from(expected, () => Math.fround(rng.uniform() * 2 - 1));
  const objective = (xs: Float64Array[]): number => {
    const out = c.reference(xs);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * weights[i];
    return s;
  };

  tidy(() => {
    const inputs = c.shapes.map((shape, i) => {
      const t = tensor(values[i], shape);
      t.requiresGrad = !(c.noGrad ?? []).includes(i);
      return t;
    });
    const out = c.op(inputs);
    const got = out.toArray();
    assert.equal(got.length, expected.length, `output has ${got.length} elements, reference ${expected.length}`);
    assertClose(got, expected, "forward");
    backward(out, tensor(weights, out.shape));
    inputs.forEach((input, k) => {
      if (!input.requiresGrad) return;
      assert.ok(input.grad !== null, `input ${k} received no gradient`);
      const numeric = new Float64Array(values[k].length);
      for (let i = 0; i < numeric.length; i++) {
        const saved = values[k][i];
        values[k][i] = saved + STEP;
        const up = objective(values);
        values[k][i] = saved - STEP;
        const down = objective(values);
        values[k][i] = saved;
        numeric[i] = (up - down) / (2 * STEP);
      }
      assertClose(input.grad!.toArray(), numeric, `gradient of input ${k}`);
    });
  });
}
