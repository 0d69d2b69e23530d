// Learning-rate schedules as pure functions t → factor of the initial rate, composable like torch's SequentialLR and ChainedScheduler.
import type { Optimizer } from "./optimizer.js";

/** A schedule maps a step (or epoch) count t >= 0 to a multiplier of the initial learning rate. */
export type Schedule = (t: number) => number;

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(message);
}

export function constantSchedule(factor = 1): Schedule {
  check(factor >= 0, `constant schedule: factor must be >= 0, got ${factor}`);
  return () => factor;
}

/** factor = gamma^floor(t / stepSize) (torch StepLR). */
export function stepSchedule(stepSize: number, gamma = 0.1): Schedule {
  check(Number.isInteger(stepSize) && stepSize > 0, `step schedule: stepSize must be a positive integer, got ${stepSize}`);
  return (t) => gamma ** Math.floor(t / stepSize);
}

/** factor = gamma^(number of milestones <= t) (torch MultiStepLR). */
export function multiStepSchedule(milestones: number[], gamma = 0.1): Schedule {
  const sorted = [...milestones].sort((a, b) => a - b);
  check(sorted.every((m) => Number.isInteger(m) && m > 0), `multistep schedule: milestones must be positive integers, got [${milestones}]`);
  return (t) => gamma ** sorted.filter((m) => m <= t).length;
}

/** factor = gamma^t (torch ExponentialLR). */
export function exponentialSchedule(gamma: number): Schedule {
  check(gamma > 0, `exponential schedule: gamma must be > 0, got ${gamma}`);
  return (t) => gamma ** t;
}

/** Cosine annealing from 1 to minFactor over `total` steps, then minFactor (torch CosineAnnealingLR, one half period). */
export function cosineSchedule(total: number, minFactor = 0): Schedule {
  check(total > 0, `cosine schedule: total must be > 0, got ${total}`);
  return (t) => (t >= total ? minFactor : minFactor + ((1 - minFactor) * (1 + Math.cos((Math.PI * t) / total))) / 2);
}

/** Linear ramp from startFactor to 1 over `steps`, then 1 (torch LinearLR warm-up). */
export function linearWarmupSchedule(steps: number, startFactor = 0): Schedule {
  check(steps > 0, `warmup schedule: steps must be > 0, got ${steps}`);
  return (t) => (t >= steps ? 1 : startFactor + ((1 - startFactor) * t) / steps);
}

/** Runs each schedule for its number of steps, each starting from its own t = 0; the last runs forever (torch SequentialLR). */
export function sequenceSchedule(parts: { schedule: Schedule; steps?: number }[]): Schedule {
  check(parts.length > 0, "sequence schedule: needs at least one part");
  parts.slice(0, -1).forEach((p, i) => check(p.steps !== undefined && p.steps > 0, `sequence schedule: part ${i} needs steps > 0`));
  return (t) => {
    let start = 0;
    for (let i = 0; i < parts.length - 1; i++) {
      if (t < start + parts[i].steps!) return parts[i].schedule(t - start);
      start += parts[i].steps!;
    }
    return parts[parts.length - 1].schedule(t - start);
  };
}

/** The product of several schedules (torch ChainedScheduler). */
export function productSchedule(schedules: Schedule[]): Schedule {
  return (t) => schedules.reduce((f, s) => f * s(t), 1);
}

/** Sets each group's learning rate to its initial rate times schedule(t). */
export function applySchedule(optimizer: Optimizer, schedule: Schedule, t: number): void {
  const factor = schedule(t);
  for (const g of optimizer.groups) g.options.lr = g.initialLr * factor;
}
