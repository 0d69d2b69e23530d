// Charts of a run's course: loss and accuracy, learning rate, λ and exact zeros, per-layer density, dropped/grown counts per update.
import type { Chart } from "./chart.js";
import { RUN_COLOR } from "./chart.js";
import type { RunSummary } from "./run-summary.js";

type Row = Record<string, string | number>;

/** Loss or accuracy against epoch: train and validation lines per run, test as a marker after the last epoch. */
function curveChart(runs: RunSummary[], what: "loss" | "accuracy"): Chart | null {
  const rows: Row[] = [];
  for (const s of runs) {
    for (const e of s.run.epochs) {
      const train = what === "loss" ? e.trainLoss : e.trainAccuracy;
      const validation = what === "loss" ? e.valLoss : e.valAccuracy;
      if (train !== undefined) rows.push({ run: s.label, epoch: e.epoch, split: "train", value: train });
      if (validation !== undefined) rows.push({ run: s.label, epoch: e.epoch, split: "validation", value: validation });
    }
    const test = what === "loss" ? s.run.final?.test_loss : s.run.final?.test_accuracy;
    if (test !== undefined) rows.push({ run: s.label, epoch: s.run.epochs.at(-1)?.epoch ?? 0, split: "test", value: test });
  }
  if (rows.length === 0) return null;
  const y = { field: "value", type: "quantitative", title: what, scale: { zero: false }, ...(what === "accuracy" ? { axis: { format: ".1%" } } : {}) };
  return {
    name: what, title: what === "loss" ? "Loss" : "Accuracy",
    caption: `${what === "loss" ? "Mean cross-entropy" : "Accuracy"} per epoch: solid train, dashed validation; the diamond is the test set after the last epoch.`,
    spec: {
      width: 520, height: 260, data: { values: rows },
      encoding: { x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } }, y, color: { field: "run", type: "nominal", ...RUN_COLOR } },
      layer: [
        { transform: [{ filter: "datum.split !== 'test'" }], mark: { type: "line", point: true }, encoding: { strokeDash: { field: "split", type: "nominal", title: "line", legend: { symbolType: "stroke", symbolStrokeWidth: 2, symbolSize: 400, encode: { symbols: { update: { stroke: { value: "#333" } } } } }, scale: { domain: ["train", "validation"], range: [[1, 0], [5, 3]] } } } },
        { transform: [{ filter: "datum.split === 'test'" }], mark: { type: "point", shape: "diamond", size: 140, filled: true, stroke: "black", strokeWidth: 0.5 } },
      ],
    },
  };
}

export function lossChart(runs: RunSummary[]): Chart | null {
  return curveChart(runs, "loss");
}

export function accuracyChart(runs: RunSummary[]): Chart | null {
  return curveChart(runs, "accuracy");
}

export function learningRateChart(runs: RunSummary[]): Chart | null {
  const rows = runs.flatMap((s) => s.run.epochs.filter((e) => e.lr !== undefined).map((e) => ({ run: s.label, epoch: e.epoch, lr: e.lr! })));
  if (rows.length === 0) return null;
  return {
    name: "learning-rate", title: "Learning rate", caption: "The learning rate at each epoch's last step.",
    spec: {
      width: 520, height: 200, data: { values: rows }, mark: { type: "line", point: true },
      encoding: { x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } }, y: { field: "lr", type: "quantitative", title: "learning rate" }, color: { field: "run", type: "nominal", ...RUN_COLOR } },
    },
  };
}

/** For regularization runs (those logging λ): λ and the fraction of exact zeros (zeroFraction, else overall sparsity) per epoch. */
export function regularizationChart(runs: RunSummary[]): Chart | null {
  const rows: Row[] = [];
  for (const s of runs) {
    if (!s.run.epochs.some((e) => e.lambda !== undefined || e.zeroFraction !== undefined)) continue;
    for (const e of s.run.epochs) {
      if (e.lambda !== undefined) rows.push({ run: s.label, epoch: e.epoch, quantity: "λ (penalty strength)", value: e.lambda });
      const zeros = e.zeroFraction ?? e.sparsity;
      if (zeros !== undefined) rows.push({ run: s.label, epoch: e.epoch, quantity: "exact zeros (fraction)", value: zeros });
    }
  }
  if (rows.length === 0) return null;
  return {
    name: "regularization", title: "Regularization: λ and exact zeros",
    caption: "Top: the penalty strength λ at each epoch's last step. Bottom: the fraction of regularized weights that are exactly zero.",
    spec: {
      data: { values: rows },
      facet: { row: { field: "quantity", type: "nominal", title: null, sort: ["λ (penalty strength)", "exact zeros (fraction)"] } },
      resolve: { scale: { y: "independent" } },
      spec: {
        width: 520, height: 160, mark: { type: "line", point: true },
        encoding: { x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } }, y: { field: "value", type: "quantitative", title: null }, color: { field: "run", type: "nominal", ...RUN_COLOR } },
      },
    },
  };
}

/** Each weight layer's density per epoch (epoch 0: as the first step saw it), one panel per run. */
export function layerDensityChart(runs: RunSummary[]): Chart | null {
  const rows: Row[] = [];
  for (const s of runs) {
    for (const l of s.run.start?.layers ?? []) rows.push({ run: s.label, epoch: 0, layer: l.name, density: l.density });
    for (const e of s.run.epochs) for (const l of e.layers ?? []) rows.push({ run: s.label, epoch: e.epoch, layer: l.name, density: l.density });
  }
  const positive = rows.filter((r) => (r.density as number) > 0);
  if (positive.length === 0) return null;
  return {
    name: "layer-density", title: "Per-layer density",
    caption: "Non-zero / (rows × columns) of each weight layer per epoch, log scale; epoch 0 is the model the first step saw.",
    spec: {
      data: { values: positive },
      facet: { field: "run", type: "nominal", title: null }, columns: 3,
      spec: {
        width: 300, height: 200, mark: { type: "line", point: true },
        encoding: {
          x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
          y: { field: "density", type: "quantitative", scale: { type: "log" }, axis: { format: ".1%" } },
          color: { field: "layer", type: "nominal", scale: { scheme: "category10" } },
        },
      },
    },
  };
}

/** Dynamic sparse training and pruning: connections dropped and grown per layer at each structure update. */
export function updatesChart(runs: RunSummary[]): Chart | null {
  const rows: Row[] = [];
  for (const s of runs) {
    for (const u of s.run.updates) {
      for (const l of u.layers) {
        if (l.dropped !== undefined) rows.push({ run: s.label, step: u.step, layer: l.name, change: "dropped", count: l.dropped });
        if (l.grown !== undefined) rows.push({ run: s.label, step: u.step, layer: l.name, change: "grown", count: l.grown });
      }
    }
  }
  if (rows.length === 0) return null;
  return {
    name: "updates", title: "Dropped and grown per update",
    caption: "Connections removed (left) and added (right) in each layer at each structure update, against the optimizer step; one row per run.",
    spec: {
      data: { values: rows },
      facet: { column: { field: "change", type: "nominal", title: null, sort: ["dropped", "grown"] }, row: { field: "run", type: "nominal", title: null } },
      spec: {
        width: 260, height: 160, mark: { type: "line", point: true },
        encoding: {
          x: { field: "step", type: "quantitative" }, y: { field: "count", type: "quantitative", title: "connections" },
          color: { field: "layer", type: "nominal", scale: { scheme: "category10" } },
        },
      },
    },
  };
}
