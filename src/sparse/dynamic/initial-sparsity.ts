// The start of every sparse-from-scratch run: per-layer densities from a distribution, then random or SNIP positions.
import type { Model, WeightLayerShape } from "../../nn/presets.js";
import { distributeDensity, sparseLayerDensities } from "../distributions.js";
import type { SparsityContext } from "../method.js";
import { snipPrune } from "../snip.js";
import type { InitialSparsityConfig } from "./config.js";

/** Densities of the layers to build as CSR (layers at density 1 stay dense Linear/Conv2d layers). */
export function initialLayerDensities(config: InitialSparsityConfig, layers: WeightLayerShape[], context: SparsityContext): Record<string, number> {
  const budgets = distributeDensity(config.distribution, layers, config);
  const total = budgets.reduce((a, b) => a + b.size, 0), kept = budgets.reduce((a, b) => a + b.count, 0);
  context.log(
    `${config.method}: ${config.distribution} distribution of ${kept} of ${total} weights (density ${(kept / total).toFixed(4)}): ` +
      budgets.map((b) => `layers.${b.index} ${b.count}/${b.size} (${(100 * b.density).toFixed(2)}%)`).join(", "),
  );
  return sparseLayerDensities(budgets);
}

/**
 * With `init: snip`, re-chooses the random positions the layers were built with by SNIP; with
 * `initScale: sparse`, scales each sparse layer's initial weights by 1/√density. A unit of a layer
 * at density d sums about d·fan_in inputs, so its pre-activation variance is d times the dense
 * layer's; the scale restores it (sparsity-aware initialization, Evci et al. 2022, "Gradient flow
 * in sparse neural networks and how lottery tickets win").
 */
export function prepareInitialMask(config: InitialSparsityConfig, model: Model, context: SparsityContext): void {
  if (config.init === "snip") {
    const counts = snipPrune(model, context.train, { seed: context.seed, batches: config.snipBatches, batchSize: context.batchSize });
    context.log(`${config.method}: SNIP kept ${Object.entries(counts).map(([name, n]) => `${name} ${n}`).join(", ")}`);
  }
  if (config.initScale === "sparse") scaleSparseInit(model);
}

/** Scales every sparse weight's values by 1/√density (see prepareInitialMask). */
export function scaleSparseInit(model: Model): void {
  for (const p of model.net.parameters()) {
    if (p.sparse === undefined || p.sparse.nnz === 0) continue;
    const scale = 1 / Math.sqrt(p.sparse.density);
    const w = p.tensor.data;
    for (let i = 0; i < w.length; i++) w[i] *= scale;
  }
}
