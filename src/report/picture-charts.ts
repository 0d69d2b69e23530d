// Heat-map charts of one run: where each layer's non-zeros are (start, middle, end), the first layer's receptive field, and the confusion matrix.
import type { Chart } from "./chart.js";
import type { RunSummary } from "./run-summary.js";

const PHASES = ["start", "middle", "end"];

/** Cells of a row-major rows × cols array as rect rows (x from c to c+1, y from r to r+1). */
function cells(rows: number, cols: number, density: number[], extra: Record<string, string>): Record<string, string | number>[] {
  const out: Record<string, string | number>[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out.push({ ...extra, r, r2: r + 1, c, c2: c + 1, density: density[r * cols + c] });
  return out;
}

/** A facetted heat map: one panel per (row field, phase), rects on a sequential scale, no axes (cells are positions). */
function heatMap(values: Record<string, string | number>[], row: string | null, size: number): Record<string, unknown> {
  const noAxis = { axis: null };
  return {
    data: { values },
    facet: { column: { field: "phase", type: "nominal", sort: PHASES, title: null }, ...(row ? { row: { field: row, type: "nominal", title: null } } : {}) },
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      // Each cell stroked in its own colour: anti-aliased edges of fractional-width rects otherwise show as white seams.
      width: size, height: size, mark: { type: "rect", strokeWidth: 0.6 },
      encoding: {
        x: { field: "c", type: "quantitative", scale: { nice: false, zero: true }, ...noAxis }, x2: { field: "c2" },
        y: { field: "r", type: "quantitative", scale: { nice: false, zero: true, reverse: true }, ...noAxis }, y2: { field: "r2" },
        // A symmetric-log scale: 1–5% dense cells (a 98%-sparse layer) stay visible beside a dense layer's 1.0.
        color: { field: "density", type: "quantitative", title: "non-zero fraction", scale: { scheme: "viridis", type: "symlog", constant: 0.01, zero: true } },
        stroke: { field: "density", type: "quantitative", title: "non-zero fraction", scale: { scheme: "viridis", type: "symlog", constant: 0.01, zero: true } },
      },
    },
  };
}

/** Each layer's mask, downsampled to its `grid`, at the start, the middle and the end of the run. */
export function maskChart(s: RunSummary, index: number): Chart | null {
  const values = s.run.masks.flatMap((m) => m.layers.flatMap((l) => (l.grid ? cells(l.grid.rows, l.grid.cols, l.grid.density, { phase: m.phase, layer: `${l.name} [${l.rows ?? "?"}×${l.cols ?? "?"}]` }) : [])));
  if (values.length === 0) return null;
  return {
    name: `masks-${index}`, title: `Masks: ${s.label}`,
    caption: "Where the non-zeros are: each layer's weight matrix (rows: outputs, columns: inputs) downsampled to at most 64 × 64 cells, colour = fraction of the cell's weights that are non-zero.",
    spec: heatMap(values, "layer", 180),
  };
}

/** The first layer's receptive field: the fraction of output units connected to each input pixel. */
export function inputsChart(s: RunSummary, index: number): Chart | null {
  const values = s.run.masks.flatMap((m) => m.layers.flatMap((l) => (l.inputs ? cells(l.inputs.shape[0], l.inputs.shape[1], l.inputs.density, { phase: m.phase }) : [])));
  if (values.length === 0) return null;
  return {
    name: `inputs-${index}`, title: `First layer's receptive field: ${s.label}`,
    caption: "For each input pixel, the fraction of the first layer's units connected to it (summed over channels): the pixels a sparse first layer kept.",
    spec: heatMap(values, null, 168),
  };
}

/** Test-set confusion matrix with the count in each cell. */
export function confusionChart(s: RunSummary, index: number): Chart | null {
  const confusion = s.run.final?.confusion;
  if (!confusion || confusion.length === 0) return null;
  const values = confusion.flatMap((row, t) => row.map((count, p) => ({ true: t, predicted: p, count })));
  return {
    name: `confusion-${index}`, title: `Confusion matrix: ${s.label}`,
    caption: "Test examples by true class (rows) and predicted class (columns).",
    spec: {
      width: 28 * confusion.length, height: 28 * confusion.length, data: { values },
      transform: [{ joinaggregate: [{ op: "max", field: "count", as: "max" }] }],
      encoding: {
        x: { field: "predicted", type: "ordinal", axis: { orient: "top", labelAngle: 0 } },
        y: { field: "true", type: "ordinal", title: "true class" },
      },
      layer: [
        { mark: "rect", encoding: { color: { field: "count", type: "quantitative", scale: { range: ["#ffffff", "#08519c"] }, legend: null } } },
        { mark: { type: "text", fontSize: 9 }, encoding: { text: { field: "count", type: "quantitative" }, color: { condition: { test: "datum.count > datum.max / 2", value: "white" }, value: "black" } } },
      ],
    },
  };
}
