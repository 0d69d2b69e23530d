// DSR (Mostafa & Wang 2019): prune below one adaptive global magnitude threshold, regrow at random, reallocating across layers by surviving weights.
//
// All weights with |w| < H are dropped (each layer keeps at least one). H adapts to hit a target of
// N = f(t)·(total non-zeros) drops: H doubles when fewer than (1 − δ)·N were dropped and halves when
// more than (1 + δ)·N were. The K dropped connections are regrown at random, layer l getting a share
// proportional to its surviving weights (capped by its free positions). The total is conserved.
import { apportion } from "../distributions.js";
import { dropAndGrow, magnitudeScores } from "./drop-and-grow.js";
import { randomGrowth } from "./random-growth.js";
import { growthRng, type UpdatePolicy } from "./updater.js";

export interface DsrOptions {
  initialThreshold: number;
  /** δ: tolerance around the target drop count before H changes. */
  tolerance: number;
}

export function dsrPolicy(options: DsrOptions): UpdatePolicy {
  let threshold = options.initialThreshold;
  return {
    update({ params, optimizer, step, fraction, seed }) {
      const scores = params.map((p) => magnitudeScores(p.tensor.data));
      const free = params.map((p) => p.sparse!.rows * p.sparse!.cols - p.sparse!.nnz);
      const drop = scores.map((s, l) => {
        let below = 0;
        for (let i = 0; i < s.length; i++) if (s[i] < threshold) below++;
        // Keep one weight per layer, and never drop more than the layer's free positions can take back.
        return Math.max(0, Math.min(below, s.length - 1, free[l]));
      });
      const dropped = drop.reduce((a, b) => a + b, 0);
      const target = fraction * params.reduce((a, p) => a + p.sparse!.nnz, 0);
      if (dropped < (1 - options.tolerance) * target) threshold *= 2;
      else if (dropped > (1 + options.tolerance) * target) threshold /= 2;

      const survivors = params.map((p, l) => p.sparse!.nnz - drop[l]);
      const grow = apportion(dropped, survivors, free);
      const rule = randomGrowth((param) => growthRng(seed, "dsr", param, step));
      // The `drop[l]` lowest magnitudes are exactly the weights below H (fewer when a cap applied).
      return params.map((param, l) => dropAndGrow(param, optimizer, { dropCount: drop[l], dropScores: scores[l], growCount: grow[l], grow: rule }));
    },
    status: () => `threshold ${threshold.toPrecision(3)}`,
  };
}
