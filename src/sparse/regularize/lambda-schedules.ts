// Schedules for a regularization strength λ: a factor of the configured λ as a function of the training step.
//
// Ramping λ up (rather than starting at full strength) lets the network first fit the data, then
// trades accuracy for sparsity gradually; a step-up schedule (×factor every N) is the classic way
// of raising a penalty until the target sparsity appears.

/** The factor (λ_t / λ) at step t (optimizer steps done). */
export type LambdaSchedule = (step: number) => number;

export type LambdaScheduleConfig =
  | { name: "constant" }
  /** 0 → 1 (from `startFactor`) linearly between `begin` and `end`, then 1. */
  | { name: "linear-ramp"; begin: number; end: number; startFactor: number }
  /** `factor`^k after k whole periods of `every` past `begin`, capped at `maxFactor`; `startFactor` before and at begin. */
  | { name: "step-up"; begin: number; every: number; factor: number; startFactor: number; maxFactor?: number };

/** A constant λ. */
export function constantLambda(): LambdaSchedule {
  return () => 1;
}

/** λ grows linearly from startFactor·λ at `begin` to λ at `end` (steps). */
export function linearRampLambda(begin: number, end: number, startFactor = 0): LambdaSchedule {
  if (!(end > begin)) throw new RangeError(`lambdaSchedule linear-ramp: end (${end}) must be after begin (${begin})`);
  return (step) => {
    if (step <= begin) return startFactor;
    if (step >= end) return 1;
    return startFactor + ((1 - startFactor) * (step - begin)) / (end - begin);
  };
}

/** λ is multiplied by `factor` every `every` steps from `begin` on, up to maxFactor·λ. */
export function stepUpLambda(begin: number, every: number, factor: number, startFactor = 1, maxFactor = Infinity): LambdaSchedule {
  if (!(every > 0)) throw new RangeError(`lambdaSchedule step-up: every must be > 0, got ${every}`);
  if (!(factor >= 1)) throw new RangeError(`lambdaSchedule step-up: factor must be >= 1 (λ only goes up), got ${factor}`);
  return (step) => {
    if (step < begin) return startFactor;
    return Math.min(maxFactor, startFactor * factor ** Math.floor((step - begin) / every));
  };
}

/**
 * The schedule a recipe describes. Its `begin`, `end` and `every` count `unit`s: epochs (default)
 * are converted to steps with `stepsPerEpoch`.
 */
export function lambdaScheduleFrom(config: LambdaScheduleConfig & { unit?: "epoch" | "step" }, stepsPerEpoch: number): LambdaSchedule {
  const steps = (n: number) => (config.unit === "step" ? n : n * stepsPerEpoch);
  switch (config.name) {
    case "constant": return constantLambda();
    case "linear-ramp": return linearRampLambda(steps(config.begin), steps(config.end), config.startFactor);
    case "step-up": return stepUpLambda(steps(config.begin), steps(config.every), config.factor, config.startFactor, config.maxFactor);
  }
}
