// The sparse-from-scratch methods a recipe can name: static (fixed mask) and dynamic (SET, RigL, SNFS, DSR), by method name.
import { z } from "zod";
import { positiveNumber, section, unitInterval } from "../../recipe/fields.js";
import { defineMethod, type SparsityContext, type SparsityMethod } from "../method.js";
import type { Model } from "../../nn/presets.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { initialSparsityFields, updateScheduleFields, type DynamicConfig } from "./config.js";
import { dsrPolicy } from "./dsr.js";
import { initialLayerDensities, prepareInitialMask } from "./initial-sparsity.js";
import { riglPolicy } from "./rigl.js";
import { setPolicy } from "./set.js";
import { snfsPolicy } from "./snfs.js";
import { dynamicHooks, type UpdatePolicy } from "./updater.js";

const sparseWeights = (model: Model) => model.net.parameters().filter((p) => p.sparse !== undefined);

/** A dynamic method: the shared start (distribution, initial mask) plus a policy run by the shared hooks. */
function dynamicMethod<C extends DynamicConfig>(
  name: string,
  describe: string,
  extra: z.core.$ZodLooseShape,
  policy: (config: C, model: Model, optimizer: Optimizer, context: SparsityContext) => UpdatePolicy,
): SparsityMethod {
  return defineMethod<C>({
    schema: section({ method: z.literal(name), ...initialSparsityFields, ...updateScheduleFields, ...extra }).describe(describe) as unknown as z.ZodType<C>,
    layerDensities: initialLayerDensities,
    prepareModel: prepareInitialMask,
    hooks: (config, model, optimizer, context) => [dynamicHooks(policy(config, model, optimizer, context), config, context)],
  });
}

export const dynamicMethods: Record<string, SparsityMethod> = {
  static: defineMethod({
    schema: section({ method: z.literal("static"), ...initialSparsityFields })
      .describe("Static sparse training: per-layer densities from a distribution, random or SNIP positions, fixed for the whole run."),
    layerDensities: initialLayerDensities,
    prepareModel: prepareInitialMask,
  }),
  set: dynamicMethod("set", "SET (Mocanu et al. 2018): drop smallest |w|, regrow at random.", {}, () => setPolicy()),
  rigl: dynamicMethod("rigl", "RigL (Evci et al. 2020): drop smallest |w|, regrow at the largest |dense gradient|, computed in row chunks at update steps.", {},
    (_config, model) => riglPolicy(sparseWeights(model))),
  snfs: dynamicMethod("snfs", "Sparse momentum (Dettmers & Zettlemoyer 2019): drop smallest |w|, redistribute across layers by mean |momentum|, regrow at the largest |dense gradient|.", {},
    (_config, model) => snfsPolicy(sparseWeights(model))),
  dsr: dynamicMethod<DynamicConfig & { initialThreshold: number; thresholdTolerance: number }>(
    "dsr", "DSR (Mostafa & Wang 2019): adaptive global magnitude threshold, reallocation across layers by surviving weights, random regrowth.",
    {
      initialThreshold: positiveNumber().default(0.001).describe("H at the first update; it then doubles or halves to hit the drop fraction."),
      thresholdTolerance: unitInterval().default(0.1).describe("δ: H changes when the drops miss the target by more than this fraction."),
    },
    (config) => dsrPolicy({ initialThreshold: config.initialThreshold, tolerance: config.thresholdTolerance })),
};
