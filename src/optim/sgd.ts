// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD semantics).
import { kernels } from "../backend/kernels.js";
import type { Tensor } from "../tensor/tensor.js";
import { Optimizer, type GroupOptions } from "./optimizer.js";

export interface SgdOptions extends GroupOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export const SGD_DEFAULTS: SgdOptions = { lr: 0.01, weightDecay: 0, momentum: 0, dampening: 0, nesterov: false };

export class Sgd extends Optimizer<SgdOptions> {
  constructor(groups: { params: Tensor[]; options?: Partial<SgdOptions> }[], defaults: Partial<SgdOptions> = {}) {
    super("sgd", groups, { ...SGD_DEFAULTS, ...defaults }, ["momentum_buffer"]);
    for (const g of this.groups) {
      const o = g.options;
      if (!(o.momentum >= 0 && o.momentum < 1)) throw new RangeError(`sgd: momentum must be in [0, 1), got ${o.momentum}`);
      if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
        throw new RangeError("sgd: nesterov needs momentum > 0 and dampening = 0");
      }
    }
  }

  protected update(p: Tensor, grad: Tensor, step: number, buffers: Map<string, Tensor>, o: SgdOptions): void {
    const buf = buffers.get("momentum_buffer")!;
    kernels.sgdStep(p.size, o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov ? 1 : 0, step === 1 ? 1 : 0, p.ptr, grad.ptr, buf.ptr);
  }
}
