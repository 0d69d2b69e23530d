// Adam and AdamW (torch.optim.Adam / AdamW semantics; AdamW decouples weight decay from the gradient).
import { kernels } from "../backend/kernels.js";
import type { Tensor } from "../tensor/tensor.js";
import { adamStepPerEntry } from "./adam-per-entry.js";
import { Optimizer, type GroupOptions } from "./optimizer.js";

export interface AdamOptions extends GroupOptions {
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export class Adam extends Optimizer<AdamOptions> {
  /** `decoupled` selects AdamW; its default weight decay is 0.01 as in PyTorch. */
  constructor(
    groups: { params: Tensor[]; options?: Partial<AdamOptions> }[],
    defaults: Partial<AdamOptions> = {},
    readonly decoupled = false,
  ) {
    super(decoupled ? "adamw" : "adam", groups, { ...ADAM_DEFAULTS, weightDecay: decoupled ? 0.01 : 0, ...defaults }, ["exp_avg", "exp_avg_sq"], true);
    for (const g of this.groups) {
      const o = g.options;
      for (const [k, v] of [["beta1", o.beta1], ["beta2", o.beta2]] as const) {
        if (!(v >= 0 && v < 1)) throw new RangeError(`${this.kind}: ${k} must be in [0, 1), got ${v}`);
      }
      if (!(o.eps > 0)) throw new RangeError(`${this.kind}: eps must be > 0, got ${o.eps}`);
    }
  }

  protected update(p: Tensor, grad: Tensor, step: number, buffers: Map<string, Tensor>, o: AdamOptions, entrySteps: Int32Array | null): void {
    if (entrySteps !== null) {
      // Entries grown at different steps: each gets the bias correction of its own step count.
      adamStepPerEntry(o, this.decoupled, entrySteps, p.data, grad.data, buffers.get("exp_avg")!.data, buffers.get("exp_avg_sq")!.data);
      return;
    }
    const bc1 = 1 - o.beta1 ** step;
    const bc2 = 1 - o.beta2 ** step;
    kernels.adamStep(
      p.size, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, this.decoupled ? 1 : 0, bc1, bc2,
      p.ptr, grad.ptr, buffers.get("exp_avg")!.ptr, buffers.get("exp_avg_sq")!.ptr,
    );
  }
}

/** AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019). */
export class AdamW extends Adam {
  constructor(groups: { params: Tensor[]; options?: Partial<AdamOptions> }[], defaults: Partial<AdamOptions> = {}) {
    super(groups, defaults, true);
  }
}
