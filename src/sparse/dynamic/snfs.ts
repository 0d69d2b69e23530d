// Sparse momentum / SNFS (Dettmers & Zettlemoyer 2019): prune the smallest magnitudes, regrow across layers in proportion to their mean momentum magnitude.
//
// Each layer drops round(f·nnz) of its smallest weights; the total is redistributed over the layers
// in proportion to the mean |momentum| of their stored weights (the optimizer's O(nnz) buffer:
// SGD's momentum_buffer or Adam's exp_avg), capped by each layer's free positions; within a layer
// new connections go where the gradient is largest. The total number of non-zeros is conserved.
//
// NOTE: the paper grows by the momentum of the *missing* weights, which needs a dense momentum
// updated every step. To stay truly sparse we grow by |dense gradient| of the update step's batch
// instead (computed in row chunks, as RigL does); redistribution uses the exact sparse momentum.
import type { NamedParameter } from "../../nn/sequential.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { apportion } from "../distributions.js";
import { dropAndGrow, magnitudeScores } from "./drop-and-grow.js";
import { GradientGrowth } from "./gradient-growth.js";
import { swapCount, type UpdatePolicy, type UpdateStep } from "./updater.js";

/** Mean |momentum| over the stored weights of `param` (0 before the first step). */
export function meanMomentumMagnitude(optimizer: Optimizer, param: NamedParameter): number {
  const name = ["momentum_buffer", "exp_avg"].find((b) => {
    try {
      optimizer.buffer(param.tensor, b);
      return true;
    } catch {
      return false;
    }
  });
  if (name === undefined) throw new Error(`sparsity.method snfs: the ${optimizer.kind} optimizer keeps no momentum; use sgd with momentum > 0, adam or adamw`);
  const m = optimizer.buffer(param.tensor, name).data;
  let sum = 0;
  for (let i = 0; i < m.length; i++) sum += Math.abs(m[i]);
  return m.length > 0 ? sum / m.length : 0;
}

/** Drop and grow counts per layer: drops by fraction, their total regrown by mean momentum share. */
export function momentumRedistribution({ params, optimizer, fraction }: UpdateStep): { drop: number[]; grow: number[] } {
  const drop = params.map((p) => Math.min(swapCount(p, fraction), p.sparse!.nnz - 1));
  const total = drop.reduce((a, b) => a + b, 0);
  const free = params.map((p) => p.sparse!.rows * p.sparse!.cols - p.sparse!.nnz);
  const grow = apportion(total, params.map((p) => meanMomentumMagnitude(optimizer, p)), free);
  return { drop, grow };
}

export function snfsPolicy(params: readonly NamedParameter[]): UpdatePolicy {
  GradientGrowth.check(params, "snfs");
  const growth = new GradientGrowth();
  let plan: { drop: number[]; grow: number[] } | null = null;
  return {
    beforeUpdate(update) {
      plan = momentumRedistribution(update);
      update.params.forEach((param, l) => growth.arm(param, plan!.grow[l]));
    },
    update({ params, optimizer }) {
      if (plan === null) throw new Error("snfs: update without a plan (beforeUpdate was not called at this step)");
      const { drop, grow } = plan;
      plan = null;
      try {
        return params.map((param, l) =>
          dropAndGrow(param, optimizer, { dropCount: drop[l], dropScores: magnitudeScores(param.tensor.data), growCount: grow[l], grow: growth.rule }),
        );
      } finally {
        growth.disarm(params);
      }
    },
  };
}
