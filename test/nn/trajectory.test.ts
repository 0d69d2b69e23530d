// End-to-end check: a short fixed-seed training run gives the same losses with the reference and the WebAssembly kernels.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { setKernelBackend, kernelBackend, wasmProblem } from "../../src/backend/kernels.js";
import { Dropout, ReLU, Tanh } from "../../src/nn/activations.js";
import { Linear } from "../../src/nn/linear.js";
import { Sequential } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Sgd } from "../../src/optim/sgd.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

function trajectory(steps: number): number[] {
  const rng = new Rng(42, "trajectory");
  const net = new Sequential([
    SparseLinear.random(30, 24, 0.3, { rng: rng.fork("0") }), new ReLU(),
    new Linear(24, 16, { rng: rng.fork("2") }), new Tanh(), new Dropout(0.1),
    new Linear(16, 5, { rng: rng.fork("5") }),
  ], 42);
  const opt = new Sgd([{ params: net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const data = new Rng(7, "data");
  const x = Array.from({ length: 20 * 30 }, () => data.normal());
  const labels = Array.from({ length: 20 }, () => data.int(5));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    losses.push(tidy(() => {
      const loss = crossEntropy(net.forward(tensor(x, [20, 30])), labels);
      backward(loss);
      return loss.item();
    }));
    opt.step();
    opt.zeroGrad();
  }
  return losses;
}

test("a tiny MLP trains to the same losses with reference and WASM kernels", () => {
  assert.equal(wasmProblem(), null, "the WebAssembly kernels must load");
  const before = kernelBackend();
  try {
    setKernelBackend("reference");
    const reference = trajectory(25);
    setKernelBackend("wasm");
    const wasm = trajectory(25);
    assert.ok(reference[24] < reference[0] * 0.7, `the loss must fall: ${reference[0]} → ${reference[24]}`);
    reference.forEach((r, i) => assert.ok(Math.abs(r - wasm[i]) <= 1e-4 * Math.max(1, Math.abs(r)), `step ${i}: reference ${r}, wasm ${wasm[i]}`));
  } finally {
    setKernelBackend(before);
  }
});
