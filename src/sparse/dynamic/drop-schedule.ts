// When a dynamic method updates the structure, and what fraction of connections it swaps at that step.
//
// RigL (Evci et al. 2020, eq. 1): updates every ΔT steps while t < T_end, swapping a fraction
// f(t) = α/2 · (1 + cos(π t / T_end)) (cosine decay) or f(t) = α (constant) of each layer's
// connections.

export type DropDecay = "constant" | "cosine";

export interface DropSchedule {
  /** ΔT: steps between updates (>= 1). */
  updateEvery: number;
  /** T_end: no update at or after this step. */
  endStep: number;
  /** α in [0, 1). */
  dropFraction: number;
  decay: DropDecay;
}

/** True when the structure is updated after optimizer step `step` (1-based count of steps done). */
export function isUpdateStep(schedule: DropSchedule, step: number): boolean {
  return step > 0 && step < schedule.endStep && step % schedule.updateEvery === 0;
}

/** f(t): the fraction of connections swapped at step t. */
export function dropFractionAt(schedule: DropSchedule, step: number): number {
  if (schedule.decay === "constant") return schedule.dropFraction;
  return (schedule.dropFraction / 2) * (1 + Math.cos((Math.PI * Math.min(step, schedule.endStep)) / schedule.endStep));
}
