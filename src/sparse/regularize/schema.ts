// Recipe schemas of the regularization and gate methods (the `sparsity` section), with the fields they share.
import { z } from "zod";
import { density, expected, nonNegativeNumber, oneOf, openUnitInterval, positiveInt, positiveNumber, section, text, unitInterval } from "../../recipe/fields.js";
import { groupStructures } from "./weight-groups.js";

const unit = oneOf(["epoch", "step"]).default("epoch").describe("What begin, end and every count.");

export const lambdaScheduleSchema = z.discriminatedUnion("name", [
  section({ name: z.literal("constant") }),
  section({
    name: z.literal("linear-ramp"),
    unit,
    begin: nonNegativeNumber().default(0),
    end: positiveNumber().describe("λ reaches its full value here (after begin)."),
    startFactor: unitInterval().default(0).describe("λ before `begin`, as a fraction of λ."),
  }).superRefine((s, context) => {
    if (!(s.end > s.begin)) context.addIssue({ code: "custom", path: ["end"], input: s.end, message: `expected a number > begin (${s.begin})` });
  }),
  section({
    name: z.literal("step-up"),
    unit,
    begin: nonNegativeNumber().default(0),
    every: positiveNumber().describe("Multiply λ by `factor` after every this many units."),
    factor: z.number(expected("a number >= 1")).min(1, expected("a number >= 1")),
    startFactor: positiveNumber().default(1).describe("λ at `begin`, as a fraction of λ."),
    maxFactor: positiveNumber().optional().describe("Cap, as a multiple of λ (at least startFactor: λ only goes up)."),
  }).superRefine((s, context) => {
    if (s.maxFactor !== undefined && s.maxFactor < s.startFactor) {
      context.addIssue({ code: "custom", path: ["maxFactor"], input: s.maxFactor, message: `expected a number >= startFactor (${s.startFactor})` });
    }
  }),
]).describe("λ over training: constant | linear-ramp | step-up.");

const common = {
  lambda: positiveNumber().describe("Strength λ of the penalty (added to the mean batch loss) or of the proximal step (lr·λ)."),
  lambdaSchedule: lambdaScheduleSchema.default({ name: "constant" }),
  exclude: z.array(text(), expected("a list of weight names or layers, e.g. [layers.4]")).default([])
    .describe("Weights left alone: full names (layers.4.weight), layers (layers.4 or 4), or globs."),
  csrBelow: density().default(0.5).describe("At the end, layers at or below this density are stored and computed as CSR."),
  fineTune: section({
    epochs: positiveInt().describe("The last N epochs train without the penalty, with the zeros fixed (mask or CSR)."),
  }).optional(),
};

const threshold = nonNegativeNumber().default(0).describe("When sparsifying, weights with |w| <= threshold become exactly 0.");

export const l1Schema = section({ method: z.literal("l1"), ...common, threshold });
export const proximalL1Schema = section({ method: z.literal("prox-l1"), ...common, threshold });
export const groupLassoSchema = section({
  method: z.literal("group-lasso"),
  ...common,
  threshold,
  structure: oneOf(groupStructures).describe("neurons = filters (dim 0: output rows, conv filters); inputs = channels (dim 1: input features, conv input channels)."),
  mode: oneOf(["proximal", "subgradient"]).default("proximal").describe("proximal: block soft-thresholding (exact zero groups); subgradient: a loss penalty."),
});

// NOTE: for group lasso, λ multiplies Σ_g √p_g‖w_g‖₂ (group-lasso.ts), so a proximal step shrinks a
// group's norm by lr·λ·√p_g. For gates, λ is per gate; a gate's data gradient is a weight times that
// weight's gradient, so gates usually need a far larger learning rate than weights, and no weight
// decay (which pulls them half open): optimizer.paramGroups [{pattern: "*.log_alpha", lr, weightDecay: 0}].
// Such a pattern matches nothing once the gates are folded, which a resumed run's optimizer rejects.

const granularity = oneOf(["weight", "neuron"]).default("weight")
  .describe("One gate per weight, or per output neuron / conv filter (exclude the output layer, e.g. exclude: [layers.4]).");

export const sigmoidGatesSchema = section({
  method: z.literal("sigmoid-gates"),
  ...common,
  granularity,
  initialGate: openUnitInterval().default(0.95)
    .describe("σ(score) at the start."),
  pruneBelow: unitInterval().default(0.05).describe("At test time and when folded, gates below this are exactly 0."),
});

export const l0GatesSchema = section({
  method: z.literal("l0"),
  ...common,
  granularity,
  initialDropRate: openUnitInterval().default(0.5)
    .describe("log α starts at log(1 − p) − log p (Louizos et al.: 0.5 from scratch; small, e.g. 0.1, from a trained model)."),
  temperature: positiveNumber().default(2 / 3).describe("β of the hard-concrete distribution."),
  stretch: z.tuple([z.number().lt(0, expected("γ < 0")), z.number().gt(1, expected("ζ > 1"))], expected("[γ, ζ] with γ < 0 and ζ > 1")).default([-0.1, 1.1]),
});

export type L1Config = z.infer<typeof l1Schema>;
export type ProximalL1Config = z.infer<typeof proximalL1Schema>;
export type GroupLassoConfig = z.infer<typeof groupLassoSchema>;
export type SigmoidGatesConfig = z.infer<typeof sigmoidGatesSchema>;
export type L0GatesConfig = z.infer<typeof l0GatesSchema>;
export type RegularizeCommonConfig = L1Config | ProximalL1Config | GroupLassoConfig;
export type GateConfig = SigmoidGatesConfig | L0GatesConfig;
