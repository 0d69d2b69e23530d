// `sparsetrain sensitivity`: prune each weight of a checkpoint alone across a sparsity grid, print the accuracy table and per-layer budgets for a global sparsity.
import { stringify } from "yaml";
import type { ImageDatasetName } from "../data/mnist.js";
import { atomicWrite } from "../io/atomic-write.js";
import { loadCheckpoint, statePath } from "../io/checkpoint.js";
import { budgetOverrides, budgetsFromSensitivity, type SensitivityBudgets } from "../sparse/sensitivity-budgets.js";
import { checkCriterion, checkGrid, evaluatePruned, sensitivityScan, type SensitivityRow, type SensitivityScan } from "../sparse/sensitivity.js";
import { checkpointTestSet } from "./checkpoint-commands.js";
import { parseNumber, parseNumberList, samePath } from "./parse-options.js";

export const DEFAULT_GRID = "0.5,0.7,0.8,0.9,0.95,0.98";

export interface SensitivityCommandOptions {
  data?: ImageDatasetName;
  dataDir?: string;
  grid: string;
  criterion: string;
  target?: string;
  maxDrop?: string;
  limit?: string;
  include: string[];
  exclude: string[];
  out?: string;
  json?: boolean;
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  // Names left-aligned, numbers right-aligned.
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ");
  process.stdout.write(rows.map(line).join("\n") + "\n");
}

function printScan(scan: SensitivityScan, dataset: string): void {
  const { baseline, criterion, grid } = scan;
  process.stdout.write(`${dataset} test, ${baseline.count} examples: baseline accuracy ${percent(baseline.accuracy)}, loss ${baseline.loss.toFixed(4)}; ` +
    `accuracy with one weight at a time pruned (${criterion}) to each sparsity:\n`);
  const rows = [["layer", "params", "now", ...grid.map((s) => `${+(100 * s).toFixed(2)}%`)]];
  for (const layer of scan.layers) {
    const cells = scan.rows.filter((r) => r.layer === layer.layer).map((r) => percent(r.accuracy));
    rows.push([layer.layer, String(layer.params), percent(layer.zeros / layer.params), ...cells]);
  }
  printTable(rows);
}

function printBudgets(budgets: SensitivityBudgets, together: { accuracy: number; loss: number }, baselineAccuracy: number): void {
  const goal = budgets.target !== null ? `a global sparsity of ${percent(budgets.target)} over the scanned weights` : `at most ${percent(budgets.maxDrop!)} accuracy lost per layer`;
  process.stdout.write(`\nbudgets for ${goal} (each layer alone loses at most ${percent(budgets.threshold)} accuracy):\n`);
  const rows = [["layer", "params", "sparsity", "pruned", "drop alone"]];
  for (const l of budgets.layers) rows.push([l.layer, String(l.params), percent(l.sparsity), String(l.zeros), percent(l.drop)]);
  printTable(rows);
  const requested = budgets.requested !== null ? `, requested ${budgets.requested}` : "";
  process.stdout.write(`total: ${budgets.pruned} of ${budgets.total} weights pruned (${percent(budgets.sparsity)}${requested}); ` +
    `all these layers pruned together: accuracy ${percent(together.accuracy)} (drop ${percent(baselineAccuracy - together.accuracy)}), loss ${together.loss.toFixed(4)}\n`);
}

function budgetsYaml(budgets: SensitivityBudgets, scan: SensitivityScan, path: string, dataset: string): string {
  const goal = budgets.target !== null ? `reach a sparsity of ${budgets.target} over` : `keep each layer's accuracy drop within ${budgets.maxDrop} in`;
  return [
    `# sparsetrain sensitivity ${path}: per-layer sparsities that ${goal} the scanned weights`,
    `# (${budgets.pruned} of ${budgets.total} pruned; ${scan.criterion}, grid ${scan.grid.join(",")}, ${scan.baseline.count} ${dataset} test examples;`,
    `# each layer alone loses at most ${percent(budgets.threshold)} accuracy). Paste under a prune method's \`sparsity:\` section.`,
    stringify({ overrides: budgetOverrides(budgets) }),
  ].join("\n");
}

export function sensitivityCommand(path: string, options: SensitivityCommandOptions): void {
  const grid = checkGrid(parseNumberList(options.grid, "--grid", "comma-separated sparsities in [0, 1], e.g. 0.5,0.9"), "--grid");
  const criterion = checkCriterion(options.criterion, "--criterion");
  const target = options.target !== undefined ? parseNumber(options.target, "--target", "a global sparsity in [0, 1)") : undefined;
  if (target !== undefined && !(target >= 0 && target < 1)) throw new RangeError(`--target must be in [0, 1), got ${options.target}`);
  const maxDrop = options.maxDrop !== undefined ? parseNumber(options.maxDrop, "--max-drop", "an accuracy drop in [0, 1], e.g. 0.01") : undefined;
  if (maxDrop !== undefined && !(maxDrop >= 0 && maxDrop <= 1)) throw new RangeError(`--max-drop must be in [0, 1] (a fraction of accuracy, e.g. 0.01), got ${options.maxDrop}`);
  const limit = options.limit !== undefined ? parseNumber(options.limit, "--limit", "a number of test examples >= 1") : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`--limit must be an integer >= 1, got ${options.limit}`);
  if (options.out !== undefined) {
    if (target === undefined && maxDrop === undefined) throw new RangeError("--out writes budgets: give --target or --max-drop too");
    if (samePath(path, options.out)) throw new Error(`--out must differ from the checkpoint (${path}): sensitivity never writes to it`);
    if (samePath(statePath(path), options.out)) throw new Error(`--out ${options.out} is the state file of the checkpoint (${statePath(path)}): sensitivity never writes to it`);
  }

  const started = performance.now();
  const checkpoint = loadCheckpoint(path);
  const { dataset, test } = checkpointTestSet(checkpoint, { data: options.data, dataDir: options.dataDir, limit });
  const onRow = (row: SensitivityRow) => {
    if (options.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else if (row.sparsity === grid.at(-1)) process.stderr.write(`scanned ${row.layer} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  };
  const scan = sensitivityScan(checkpoint.model, test, {
    grid, criterion, include: options.include.length > 0 ? options.include : undefined, exclude: options.exclude,
    seed: checkpoint.seed, optionPrefix: "--", onRow,
  });
  const budgets = target !== undefined || maxDrop !== undefined
    ? budgetsFromSensitivity(scan, { target, maxDrop, optionNames: { target: "--target", maxDrop: "--max-drop", grid: "--grid" } })
    : null;
  const together = budgets !== null
    ? evaluatePruned(checkpoint.model, test, Object.fromEntries(budgets.layers.map((l) => [l.layer, l.zeros])), { criterion, seed: checkpoint.seed })
    : null;
  if (budgets !== null && options.out !== undefined) atomicWrite(options.out, budgetsYaml(budgets, scan, path, dataset));

  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      checkpoint: path, dataset, examples: scan.baseline.count, criterion, grid,
      baseline_accuracy: scan.baseline.accuracy, baseline_loss: scan.baseline.loss, layers: scan.layers,
      budgets, together: together && { accuracy: together.accuracy, loss: together.loss },
      out: options.out ?? null, seconds: (performance.now() - started) / 1000,
    })}\n`);
    return;
  }
  printScan(scan, dataset);
  if (budgets !== null && together !== null) printBudgets(budgets, together, scan.baseline.accuracy);
  if (options.out !== undefined) process.stdout.write(`wrote ${options.out}\n`);
}
