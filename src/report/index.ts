// `writeReport`: reads run folders (or sweep folders), renders the charts and writes one self-contained HTML file plus every chart as SVG and PNG beside it.
import { mkdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { atomicWrite } from "../io/atomic-write.js";
import type { Chart } from "./chart.js";
import { accuracySparsityChart } from "./comparison-chart.js";
import { renderPage, type RenderedChart, type RunSection } from "./html.js";
import { expandInputs } from "./inputs.js";
import { confusionChart, inputsChart, maskChart } from "./picture-charts.js";
import { readReference, type Reference } from "./reference.js";
import { chartSvg, prefixSvgIds, svgPng } from "./render.js";
import { readRun } from "./run-log.js";
import { summarizeRuns } from "./run-summary.js";
import { accuracyChart, layerDensityChart, learningRateChart, lossChart, regularizationChart, updatesChart } from "./training-charts.js";

export { readRun } from "./run-log.js";
export type { RunLog, EpochLine, UpdateLine, FinalLine, MaskSnapshot, StartLine, LayerStats } from "./run-log.js";
export { readReference } from "./reference.js";
export type { Reference, ReferencePoint } from "./reference.js";
export { paretoFront } from "./run-summary.js";

export interface ReportOptions {
  /** The HTML file (default: `<run>/report.html` for one run or sweep folder, `report.html` here for several). */
  out?: string;
  /** Published points to draw beside the runs (docs/published/*.json). */
  reference?: string;
  /** Progress and warnings, one line each. */
  log?: (line: string) => void;
}

export interface ReportResult {
  html: string;
  /** The chart files written (SVG and PNG), beside the HTML in `<stem>-charts/`. */
  files: string[];
  /** The run folders the report covers. */
  runs: string[];
  warnings: string[];
}

/** Mask pictures (up to 4 × 64 × 64 cells per layer and phase) are drawn for at most this many runs, so that a sweep's report stays small. */
const MAX_PICTURE_RUNS = 4;

export async function writeReport(inputs: string[], options: ReportOptions = {}): Promise<ReportResult> {
  const log = options.log ?? (() => {});
  const { runs: runInputs, warnings } = expandInputs(inputs);
  if (runInputs.length === 0) throw new Error(`${inputs.join(", ")}: no finished runs to report`);
  const reference: Reference | undefined = options.reference === undefined ? undefined : readReference(options.reference);
  const logs = runInputs.map((input) => readRun(input.dir));
  for (const run of logs) warnings.push(...run.warnings);
  for (const w of warnings) log(`warning: ${w}`);
  const summaries = summarizeRuns(logs, runInputs);

  const single = inputs.length === 1 && statSync(inputs[0]).isDirectory();
  const out = options.out ?? (single ? join(inputs[0], "report.html") : "report.html");
  const stem = basename(out, extname(out));
  const chartsDir = join(dirname(out), `${stem}-charts`);

  const several = summaries.length > 1;
  const comparisonCharts = several || reference ? [accuracySparsityChart(summaries, reference)] : [];
  const trainingCharts = [lossChart(summaries), accuracyChart(summaries), learningRateChart(summaries), regularizationChart(summaries), layerDensityChart(summaries), updatesChart(summaries)];
  const pictures = summaries.length <= MAX_PICTURE_RUNS;
  const sectionCharts = summaries.map((s, i) => [confusionChart(s, i + 1), ...(pictures ? [maskChart(s, i + 1), inputsChart(s, i + 1)] : [])]);

  mkdirSync(chartsDir, { recursive: true });
  const files: string[] = [];
  const render = async (charts: (Chart | null)[]): Promise<RenderedChart[]> => {
    const rendered: RenderedChart[] = [];
    for (const chart of charts) {
      if (chart === null) continue;
      const svg = await chartSvg(chart);
      const svgPath = join(chartsDir, `${chart.name}.svg`), pngPath = join(chartsDir, `${chart.name}.png`);
      atomicWrite(svgPath, svg);
      atomicWrite(pngPath, svgPng(svg));
      files.push(svgPath, pngPath);
      // The inline copy drops the XML header and takes ids no other chart on the page uses.
      rendered.push({ ...chart, svg: prefixSvgIds(svg.replace(/^<\?xml[^>]*>\s*/, ""), `chart-${chart.name}`) });
    }
    return rendered;
  };
  const comparison = await render(comparisonCharts);
  const training = await render(trainingCharts);
  const sections: RunSection[] = [];
  for (let i = 0; i < summaries.length; i++) sections.push({ summary: summaries[i], index: i + 1, charts: await render(sectionCharts[i]) });

  const html = renderPage({
    title: several ? `sparsetrain report: ${summaries.length} runs` : `sparsetrain report: ${summaries[0].label}`,
    runs: summaries, comparison, training, sections, reference, warnings,
    notes: pictures ? [] : [`Mask pictures are drawn for reports of up to ${MAX_PICTURE_RUNS} runs; run sparsetrain report on one run folder to see its masks.`],
  });
  atomicWrite(out, html);
  log(`report: wrote ${resolve(out)} (${files.length / 2} charts, also as SVG and PNG in ${chartsDir})`);
  return { html: out, files, runs: summaries.map((s) => s.dir), warnings };
}
