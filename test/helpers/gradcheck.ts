// Gradient checking: compares an op's output and analytic gradients with a float64 reference and
// central finite differences of that reference.
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
  /** Tolerances (defaults: forward 1e-4 relative, gradient 2e-2 relative to the max magnitude + 1e-3). */
  forwardTolerance?: number;
  gradTolerance?: number;
  step?: number;
}

/**
 * Checks forward values against the reference and the gradient of sum(out · R) (R random) against
 * central differences of the float64 reference. Throws an assertion error naming the input and index.
 */
export function gradcheck(c: GradcheckCase): void {
  const rng = new Rng(c.seed ?? 1, "gradcheck");
  const low = c.low ?? -1;
  const high = c.high ?? 1;
  const values = c.shapes.map((shape, i) => {
    if (c.inputs?.[i]) return Float64Array.from(c.inputs[i]);
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
    const ftol = c.forwardTolerance ?? 1e-4;
    const scale = Math.max(1, ...expected.map(Math.abs));
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - expected[i]) <= ftol * scale, `forward[${i}]: got ${got[i]}, reference ${expected[i]}`);
    }
    backward(out, tensor(weights, out.shape));
    const h = c.step ?? 1e-3;
    const gtol = c.gradTolerance ?? 2e-2;
    inputs.forEach((input, k) => {
      if (!input.requiresGrad) return;
      assert.ok(input.grad !== null, `input ${k} received no gradient`);
      const analytic = input.grad!.toArray();
      const numeric = new Float64Array(values[k].length);
      for (let i = 0; i < numeric.length; i++) {
        const saved = values[k][i];
        values[k][i] = saved + h;
        const up = objective(values);
        values[k][i] = saved - h;
        const down = objective(values);
        values[k][i] = saved;
        numeric[i] = (up - down) / (2 * h);
      }
      const gscale = Math.max(1e-3, ...Array.from(numeric, Math.abs));
      for (let i = 0; i < numeric.length; i++) {
        assert.ok(
          Math.abs(analytic[i] - numeric[i]) <= gtol * gscale + 1e-3,
          `gradient of input ${k} at ${i}: analytic ${analytic[i]}, finite difference ${numeric[i]}`,
        );
      }
    });
  });
}
