import assert from "node:assert/strict";
import { test } from "node:test";
import { kernels } from "../../src/backend/kernels.js";
import { backward, noGrad, record } from "../../src/autograd/engine.js";
import { empty, tensor, type Tensor } from "../../src/tensor/tensor.js";

// A minimal op for testing the engine alone: out = a * alpha (elementwise).
function scaleBy(a: Tensor, alpha: number): Tensor {
  const out = empty(a.shape);
  kernels.copy(a.size, a.ptr, out.ptr);
  kernels.scale(out.size, alpha, out.ptr);
  return record("scaleBy", out, [a], (g) => [scaleBy(g, alpha)]);
}

function addTensors(a: Tensor, b: Tensor): Tensor {
  const out = empty(a.shape);
  kernels.add(a.size, a.ptr, b.ptr, out.ptr);
  return record("add", out, [a, b], (g) => [g, g]);
}

test("gradients accumulate over shared subexpressions (diamond graph)", () => {
  const x = tensor([1, 2, 3]);
  x.requiresGrad = true;
  const y = scaleBy(x, 2);
  const z = addTensors(scaleBy(y, 3), y); // z = 6x + 2x = 8x
  backward(z, tensor([1, 1, 1]));
  assert.deepEqual(Array.from(x.grad!.data), [8, 8, 8]);
  // A second backward adds into the leaf gradient.
  const w = scaleBy(x, 5);
  backward(w, tensor([1, 0, 2]));
  assert.deepEqual(Array.from(x.grad!.data), [13, 8, 18]);
});

test("noGrad records nothing; backward on a non-scalar without a gradient is an error", () => {
  const x = tensor([1, 2]);
  x.requiresGrad = true;
  const y = noGrad(() => scaleBy(x, 2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  assert.throws(() => backward(y), /does not require a gradient/);
  assert.throws(() => backward(scaleBy(x, 2)), /not a scalar/);
});

test("a long chain does not overflow the stack", () => {
  const x = tensor([1]);
  x.requiresGrad = true;
  let y = x;
  for (let i = 0; i < 20000; i++) y = scaleBy(y, 1);
  backward(y);
  assert.equal(x.grad!.item(), 1);
});
