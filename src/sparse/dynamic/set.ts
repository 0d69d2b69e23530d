// SET (Mocanu et al. 2018): drop the connections of smallest magnitude in each layer, regrow as many at random free positions.
import { dropAndGrow, magnitudeScores } from "./drop-and-grow.js";
import { randomGrowth } from "./random-growth.js";
import { growthRng, swapCount, type UpdatePolicy } from "./updater.js";

export function setPolicy(): UpdatePolicy {
  return {
    update({ params, optimizer, step, fraction, seed }) {
      const grow = randomGrowth((param) => growthRng(seed, "set", param, step));
      return params.map((param) => {
        const count = swapCount(param, fraction);
        return dropAndGrow(param, optimizer, { dropCount: count, dropScores: magnitudeScores(param.tensor.data), growCount: count, grow });
      });
    },
  };
}
