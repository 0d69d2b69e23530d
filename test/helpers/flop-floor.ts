// The fastest a timed piece of work can honestly be here: a bound no 2-core machine of this class sustains.

/** Flop rate beyond this machine class (about 8× its measured peak); a time below the floor means the work did not run. */
export const IMPOSSIBLE_FLOPS_PER_S = 400e9;

/** Milliseconds that `flops` floating-point operations need at least. */
export function floorMs(flops: number): number {
  return (1000 * flops) / IMPOSSIBLE_FLOPS_PER_S;
}
