// The comparison chart: test accuracy against sparsity per method, the Pareto front of the runs, and published reference points.
import type { Chart } from "./chart.js";
import type { Reference } from "./reference.js";
import { paretoFront, type RunSummary } from "./run-summary.js";

const THIS_REPORT = "runs in this report";
/** Tick positions (densities) for the log-density axis, labelled as sparsity. */
const DENSITY_TICKS = [1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001];

export function accuracySparsityChart(runs: RunSummary[], reference: Reference | undefined): Chart | null {
  const measured = runs.filter((s) => s.weightSparsity !== undefined && s.testAccuracy !== undefined && s.weightSparsity < 1);
  if (measured.length === 0 && reference === undefined) return null;
  const points = measured.map((s) => ({ run: s.label, method: s.method, sparsity: s.weightSparsity!, density: 1 - s.weightSparsity!, accuracy: s.testAccuracy!, source: THIS_REPORT }));
  // The legend names the source by its first clause (authors and year); the caption names it whole.
  const sourceLabel = reference?.source.split(",")[0].trim();
  const published = (reference?.points ?? []).map((p) => ({ run: `${p.method} (published)`, method: p.method, sparsity: p.sparsity, density: 1 - p.sparsity, accuracy: p.accuracy, source: sourceLabel! }));
  const front = paretoFront(points).map((p) => ({ density: 1 - p.sparsity, accuracy: p.accuracy }));
  const densities = [...points, ...published].map((p) => p.density);
  const low = Math.min(...densities), high = Math.max(...densities);
  const ticks = DENSITY_TICKS.filter((d) => d >= low / 1.5 && d <= high * 1.5);
  const x = {
    field: "density", type: "quantitative", title: "weight sparsity (log scale of density: sparser to the right)",
    // The domain hugs the points (a "nice" log domain would run on to a decade past the sparsest run).
    scale: { type: "log", reverse: true, nice: false, domain: [low / 1.3, Math.min(1.05, high * 1.3)] }, axis: { values: ticks, labelExpr: "format(1 - datum.value, '.1%')" },
  };
  const y = { field: "accuracy", type: "quantitative", title: "test accuracy", scale: { zero: false }, axis: { format: ".1%" } };
  const shape = { field: "source", type: "nominal", title: "points", legend: { labelLimit: 400 }, scale: { domain: [THIS_REPORT, ...(sourceLabel ? [sourceLabel] : [])], range: ["circle", "diamond"] } };
  const color = { field: "method", type: "nominal", scale: { scheme: "category10" } };
  const layer: Record<string, unknown>[] = [];
  if (front.length > 1) layer.push({ data: { values: front }, mark: { type: "line", color: "#444", strokeDash: [6, 3], strokeWidth: 1.5 }, encoding: { x, y } });
  // A thin line per method through its runs, densest first: the method's accuracy-vs-sparsity curve.
  if (points.length > 1) layer.push({ data: { values: points }, mark: { type: "line", strokeWidth: 1.2, opacity: 0.55 }, encoding: { x, y, color, detail: { field: "method" }, order: { field: "density", sort: "descending" } } });
  if (points.length > 0) layer.push({ data: { values: points }, mark: { type: "point", filled: true, size: 90, opacity: 0.9 }, encoding: { x, y, color, shape, tooltip: [{ field: "run" }, { field: "accuracy", format: ".2%" }] } });
  if (published.length > 0) layer.push({ data: { values: published }, mark: { type: "point", filled: false, size: 160, strokeWidth: 2 }, encoding: { x, y, color, shape } });
  return {
    name: "accuracy-vs-sparsity", title: "Test accuracy against sparsity",
    caption: `Filled circles: the runs of this report, colour = method, a thin line through each method's runs; the dashed line joins the Pareto front (no other run is both sparser and more accurate).${reference ? ` Hollow diamonds: published points (${reference.source}).` : ""}`,
    spec: { width: 560, height: 320, layer, resolve: { scale: { color: "shared", shape: "shared" } } },
  };
}
