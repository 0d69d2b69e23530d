// A small net with a CSR layer trained three SGD steps: its losses and where its first weight lives (for heap-placement tests).
import { backward } from "../../src/autograd/engine.js";
import { crossEntropy } from "../../src/autograd/ops/loss.js";
import { ReLU } from "../../src/nn/activations.js";
import { Linear } from "../../src/nn/linear.js";
import { Sequential } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Sgd } from "../../src/optim/sgd.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";

export function threeSteps(): { losses: number[]; address: number } {
  const rng = new Rng(3, "high-heap");
  const net = new Sequential([
    SparseLinear.random(12, 10, 0.4, { rng: rng.fork("0") }), new ReLU(),
    new Linear(10, 4, { rng: rng.fork("2") }),
  ], 3);
  const opt = new Sgd([{ params: net.parameters().map((p) => p.tensor) }], { lr: 0.1, momentum: 0.9 });
  const data = new Rng(5, "data");
  const x = Array.from({ length: 6 * 12 }, () => data.normal());
  const labels = Array.from({ length: 6 }, () => data.int(4));
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) {
    losses.push(tidy(() => {
      const loss = crossEntropy(net.forward(tensor(x, [6, 12])), labels);
      backward(loss);
      return loss.item();
    }));
    opt.step();
    opt.zeroGrad();
  }
  return { losses, address: net.parameters()[0].tensor.ptr };
}
