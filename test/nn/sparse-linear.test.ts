import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { ReLU } from "../../src/nn/activations.js";
import { Linear } from "../../src/nn/linear.js";
import { Sequential } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

// A dense Linear whose weight and mask equal a SparseLinear's CSR weight, with the same bias.
function maskedTwin(sparse: SparseLinear): Linear {
  const dense = new Linear(sparse.inFeatures, sparse.outFeatures);
  dense.weight.data.set(sparse.weight.toDense().data);
  dense.setMask(sparse.weight.toMask());
  dense.bias!.data.set(sparse.bias!.data);
  return dense;
}

function run(net: Sequential, x: number[], shape: number[], labels: number[]): { out: Float32Array; loss: number } {
  return tidy(() => {
    const logits = net.forward(tensor(x, shape));
    const loss = crossEntropy(logits, labels);
    backward(loss);
    return { out: logits.toArray(), loss: loss.item() };
  });
}

for (const density of [0.01, 0.3, 1]) {
  test(`SparseLinear equals Linear with the equivalent mask: outputs and gradients at stored positions (density ${density})`, () => {
    const rng = new Rng(7, `eq-${density}`);
    const s1 = SparseLinear.random(37, 19, density, { rng: rng.fork("a") });
    const s2 = SparseLinear.random(19, 5, Math.max(density, 0.2), { rng: rng.fork("b") });
    const sparseNet = new Sequential([s1, new ReLU(), s2]);
    const denseNet = new Sequential([maskedTwin(s1), new ReLU(), maskedTwin(s2)]);
    const batch = 13;
    const x = Array.from({ length: batch * 37 }, () => rng.uniform() * 2 - 1);
    const labels = Array.from({ length: batch }, () => rng.int(5));
    const a = run(sparseNet, x, [batch, 37], labels);
    const b = run(denseNet, x, [batch, 37], labels);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
    a.out.forEach((v, i) => assert.ok(Math.abs(v - b.out[i]) < 1e-5, `output ${i}: ${v} vs ${b.out[i]}`));
    const sparseParams = sparseNet.parameters(), denseParams = denseNet.parameters();
    sparseParams.forEach((p, k) => {
      const q = denseParams[k];
      assert.equal(p.name, q.name);
      const gs = p.tensor.grad!.data, gd = q.tensor.grad!.data;
      if (p.sparse) {
        const { rowPtr, colIdx, cols } = { rowPtr: p.sparse.rowPtr, colIdx: p.sparse.colIdx, cols: p.sparse.cols };
        for (let i = 0; i < p.sparse.rows; i++) {
          for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
            const expected = gd[i * cols + colIdx[t]];
            assert.ok(Math.abs(gs[t] - expected) < 1e-5, `${p.name} grad at (${i}, ${colIdx[t]}): ${gs[t]} vs ${expected}`);
          }
        }
        // The masked dense gradient is zero off the stored positions.
        const mask = q.mask!.data;
        gd.forEach((g, i) => mask[i] === 0 && assert.ok(g === 0, `masked gradient ${i} is ${g}`));
      } else {
        gs.forEach((g, i) => assert.ok(Math.abs(g - gd[i]) < 1e-5, `${p.name} grad ${i}: ${g} vs ${gd[i]}`));
      }
    });
  });
}

test("Sequential keeps runs of sparse layers feature-major and names parameters like PyTorch", () => {
  const rng = new Rng(1);
  const net = new Sequential([SparseLinear.random(8, 6, 0.5, { rng }), new ReLU(), SparseLinear.random(6, 4, 0.5, { rng }), new ReLU(), new Linear(4, 3, { rng })]);
  assert.deepEqual(net.plan(), ["feature-major", "feature-major", "feature-major", "batch-major", "batch-major"]);
  assert.deepEqual(net.parameters().map((p) => p.name), ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias"]);
  assert.throws(() => SparseLinear.random(8, 6, 0), /density must be in \(0, 1\]/);
  assert.throws(() => net.forward(tensor(new Array(14).fill(0), [2, 7])), /must be \[8, batch\]/);
});
