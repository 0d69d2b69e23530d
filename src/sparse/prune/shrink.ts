// Physically removing pruned neurons, filters and channels: a layer loses its dead outputs (rows and bias) and the next layer the matching inputs.
//
// An output unit of weight layer i is dead when its weight row is all pruned (its output is then
// the constant act(bias), which is folded into the next layer's bias, so the function does not
// change) or when every input of the next weight layer j reading it is pruned (nobody uses it).
// Between i and j only stateless layers may sit (activations, dropout, pooling, flatten), so a
// unit keeps its identity: a Linear neuron, a conv filter = a channel of the next conv, or a
// block of H·W flattened inputs of the next Linear (Conv → Flatten → Linear).
import { noGrad } from "../../autograd/engine.js";
import { ActivationLayer, Dropout, Flatten } from "../../nn/activations.js";
import { Conv2d } from "../../nn/conv2d.js";
import type { Layer } from "../../nn/layer.js";
import { Linear } from "../../nn/linear.js";
import { Pool2d } from "../../nn/pool.js";
import { planModel, weightLayerShapes, type Model, type ModelSpec } from "../../nn/presets.js";
import { SparseLinear } from "../../nn/sparse-linear.js";
import type { Optimizer } from "../../optim/optimizer.js";
import { Rng } from "../../tensor/rng.js";
import { SparseMatrix } from "../../tensor/sparse-matrix.js";
import { keep, tensor, tidy } from "../../tensor/tensor.js";
import { disposeLayerTensors, placeholderDensity } from "./convert.js";

type WeightLayer = Linear | SparseLinear | Conv2d;

function isWeightLayer(layer: Layer): layer is WeightLayer {
  return layer instanceof Linear || layer instanceof SparseLinear || layer instanceof Conv2d;
}

/**
 * A weight as rows × cols (cols = inputs per output), whatever its storage: the alive entries of a
 * row in ascending column. A CSR weight is read in place (no rows×cols array: its dense twin may not
 * fit in memory); a dense weight with its mask.
 */
interface MatrixView {
  rows: number;
  cols: number;
  forEachAlive(row: number, visit: (col: number, value: number) => void): void;
}

function sparseWeightOf(layer: WeightLayer): SparseMatrix | null {
  return layer instanceof SparseLinear ? layer.weight : layer instanceof Conv2d ? layer.sparseWeight : null;
}

function matrixView(layer: WeightLayer): MatrixView {
  const m = sparseWeightOf(layer);
  if (m !== null) {
    return {
      rows: m.rows,
      cols: m.cols,
      forEachAlive(row, visit) {
        const rowPtr = m.rowPtr, colIdx = m.colIdx, values = m.values.data;
        for (let p = rowPtr[row]; p < rowPtr[row + 1]; p++) visit(colIdx[p], values[p]);
      },
    };
  }
  const { rows, cols, values, alive } = denseView(layer as Linear | Conv2d);
  return {
    rows,
    cols,
    forEachAlive(row, visit) {
      for (let c = 0, k = row * cols; c < cols; c++, k++) if (alive[k]) visit(c, values[k]);
    },
  };
}

/** A dense (possibly masked) weight's row-major values and alive flags (0 = pruned). */
function denseView(layer: Linear | Conv2d): { rows: number; cols: number; values: Float32Array; alive: Uint8Array } {
  const weight = layer.weight!;
  const rows = weight.shape[0], cols = weight.size / rows;
  const alive = layer.mask ? Uint8Array.from(layer.mask.data) : new Uint8Array(weight.size).fill(1);
  return { rows, cols, values: weight.toArray(), alive };
}

function rowIsEmpty(view: MatrixView, row: number): boolean {
  let empty = true;
  view.forEachAlive(row, () => (empty = false));
  return empty;
}

export interface ShrinkOptions {
  /**
   * Shrink only if `model.spec` can describe the result, so checkpoints rebuild it (default true).
   * Set false for models built by hand, whose spec does not matter.
   */
  requireLoadableSpec?: boolean;
}

export interface ShrinkResult {
  layer: number;
  next: number;
  removed: number;
  kept: number;
}

/** For each weight layer, the next weight layer it feeds, if only stateless layers sit between them. */
function weightPairs(model: Model): { i: number; j: number }[] {
  const layers = model.net.layers;
  const pairs: { i: number; j: number }[] = [];
  for (let i = 0; i < layers.length; i++) {
    if (!isWeightLayer(layers[i])) continue;
    for (let j = i + 1; j < layers.length; j++) {
      const l = layers[j];
      if (isWeightLayer(l)) {
        pairs.push({ i, j });
        break;
      }
      if (!(l instanceof ActivationLayer || l instanceof Dropout || l instanceof Pool2d || l instanceof Flatten)) break;
    }
  }
  return pairs;
}

/** Shape (without batch) of the activations entering each layer. */
function inputShapes(model: Model): number[][] {
  const shapes: number[][] = [];
  let shape = [...model.inputShape];
  for (const layer of model.net.layers) {
    shapes.push(shape);
    shape = layer.outputShape(shape);
  }
  return shapes;
}

/**
 * The input of layer j (flattened per example) when layer i outputs its bias alone (all weights 0):
 * the stateless layers between them applied to a constant map per output unit, in eval mode.
 */
function constantInputs(model: Model, i: number, j: number, bias: Float32Array, shapes: number[][]): Float32Array {
  const outShape = shapes[i + 1];
  const spatial = outShape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(outShape.reduce((a, b) => a * b, 1));
  for (let c = 0; c < outShape[0]; c++) data.fill(bias[c], c * spatial, (c + 1) * spatial);
  return noGrad(() => tidy(() => {
    let h = tensor(data, [1, ...outShape]);
    const ctx = { training: false, layout: "batch-major" as const, rng: new Rng(0, "shrink/constants") };
    for (let l = i + 1; l < j; l++) h = model.net.layers[l].forward(h, ctx);
    return h.toArray();
  }));
}

/**
 * Removes dead output units of every weight layer that feeds another one, and the matching inputs of
 * that next layer; updates `model.spec` so checkpoints rebuild the smaller model. If the preset
 * cannot describe the smaller widths (see `shrunkSpec`) nothing is removed and the reason is
 * returned instead: the pruned structures then stay as zero rows and columns.
 */
export function shrinkStructures(model: Model, optimizer: Optimizer | null, options: ShrinkOptions = {}): { results: ShrinkResult[]; skipped?: string } {
  // Removing inputs can leave rows of the same layer all pruned, so repeat until nothing changes.
  const results: ShrinkResult[] = [];
  for (;;) {
    const round = shrinkOnce(model, optimizer, options.requireLoadableSpec ?? true);
    results.push(...round.results);
    if (round.skipped !== undefined || round.results.length === 0) return { results, skipped: round.skipped };
  }
}

function shrinkOnce(model: Model, optimizer: Optimizer | null, requireLoadableSpec: boolean): { results: ShrinkResult[]; skipped?: string } {
  const shapes = inputShapes(model);
  const plans = weightPairs(model).map(({ i, j }) => {
    const a = model.net.layers[i] as WeightLayer, b = model.net.layers[j] as WeightLayer;
    const va = matrixView(a), vb = matrixView(b);
    const units = va.rows;
    const group = b instanceof Conv2d ? b.kernel * b.kernel : vb.cols / units;
    if (!Number.isInteger(group) || vb.cols !== units * group) throw new Error(`shrink: layers.${j} has ${vb.cols} inputs per output, not a multiple of the ${units} outputs of layers.${i}`);
    const rowDead = new Uint8Array(units), inputDead = new Uint8Array(units).fill(1);
    for (let u = 0; u < units; u++) rowDead[u] = rowIsEmpty(va, u) ? 1 : 0;
    for (let r = 0; r < vb.rows; r++) vb.forEachAlive(r, (col) => (inputDead[Math.floor(col / group)] = 0));
    const keepUnits = Int32Array.from({ length: units }, (_, u) => u).filter((u) => !rowDead[u] && !inputDead[u]);
    return { i, j, a, b, vb, units, group, rowDead, inputDead, keepUnits };
  }).filter((p) => p.keepUnits.length < p.units);
  if (plans.length === 0) return { results: [] };

  const widths = new Map(plans.map((p) => [p.i, p.keepUnits.length]));
  const planned = shrunkSpec(model, widths);
  if (typeof planned === "string" && requireLoadableSpec) return { results: [], skipped: planned };
  // Without a loadable spec (a model built by hand, not from a preset) the spec is left as it was.
  const spec = typeof planned === "string" ? model.spec : planned;

  // Fold the constant outputs of rows that are all pruned into the next layer's bias (exact:
  // the next layer sees act(b_u) on every input of unit u, whatever the example).
  for (const p of plans) {
    const bias = p.a.bias?.toArray() ?? new Float32Array(p.units);
    const needsFold = Array.from(p.rowDead).some((d, u) => d && !p.inputDead[u] && bias[u] !== 0);
    if (!needsFold || !p.b.bias) continue;
    if (p.b instanceof Conv2d && p.b.padding > 0) throw new Error(`shrink: cannot fold the constant outputs of layers.${p.i} into the padded convolution layers.${p.j}`);
    const constants = constantInputs(model, p.i, p.j, bias, shapes);
    const folds = (u: number) => p.rowDead[u] === 1 && p.inputDead[u] === 0;
    // A conv input channel is a constant map: every kernel tap sees the same value.
    const valueAt = (col: number) => (p.b instanceof Conv2d ? constants[Math.floor(col / p.group) * (constants.length / p.units)] : constants[col]);
    const nextBias = p.b.bias.data;
    for (let r = 0; r < p.vb.rows; r++) {
      // Per unit, the sum over its inputs (in column order), then added to the bias unit by unit.
      let unit = -1, sum = 0;
      p.vb.forEachAlive(r, (col, value) => {
        const u = Math.floor(col / p.group);
        if (u !== unit) {
          if (unit >= 0 && folds(unit)) nextBias[r] += sum;
          unit = u;
          sum = 0;
        }
        if (folds(u)) sum += value * valueAt(col);
      });
      if (unit >= 0 && folds(unit)) nextBias[r] += sum;
    }
  }

  const results: ShrinkResult[] = [];
  for (const p of plans) {
    const current = model.net.layers[p.i] as WeightLayer;
    model.net.layers[p.i] = rebuild(current, p.keepUnits, null, 1, optimizer);
    const next = model.net.layers[p.j] as WeightLayer;
    model.net.layers[p.j] = rebuild(next, null, p.keepUnits, p.group, optimizer);
    results.push({ layer: p.i, next: p.j, removed: p.units - p.keepUnits.length, kept: p.keepUnits.length });
  }
  for (const [index, layer] of model.net.layers.entries()) {
    if (layer instanceof SparseLinear) spec.sparse = { ...spec.sparse, [String(index)]: placeholderDensity(layer.weight) };
    if (layer instanceof Conv2d && layer.sparseWeight) spec.sparse = { ...spec.sparse, [String(index)]: placeholderDensity(layer.sparseWeight) };
  }
  model.spec = spec;
  model.net.outputShape(model.inputShape);
  return { results };
}

/**
 * The spec of the model with the given output widths per weight layer index, or a reason why the
 * preset cannot describe it. MLP-like presets become "mlp" with their hidden widths; other presets
 * are given `widths` (the output width of every weight layer but the last) and accepted only if
 * their plan then has exactly the shrunk weight shapes.
 */
export function shrunkSpec(model: Model, widths: Map<number, number>): ModelSpec | string {
  const layers = model.net.layers;
  const weightIndices = layers.flatMap((l, i) => (isWeightLayer(l) ? [i] : []));
  const outWidth = (i: number) => widths.get(i) ?? outputsOf(layers[i] as WeightLayer);
  const hidden = weightIndices.slice(0, -1).map(outWidth);
  const base = model.spec;
  const spec: ModelSpec = base.preset === "lenet-300-100" || base.preset === "mlp"
    ? { ...base, preset: "mlp", widths: hidden }
    : { ...base, widths: hidden };
  let planned: number[][];
  try {
    planned = weightLayerShapes(planModel(spec)).map((w) => w.shape);
  } catch (e) {
    return `the ${base.preset} preset cannot describe widths [${hidden}]: ${(e as Error).message}`;
  }
  const expected = weightIndices.map((i, k) => {
    const layer = layers[i] as WeightLayer;
    const out = outWidth(i);
    const inputs = k === 0 ? inputsOf(layer) : inputsOf(layer) / outputsOf(layers[weightIndices[k - 1]] as WeightLayer) * outWidth(weightIndices[k - 1]);
    return layer instanceof Conv2d ? [out, inputs, layer.kernel, layer.kernel] : [out, inputs];
  });
  if (JSON.stringify(planned) !== JSON.stringify(expected)) {
    return `the ${base.preset} preset has fixed widths, so a checkpoint could not rebuild the shrunk model (it would need weight shapes ${JSON.stringify(expected)})`;
  }
  return spec;
}

function outputsOf(layer: WeightLayer): number {
  return layer instanceof Conv2d ? layer.outChannels : layer.outFeatures;
}

function inputsOf(layer: WeightLayer): number {
  return layer instanceof Conv2d ? layer.inChannels : layer.inFeatures;
}

/**
 * A copy of `layer` keeping the output rows `keepRows` (all if null) and the input groups
 * `keepInputs` (all if null; a group is `group` consecutive columns). Values, masks, CSR structure,
 * bias and the optimizer state of kept entries carry over; the old layer is disposed.
 */
function rebuild(layer: WeightLayer, keepRows: Int32Array | null, keepInputs: Int32Array | null, group: number, optimizer: Optimizer | null): WeightLayer {
  const view = matrixView(layer);
  const rows = keepRows ?? Int32Array.from({ length: view.rows }, (_, r) => r);
  // A conv input channel is always kernel² columns; a Linear input group is `group` columns.
  if (layer instanceof Conv2d) group = layer.kernel * layer.kernel;
  const inputGroups = view.cols / group;
  const groups = keepInputs ?? Int32Array.from({ length: inputGroups }, (_, g) => g);
  const cols = Int32Array.from({ length: groups.length * group }, (_, c) => groups[Math.floor(c / group)] * group + (c % group));
  const newRows = rows.length, newCols = cols.length;
  const rng = new Rng(0, "shrink/placeholder");
  const withBias = layer.bias !== null;
  const oldWeight = layer instanceof SparseLinear ? layer.weight.values : layer instanceof Conv2d && layer.sparseWeight ? layer.sparseWeight.values : layer.weight!;
  let next: WeightLayer;
  let source: Int32Array;
  const sparse = layer instanceof SparseLinear || (layer instanceof Conv2d && layer.sparseWeight !== null);
  if (sparse) {
    const old = layer instanceof SparseLinear ? layer.weight : layer.sparseWeight!;
    const colMap = new Int32Array(view.cols).fill(-1);
    cols.forEach((c, k) => (colMap[c] = k));
    const oldRowPtr = old.rowPtr, oldColIdx = old.colIdx;
    const rowPtr = new Int32Array(newRows + 1);
    let kept = 0;
    rows.forEach((r, i) => {
      for (let p = oldRowPtr[r]; p < oldRowPtr[r + 1]; p++) if (colMap[oldColIdx[p]] >= 0) kept++;
      rowPtr[i + 1] = kept;
    });
    source = new Int32Array(kept);
    const colIdx = new Int32Array(kept), values = new Float32Array(kept), oldValues = old.values.data;
    let k = 0;
    for (const r of rows) {
      for (let p = oldRowPtr[r]; p < oldRowPtr[r + 1]; p++) {
        if (colMap[oldColIdx[p]] < 0) continue;
        colIdx[k] = colMap[oldColIdx[p]];
        values[k] = oldValues[p];
        source[k++] = p;
      }
    }
    const matrix = SparseMatrix.fromCSR({ rows: newRows, cols: newCols, rowPtr, colIdx, values });
    if (layer instanceof SparseLinear) {
      next = new SparseLinear(matrix, { bias: withBias, rng });
    } else {
      next = new Conv2d(groups.length, newRows, { kernel: layer.kernel, stride: layer.stride, padding: layer.padding, bias: withBias, density: placeholderDensity(matrix), rng });
      next.setSparseWeight(matrix);
    }
  } else {
    const dense = denseView(layer as Linear | Conv2d);
    source = new Int32Array(newRows * newCols);
    rows.forEach((r, i) => cols.forEach((c, k) => (source[i * newCols + k] = r * view.cols + c)));
    next = layer instanceof Linear
      ? new Linear(newCols, newRows, { bias: withBias, rng })
      : new Conv2d(groups.length, newRows, { kernel: (layer as Conv2d).kernel, stride: (layer as Conv2d).stride, padding: (layer as Conv2d).padding, bias: withBias, rng });
    const w = next.weight!.data;
    for (let k = 0; k < source.length; k++) w[k] = dense.values[source[k]];
    // A mask with nothing left to mask (the pruned structures are gone) is dropped.
    if (layer.mask && source.some((s) => dense.alive[s] === 0)) {
      const mask = keep(tensor(Float32Array.from(source, (s) => dense.alive[s]), next.weight!.shape));
      (next as Linear | Conv2d).setMask(mask);
    }
  }
  const newWeight = next instanceof SparseLinear ? next.weight.values : next instanceof Conv2d && next.sparseWeight ? next.sparseWeight.values : next.weight!;
  newWeight.name = oldWeight.name;
  if (layer.bias && next.bias) {
    const b = layer.bias.data, nb = next.bias.data;
    rows.forEach((r, i) => (nb[i] = b[r]));
    next.bias.name = layer.bias.name;
  }
  if (optimizer) {
    optimizer.remapParameter(oldWeight, newWeight, source);
    if (layer.bias && next.bias) optimizer.remapParameter(layer.bias, next.bias, rows);
  }
  disposeLayerTensors(layer);
  return next;
}
