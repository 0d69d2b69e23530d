// Published accuracy-versus-sparsity points for `sparsetrain report --reference` (format: docs/published/*.json).
import { readFileSync } from "node:fs";

export interface ReferencePoint {
  method: string;
  sparsity: number;
  accuracy: number;
}

export interface Reference {
  source: string;
  points: ReferencePoint[];
}

/** Reads and checks a reference file: `{"source": "...", "points": [{"method", "sparsity" in [0, 1), "accuracy" in [0, 1]}]}`. */
export function readReference(path: string): Reference {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`${path}: cannot read the reference file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON (${(error as Error).message}); expected {"source": "...", "points": [{"method", "sparsity", "accuracy"}]}`);
  }
  const file = value as { source?: unknown; points?: unknown } | null;
  if (typeof file?.source !== "string" || file.source.trim() === "") throw new Error(`${path}: "source" must name where the points were published (a non-empty string)`);
  if (!Array.isArray(file.points) || file.points.length === 0) throw new Error(`${path}: "points" must be a non-empty array of {"method", "sparsity", "accuracy"}`);
  const points = file.points.map((p, i): ReferencePoint => {
    const point = p as { method?: unknown; sparsity?: unknown; accuracy?: unknown } | null;
    if (typeof point?.method !== "string" || point.method === "") throw new Error(`${path}: points[${i}].method must be a method name (a string)`);
    if (typeof point.sparsity !== "number" || !(point.sparsity >= 0 && point.sparsity < 1)) throw new Error(`${path}: points[${i}].sparsity must be a fraction in [0, 1), found ${JSON.stringify(point.sparsity)}`);
    if (typeof point.accuracy !== "number" || !(point.accuracy >= 0 && point.accuracy <= 1)) throw new Error(`${path}: points[${i}].accuracy must be a fraction in [0, 1] (e.g. 0.9774 for 97.74%), found ${JSON.stringify(point.accuracy)}`);
    return { method: point.method, sparsity: point.sparsity, accuracy: point.accuracy };
  });
  return { source: file.source, points };
}
