// The report page: one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched) with charts and data tables.
import { layerInfoTable } from "../io/checkpoint-layer-info.js";
import type { Chart } from "./chart.js";
import type { Reference } from "./reference.js";
import type { RunSummary } from "./run-summary.js";

/** A table cell: the text shown, and for numbers the exact value (in `data-value`, for readers and tests). */
export interface Cell {
  text: string;
  value?: number;
}

export interface RenderedChart extends Chart {
  svg: string;
}

/** Where a section's charts and tables go, in page order. */
export interface RunSection {
  summary: RunSummary;
  index: number;
  charts: RenderedChart[];
}

export interface Page {
  title: string;
  runs: RunSummary[];
  comparison: RenderedChart[];
  training: RenderedChart[];
  sections: RunSection[];
  reference?: Reference;
  warnings: string[];
  /** Why per-run pictures are missing, if they are. */
  notes: string[];
}

const CSS = `body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
figure{margin:1em 0;overflow-x:auto}figcaption{color:#555;font-size:.9em;max-width:60em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.warn{background:#fff4d6;border:1px solid #e6c35c;padding:.5em 1em}code{font-size:.9em}`;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const num = (value: number | undefined, text: (v: number) => string): Cell => (value === undefined ? { text: "" } : { text: text(value), value });
const percent = (v: number) => `${(100 * v).toFixed(2)}%`;
const fixed = (digits: number) => (v: number) => v.toFixed(digits);

export function htmlTable(id: string, header: string[], rows: Cell[][]): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => (c.value === undefined ? `<td>${escapeHtml(c.text)}</td>` : `<td class="n" data-value="${c.value}">${escapeHtml(c.text)}</td>`)).join("")}</tr>`).join("\n");
  return `<table id="${escapeHtml(id)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function figure(chart: RenderedChart): string {
  return `<figure data-chart="${escapeHtml(chart.name)}"><h3>${escapeHtml(chart.title)}</h3>\n${chart.svg}\n<figcaption>${escapeHtml(chart.caption)} <span class="files">(also <code>${escapeHtml(chart.name)}.svg</code> and <code>.png</code>)</span></figcaption></figure>`;
}

function runsTable(runs: RunSummary[]): string {
  return htmlTable("runs", ["run", "method", "overrides", "weight sparsity", "test accuracy", "seconds", "folder"], runs.map((s) => [
    { text: s.label }, { text: s.method }, { text: s.overrides.join(" ") },
    num(s.weightSparsity, percent), num(s.testAccuracy, percent), num(s.seconds, fixed(1)), { text: s.dir },
  ]));
}

function referenceTable(reference: Reference): string {
  return htmlTable("reference", ["source", "method", "sparsity", "accuracy"], reference.points.map((p) => [{ text: reference.source }, { text: p.method }, num(p.sparsity, percent), num(p.accuracy, percent)]));
}

function epochsTable(s: RunSummary, index: number): string {
  const rows = s.run.epochs.map((e) => [
    num(e.epoch, String), num(e.step, String), num(e.trainLoss, fixed(4)), num(e.trainAccuracy, percent), num(e.valLoss, fixed(4)), num(e.valAccuracy, percent),
    num(e.lr, (v) => v.toPrecision(4)), num(e.sparsity, percent), num(e.seconds, fixed(2)),
  ]);
  return htmlTable(`epochs-${index}`, ["epoch", "step", "train loss", "train accuracy", "validation loss", "validation accuracy", "learning rate", "sparsity", "seconds"], rows);
}

/** The final model's layers as `sparsetrain info` prints them for final.safetensors (else the final log line's layers, without bytes). */
function finalLayersTable(s: RunSummary, index: number): string {
  const checkpoint = s.run.checkpoint;
  if (checkpoint) {
    const [header, ...rows] = layerInfoTable(checkpoint.layers, checkpoint.quantized);
    return `<p>From <code>${escapeHtml(checkpoint.path)}</code> (as <code>sparsetrain info</code> prints it):</p>\n` + htmlTable(`layers-${index}`, header, rows.map((r, i) => r.map((text, c) => {
      const l = checkpoint.layers[i];
      const exact = [undefined, undefined, undefined, undefined, l.stored, l.nonzero, l.density, l.bytes][c];
      return exact === undefined ? { text } : { text, value: exact };
    })));
  }
  const layers = s.run.final?.layers;
  if (!layers) return "<p>No final.safetensors and no per-layer final line: no final layer table.</p>";
  return `<p>From the final line of metrics.jsonl (no final.safetensors):</p>\n` + htmlTable(`layers-${index}`, ["name", "layer", "shape", "storage", "stored", "non-zero", "density"], layers.map((l) => [
    { text: l.name }, { text: l.layer ?? "" }, { text: l.shape ? `[${l.shape.join(", ")}]` : "" }, { text: l.storage ?? "" }, num(l.stored, String), num(l.nonzero, String), num(l.density, percent),
  ]));
}

function finalTable(s: RunSummary, index: number): string {
  const f = s.run.final;
  if (!f) return "<p>The run has no final line (still running, or stopped before the test evaluation).</p>";
  return htmlTable(`final-${index}`, ["step", "test accuracy", "test loss", "parameters", "non-zero", "sparsity", "seconds"], [[
    num(f.step, String), num(f.test_accuracy, percent), num(f.test_loss, fixed(4)), num(f.params_total, String), num(f.params_nonzero, String), num(s.sparsity, percent), num(s.seconds, fixed(1)),
  ]]);
}

export function renderPage(page: Page): string {
  const parts: string[] = [
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    // NOTE: an empty icon: without it the browser asks the network for /favicon.ico.
    `<link rel="icon" href="data:,"><title>${escapeHtml(page.title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(page.title)}</h1>`,
  ];
  if (page.warnings.length > 0) parts.push(`<div class="warn" id="warnings"><strong>Warnings</strong><ul>${page.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul></div>`);
  parts.push(`<h2>Runs</h2>`, runsTable(page.runs));
  if (page.comparison.length > 0 || page.reference) {
    parts.push(`<h2>Accuracy against sparsity</h2>`, ...page.comparison.map(figure));
    if (page.reference) parts.push(`<h3>Published reference points</h3>`, referenceTable(page.reference));
  }
  if (page.training.length > 0) parts.push(`<h2>Training</h2>`, ...page.training.map(figure));
  for (const section of page.sections) {
    const s = section.summary;
    parts.push(`<h2 id="run-${section.index}">Run ${escapeHtml(s.label)}</h2>`, `<p>Folder <code>${escapeHtml(s.dir)}</code>, method ${escapeHtml(s.method)}${s.overrides.length ? `, overrides <code>${escapeHtml(s.overrides.join(" "))}</code>` : ""}.</p>`);
    parts.push(`<h3>Test</h3>`, finalTable(s, section.index), `<h3>Final layers</h3>`, finalLayersTable(s, section.index), `<h3>Epochs</h3>`, epochsTable(s, section.index));
    parts.push(...section.charts.map(figure));
  }
  for (const note of page.notes) parts.push(`<p>${escapeHtml(note)}</p>`);
  parts.push(`<footer><p>Written by <code>sparsetrain report</code>. Charts: Vega-Lite compiled to SVG by Vega.</p></footer></body></html>\n`);
  return parts.join("\n");
}
