// Reads a run folder for `sparsetrain report`: metrics.jsonl (run-log format v2, and the older lines without `kind`), masks.jsonl and the final checkpoint's per-layer table.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { loadCheckpoint } from "../io/checkpoint.js";
import { checkpointLayerInfo, type LayerInfo } from "../io/checkpoint-layer-info.js";
import { readSafetensors } from "../io/safetensors.js";

/** A weight layer as a v2 log line describes it (docs/run-log-format.md, LayerStats). */
export interface LayerStats {
  name: string;
  layer?: string;
  shape?: number[];
  storage?: string;
  stored?: number;
  nonzero?: number;
  density: number;
}

export interface StartLine {
  name?: string;
  method?: string | null;
  dataset?: string;
  inputShape?: number[];
  epochs?: number;
  layers?: LayerStats[];
  recipe?: Record<string, unknown>;
}

export interface EpochLine {
  epoch: number;
  step?: number;
  trainLoss?: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds?: number;
  samplesPerSecond?: number;
  lr?: number;
  sparsity?: number;
  lambda?: number;
  zeroFraction?: number;
  gatesOpen?: number;
  layers?: LayerStats[];
}

export interface UpdateLine {
  step: number;
  epoch?: number;
  method?: string;
  dropFraction?: number;
  sparsity?: number;
  layers: { name: string; dropped?: number; grown?: number; nnz?: number; density?: number }[];
}

export interface FinalLine {
  step?: number;
  test_accuracy?: number;
  test_loss?: number;
  confusion?: number[][];
  params_total?: number;
  params_nonzero?: number;
  sparsity?: number;
  seconds?: number;
  layers?: LayerStats[];
}

export interface MaskLayer {
  name: string;
  rows?: number;
  cols?: number;
  grid?: { rows: number; cols: number; density: number[] };
  inputs?: { shape: number[]; density: number[] };
}

export interface MaskSnapshot {
  phase: string;
  step?: number;
  epoch?: number;
  layers: MaskLayer[];
}

/** What the final checkpoint says: the rows `sparsetrain info` prints, and its recipe's method. */
export interface FinalCheckpoint {
  path: string;
  layers: LayerInfo[];
  quantized: boolean;
  paramsTotal: number;
  paramsNonzero: number;
  method: string | null;
}

export interface RunLog {
  dir: string;
  start?: StartLine;
  epochs: EpochLine[];
  updates: UpdateLine[];
  final?: FinalLine;
  masks: MaskSnapshot[];
  checkpoint?: FinalCheckpoint;
  /** Things the reader tolerated (a truncated last line, an unreadable checkpoint), one sentence each. */
  warnings: string[];
}

/** Reads the run folder `dir`; throws a one-line error naming the file (and line) when it is not a run or a line is corrupt. */
export function readRun(dir: string): RunLog {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a run folder: it is a file (expected a folder written by sparsetrain train)`);
  const metricsPath = join(dir, "metrics.jsonl");
  if (!existsSync(metricsPath)) throw new Error(`${dir} is not a run folder: no metrics.jsonl (expected a folder written by sparsetrain train)`);
  const run: RunLog = { dir, epochs: [], updates: [], masks: [], warnings: [] };
  for (const { line, value } of readJsonLines(metricsPath, run.warnings)) addMetricsLine(run, value, `${metricsPath}:${line}`);
  const masksPath = join(dir, "masks.jsonl");
  if (existsSync(masksPath)) {
    for (const { line, value } of readJsonLines(masksPath, run.warnings)) {
      const snapshot = maskSnapshot(value, `${masksPath}:${line}`);
      if (snapshot) run.masks.push(snapshot);
    }
  }
  const finalPath = join(dir, "final.safetensors");
  if (existsSync(finalPath)) {
    try {
      run.checkpoint = finalCheckpoint(finalPath);
    } catch (error) {
      run.warnings.push(`${finalPath}: cannot be read (${(error as Error).message}); the final per-layer table is left out`);
    }
  }
  return run;
}

function finalCheckpoint(path: string): FinalCheckpoint {
  const checkpoint = loadCheckpoint(path);
  const layers = checkpointLayerInfo(checkpoint, readSafetensors(path).tensors);
  let paramsTotal = 0, paramsNonzero = 0;
  for (const p of checkpoint.model.net.parameters()) {
    paramsTotal += p.sparse ? p.sparse.rows * p.sparse.cols : p.tensor.size;
    for (const v of p.tensor.data) if (v !== 0) paramsNonzero++;
  }
  const sparsity = (checkpoint.recipe as { sparsity?: { method?: unknown } } | undefined)?.sparsity;
  const method = typeof sparsity?.method === "string" ? sparsity.method : null;
  return { path, layers, quantized: checkpoint.quantization !== undefined, paramsTotal, paramsNonzero, method };
}

/**
 * The complete lines of a JSON-lines file as objects, with their 1-based line numbers. A last line
 * with no newline after it that does not parse is a write cut short by a killed run: dropped, and
 * said in `warnings`. Any other line that is not a JSON object is an error naming file:line.
 */
function readJsonLines(path: string, warnings: string[]): { line: number; value: Record<string, unknown> }[] {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const out: { line: number; value: Record<string, unknown> }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      if (i === lines.length - 1) {
        warnings.push(`${path}:${i + 1}: the last line is incomplete (a run killed while writing it?); used the ${out.length} complete line(s) before it`);
        break;
      }
      throw new Error(`${path}:${i + 1}: not a JSON line (${(error as Error).message}); expected one JSON object per line`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path}:${i + 1}: expected a JSON object, found ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`);
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  return out;
}

const NUMBER_FIELDS = ["epoch", "step", "trainLoss", "trainAccuracy", "valLoss", "valAccuracy", "seconds", "samplesPerSecond", "lr", "sparsity", "lambda", "zeroFraction", "gatesOpen",
  "test_accuracy", "test_loss", "params_total", "params_nonzero", "dropFraction"];

/** Files the line under its kind; old lines (no `kind`) are final when `final: true`, epoch lines when they have `epoch`. */
function addMetricsLine(run: RunLog, value: Record<string, unknown>, where: string): void {
  for (const field of NUMBER_FIELDS) {
    const v = value[field];
    // JSON has no NaN: a diverged loss is written as null, which is a missing value, not corruption.
    if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isFinite(v))) throw new Error(`${where}: "${field}" must be a number, found ${JSON.stringify(v)}`);
    if (v === null) delete value[field];
  }
  checkLayers(value.layers, where);
  const kind = value.kind;
  if (kind === "start") {
    run.start = value as StartLine;
  } else if (kind === "final" || (kind === undefined && value.final === true)) {
    const confusion = value.confusion;
    if (confusion !== undefined && !(Array.isArray(confusion) && confusion.every((r) => Array.isArray(r) && r.every((v) => typeof v === "number")))) {
      throw new Error(`${where}: "confusion" must be a matrix of counts (rows of numbers)`);
    }
    run.final = value as FinalLine;
  } else if (kind === "epoch" || (kind === undefined && value.epoch !== undefined)) {
    if (typeof value.epoch !== "number") throw new Error(`${where}: an epoch line needs "epoch" (a number)`);
    run.epochs.push(value as unknown as EpochLine);
  } else if (kind === "update") {
    if (typeof value.step !== "number") throw new Error(`${where}: an update line needs "step" (a number)`);
    if (!Array.isArray(value.layers)) throw new Error(`${where}: an update line needs "layers" (an array)`);
    run.updates.push(value as unknown as UpdateLine);
  }
  // NOTE: other kinds come from later versions of the format; readers ignore what they do not know.
}

function checkLayers(layers: unknown, where: string): void {
  if (layers === undefined) return;
  if (!Array.isArray(layers)) throw new Error(`${where}: "layers" must be an array`);
  layers.forEach((l, i) => {
    if (typeof l !== "object" || l === null || typeof (l as { name?: unknown }).name !== "string") throw new Error(`${where}: layers[${i}] needs a "name" (a string)`);
  });
}

function maskSnapshot(value: Record<string, unknown>, where: string): MaskSnapshot | null {
  if (value.kind !== "mask") return null;
  if (typeof value.phase !== "string") throw new Error(`${where}: a mask line needs "phase" (start, middle or end)`);
  checkLayers(value.layers, where);
  const layers = (value.layers ?? []) as MaskLayer[];
  for (const l of layers) {
    if (l.grid !== undefined) {
      const g = l.grid;
      if (!Number.isInteger(g.rows) || !Number.isInteger(g.cols) || !Array.isArray(g.density) || g.density.length !== g.rows * g.cols) {
        throw new Error(`${where}: layer ${l.name}: "grid" must hold rows × cols densities (rows ${g.rows}, cols ${g.cols}, ${Array.isArray(g.density) ? g.density.length : "no"} values)`);
      }
    }
    if (l.inputs !== undefined) {
      const s = l.inputs.shape;
      if (!Array.isArray(s) || s.length !== 2 || !Array.isArray(l.inputs.density) || l.inputs.density.length !== s[0] * s[1]) {
        throw new Error(`${where}: layer ${l.name}: "inputs" must hold height × width densities (shape ${JSON.stringify(s)})`);
      }
    }
  }
  return { phase: value.phase, step: value.step as number | undefined, epoch: value.epoch as number | undefined, layers };
}

/** A short label for a run: its logged name, else its folder's name. */
export function runName(run: RunLog): string {
  return run.start?.name ?? basename(run.dir);
}
