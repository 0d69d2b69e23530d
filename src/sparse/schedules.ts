// Sparsity schedules: the target sparsity at an optimizer step, or null when the step does not prune.

/** Target sparsity (fraction of weights pruned) to reach at `step`, or null if nothing happens at this step. */
export type SparsitySchedule = (step: number) => number | null;

function checkSparsity(value: number, option: string): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${option} must be in [0, 1], got ${value}`);
}

function checkStep(value: number, option: string): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`${option} must be an integer >= 0, got ${value}`);
}

/** Prune once, at `step`, to `sparsity`; the mask then stays fixed (fine-tuning). */
export function oneShotSchedule(sparsity: number, step = 0): SparsitySchedule {
  checkSparsity(sparsity, "sparsity");
  checkStep(step, "step");
  return (t) => (t === step ? sparsity : null);
}

export interface CubicScheduleOptions {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  /** Steps between pruning events (Δt). */
  frequency: number;
}

/**
 * Gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune"):
 * s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(n·Δt))³ at t = t0, t0 + Δt, …, t0 + n·Δt, where
 * t0 = beginStep and t0 + n·Δt = endStep. It prunes fast early, when redundant weights are many, and
 * slowly near the end. Also prunes at endStep when the frequency does not land on it.
 */
export function cubicSchedule(options: CubicScheduleOptions): SparsitySchedule {
  const { initialSparsity: si, finalSparsity: sf, beginStep: t0, endStep: t1, frequency } = options;
  checkSparsity(si, "initialSparsity");
  checkSparsity(sf, "finalSparsity");
  checkStep(t0, "beginStep");
  checkStep(t1, "endStep");
  if (t1 <= t0) throw new RangeError(`endStep (${t1}) must be greater than beginStep (${t0})`);
  if (!(Number.isInteger(frequency) && frequency >= 1)) throw new RangeError(`frequency must be an integer >= 1, got ${frequency}`);
  return (t) => {
    if (t < t0 || t > t1 || ((t - t0) % frequency !== 0 && t !== t1)) return null;
    return sf + (si - sf) * (1 - (t - t0) / (t1 - t0)) ** 3;
  };
}

export interface IterativeScheduleOptions {
  finalSparsity: number;
  /** Number of pruning events. */
  rounds: number;
  /** Step of the first pruning event. */
  firstStep: number;
  /** Steps of retraining between pruning events. */
  roundSteps: number;
}

/**
 * Iterative pruning (Han et al. 2015; Frankle & Carbin 2019): `rounds` events, each pruning the same
 * fraction p of the weights still alive, so after round r the sparsity is 1 − (1 − p)^r with
 * (1 − p)^rounds = 1 − finalSparsity.
 */
export function iterativeSchedule(options: IterativeScheduleOptions): SparsitySchedule {
  const { finalSparsity, rounds, firstStep, roundSteps } = options;
  checkSparsity(finalSparsity, "finalSparsity");
  checkStep(firstStep, "firstStep");
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`rounds must be an integer >= 1, got ${rounds}`);
  if (!(Number.isInteger(roundSteps) && roundSteps >= 1)) throw new RangeError(`roundSteps must be an integer >= 1, got ${roundSteps}`);
  return (t) => {
    const offset = t - firstStep;
    if (offset < 0 || offset % roundSteps !== 0) return null;
    const round = offset / roundSteps + 1;
    if (round > rounds) return null;
    return 1 - (1 - finalSparsity) ** (round / rounds);
  };
}

/** Every step at which a schedule prunes, up to `lastStep` (for reports and tests). */
export function pruningSteps(schedule: SparsitySchedule, lastStep: number): { step: number; sparsity: number }[] {
  const out: { step: number; sparsity: number }[] = [];
  for (let t = 0; t <= lastStep; t++) {
    const s = schedule(t);
    if (s !== null) out.push({ step: t, sparsity: s });
  }
  return out;
}
