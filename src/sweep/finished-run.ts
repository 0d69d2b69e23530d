// Whether a run folder holds a finished training run: a final line in metrics.jsonl and final.safetensors.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The `final: true` line of a finished run's metrics.jsonl, or null when the run did not finish
 * (no metrics, no final line, or no final checkpoint). A torn last line (killed run) is ignored.
 */
export function finalMetrics(runDir: string): Record<string, unknown> | null {
  const metricsPath = join(runDir, "metrics.jsonl");
  if (!existsSync(metricsPath) || !existsSync(join(runDir, "final.safetensors"))) return null;
  const lines = readFileSync(metricsPath, "utf8").split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const entry = JSON.parse(lines[i]) as Record<string, unknown>;
      if (entry !== null && typeof entry === "object" && entry.final === true) return entry;
    } catch {
      // NOTE: a half-written line from a killed run, or a blank line: not a final line.
    }
  }
  return null;
}

/**
 * A summary for a finished run whose `train --json` line was lost (the sweep was killed after
 * the run ended but before it recorded the line): the final metrics line without the confusion matrix.
 */
export function summaryFromFinalMetrics(runDir: string, final: Record<string, unknown>): Record<string, unknown> {
  const { final: _final, kind: _kind, confusion: _confusion, ...metrics } = final;
  return { ...metrics, checkpoint: join(runDir, "final.safetensors"), run_dir: runDir };
}
