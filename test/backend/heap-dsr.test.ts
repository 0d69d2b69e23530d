// DSR's real drop-and-grow over hundreds of updates whose per-layer nnz drifts: the WebAssembly heap stays bounded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { heapStats } from "../../src/backend/heap.js";
import { ReLU } from "../../src/nn/activations.js";
import { Sequential } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Sgd } from "../../src/optim/sgd.js";
import { dsrPolicy } from "../../src/sparse/dynamic/dsr.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

test("200 DSR updates with drifting per-layer nnz do not grow the heap beyond 2× its live peak", () => {
  const rng = new Rng(4, "heap-dsr");
  const net = new Sequential([
    SparseLinear.random(300, 300, 0.2, { rng: rng.fork("0") }), new ReLU(),
    SparseLinear.random(300, 300, 0.2, { rng: rng.fork("2") }), new ReLU(),
    SparseLinear.random(300, 10, 0.5, { rng: rng.fork("4") }),
  ]);
  const optimizer = new Sgd([{ params: net.parameters().map((p) => p.tensor) }], { lr: 0.01, momentum: 0.9 });
  const policy = dsrPolicy({ initialThreshold: 0.05, tolerance: 0.1 });
  const x = Array.from({ length: 4 * 300 }, () => rng.normal());
  const labels = [0, 3, 5, 9];
  const sparseParams = () => net.parameters().filter((p) => p.sparse !== undefined);
  // Each layer's weight scale random-walks, so DSR's global threshold moves connections between layers.
  const logScales = sparseParams().map(() => 0);
  const nnzSeen = sparseParams().map((p) => [p.sparse!.nnz, p.sparse!.nnz]);
  const memoryBefore = heapStats().memoryBytes;
  let livePeak = heapStats().bytesInUse;
  for (let step = 1; step <= 200; step++) {
    tidy(() => {
      backward(crossEntropy(net.forward(tensor(x, [4, 300])), labels));
    });
    optimizer.step();
    optimizer.zeroGrad();
    sparseParams().forEach((p, l) => {
      logScales[l] += 0.3 * rng.normal();
      const values = p.tensor.data;
      for (let i = 0; i < values.length; i++) values[i] = Math.exp(logScales[l]) * rng.normal();
    });
    policy.update({ params: sparseParams(), optimizer, step, fraction: 0.3, seed: 4 });
    sparseParams().forEach((p, l) => {
      nnzSeen[l][0] = Math.min(nnzSeen[l][0], p.sparse!.nnz);
      nnzSeen[l][1] = Math.max(nnzSeen[l][1], p.sparse!.nnz);
    });
    const { memoryBytes, bytesInUse } = heapStats();
    livePeak = Math.max(livePeak, bytesInUse);
    assert.ok(
      memoryBytes <= memoryBefore + 2 * livePeak,
      `after ${step} updates the heap grew from ${memoryBefore} to ${memoryBytes} bytes around ${livePeak} live bytes at most`,
    );
  }
  const drift = nnzSeen.map(([low, high]) => high - low);
  assert.ok(drift[0] > 10_000 && drift[1] > 10_000, `per-layer nnz should drift, ranges ${JSON.stringify(nnzSeen)}`);
});
