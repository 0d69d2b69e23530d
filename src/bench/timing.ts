// Timing helpers for benchmarks: warm-up, interleaved repetitions, medians.

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` repeatedly for about `ms` milliseconds so that V8 optimizes it and caches warm. */
export function warmUp(fn: () => void, ms: number): void {
  const until = performance.now() + ms;
  do fn();
  while (performance.now() < until);
}

/**
 * Times several contenders with interleaved repetitions (so a noisy neighbour slows all alike) and
 * returns each one's median milliseconds per call. Each repetition runs a contender `inner` times.
 */
export function timeInterleaved(contenders: Record<string, () => void>, reps: number, inner = 1): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let r = 0; r < reps; r++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const start = performance.now();
      for (let i = 0; i < inner; i++) fn();
      times[name].push((performance.now() - start) / inner);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}
