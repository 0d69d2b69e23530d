// RigL (Evci et al. 2020): drop the smallest magnitudes in each layer, regrow where the dense gradient of the update step's batch is largest.
import type { NamedParameter } from "../../nn/sequential.js";
import { dropAndGrow, magnitudeScores } from "./drop-and-grow.js";
import { GradientGrowth } from "./gradient-growth.js";
import { swapCount, type UpdatePolicy } from "./updater.js";

export function riglPolicy(params: readonly NamedParameter[]): UpdatePolicy {
  GradientGrowth.check(params, "rigl");
  const growth = new GradientGrowth();
  return {
    beforeUpdate({ params, fraction }) {
      for (const param of params) growth.arm(param, swapCount(param, fraction));
    },
    update({ params, optimizer, fraction }) {
      try {
        return params.map((param) => {
          // The count is that of beforeUpdate: the structure has not changed since.
          const count = swapCount(param, fraction);
          return dropAndGrow(param, optimizer, { dropCount: count, dropScores: magnitudeScores(param.tensor.data), growCount: count, grow: growth.rule });
        });
      } finally {
        growth.disarm(params);
      }
    },
  };
}
