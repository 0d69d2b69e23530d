// Recipe fields shared by sparse-from-scratch methods: the global density and its distribution, the initial mask, and the update schedule.
import { z } from "zod";
import { density, expected, flag, fraction, oneOf, positiveInt } from "../../recipe/fields.js";
import { distributionNames, type DistributionName } from "../distributions.js";
import type { DropDecay } from "./drop-schedule.js";

/** (0, 1]: a fraction of the run that must contain at least one step. */
const partOfRun = () => z.number(expected("a number in (0, 1]")).gt(0, expected("a number in (0, 1]")).max(1, expected("a number in (0, 1]"));

/** Fields of every sparse-from-scratch method (static and dynamic). */
export const initialSparsityFields = {
  density: density().describe("Fraction of all weights (every weight layer together) that are non-zero, in (0, 1]; 0.02 = 98% sparse."),
  distribution: oneOf(distributionNames).default("erk")
    .describe("How the budget is split over layers: uniform | erdos-renyi | erk (Erdős–Rényi-Kernel, RigL's default)."),
  denseFirst: flag().default(false).describe("Keep the first weight layer dense (it counts towards the budget)."),
  denseLast: flag().default(false).describe("Keep the last weight layer dense (it counts towards the budget)."),
  init: oneOf(["random", "snip"]).default("random").describe("Initial positions: random, or SNIP connection sensitivity |g·w| (Lee et al. 2019)."),
  snipBatches: positiveInt().default(1).describe("Training batches whose gradient SNIP sums."),
  initScale: oneOf(["dense", "sparse"]).default("dense")
    .describe("dense: initial weights as in the dense layer; sparse: scaled by 1/√density so each unit's input variance matches the dense layer's (Evci et al. 2022)."),
};

/** Fields of the drop-and-grow update schedule. */
export const updateScheduleFields = {
  updateEvery: positiveInt().default(100).describe("ΔT: optimizer steps between structure updates (>= 1)."),
  endFraction: partOfRun().default(0.75).describe("Structure updates stop after this fraction of the training steps (T_end)."),
  dropFraction: fraction().default(0.3).describe("α: fraction of connections dropped and regrown at an update, in [0, 1)."),
  dropDecay: oneOf(["constant", "cosine"]).default("cosine").describe("constant: α at every update; cosine: α/2·(1 + cos(π t / T_end))."),
};

export interface InitialSparsityConfig {
  method: string;
  density: number;
  distribution: DistributionName;
  denseFirst: boolean;
  denseLast: boolean;
  init: "random" | "snip";
  snipBatches: number;
  initScale: "dense" | "sparse";
}

export interface DynamicConfig extends InitialSparsityConfig {
  updateEvery: number;
  endFraction: number;
  dropFraction: number;
  dropDecay: DropDecay;
}
