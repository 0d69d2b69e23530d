// Checkpoints: the model as PyTorch-loadable safetensors, and a sibling file with optimizer and trainer state for exact resume.
//
// <run>/<name>.safetensors       parameters and buffers under PyTorch names; a sparse weight as
//                                <name>.crow_indices / .col_indices / .values (torch CSR names),
//                                a dense masked weight with <name>_mask; recipe, model spec, step,
//                                seed and versions in __metadata__. A quantized checkpoint holds integer
//                                codes and scales instead (src/quantize/checkpoint-write.ts).
// <run>/<name>.state.safetensors optimizer buffers (optimizer.<param>.<buffer>) and, in metadata,
//                                optimizer steps and learning rates and the trainer's state.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Normalizer } from "../data/normalize.js";
import { hasSparseWeight } from "../nn/layer.js";
import { Linear } from "../nn/linear.js";
import { Conv2d } from "../nn/conv2d.js";
import { buildModel, type Model, type ModelSpec } from "../nn/presets.js";
import type { Optimizer, OptimizerState } from "../optim/optimizer.js";
import { dequantizeStoredWeights, type CheckpointQuantization } from "../quantize/checkpoint-read.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { tensor } from "../tensor/tensor.js";
import type { TrainerState } from "../train/trainer.js";
import { CHECKPOINT_FORMAT, optimizerHeaderSchema, parseMetadataJson, readCheckpointMetadata, readCount, trainerStateSchema } from "./checkpoint-metadata.js";
import { checkTensorsFitModel } from "./checkpoint-tensors.js";
import { int64ToInt32, oneLine, readSafetensors, writeSafetensors, type StoredTensor, type TensorToWrite } from "./safetensors.js";

export { CHECKPOINT_FORMAT };

/** What a checkpoint describes besides the tensors. */
export interface CheckpointInfo {
  spec: ModelSpec;
  recipe?: unknown;
  normalizer?: Normalizer;
  step: number;
  epoch: number;
  seed: number;
  /** Final or latest evaluation numbers, for `info`. */
  metrics?: Record<string, number>;
}

export interface LoadedCheckpoint extends CheckpointInfo {
  model: Model;
  path: string;
  metadata: Record<string, string>;
  /** For a quantized checkpoint: bits, granularity and scales (the model holds the dequantized weights). */
  quantization?: CheckpointQuantization;
}

/** The sibling file holding optimizer and trainer state. */
export function statePath(checkpointPath: string): string {
  return checkpointPath.replace(/\.safetensors$/, "") + ".state.safetensors";
}

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "sparsetrain") return pkg.version ?? "unknown";
    }
  }
  return "unknown";
}

/** The model's tensors under their PyTorch names, in the form the safetensors writer takes. */
export function modelTensors(model: Model): [string, TensorToWrite][] {
  const out: [string, TensorToWrite][] = [];
  for (const p of model.net.parameters()) {
    if (p.sparse) {
      const m = p.sparse;
      out.push([`${p.name}.crow_indices`, { dtype: "I64", shape: [m.rows + 1], values: Int32Array.from(m.rowPtr) }]);
      out.push([`${p.name}.col_indices`, { dtype: "I64", shape: [m.nnz], values: Int32Array.from(m.colIdx) }]);
      out.push([`${p.name}.values`, { shape: [m.nnz], values: m.values.toArray() }]);
    } else {
      out.push([p.name, { shape: p.tensor.shape, values: p.tensor.toArray() }]);
      if (p.mask) out.push([`${p.name}_mask`, { dtype: "U8", shape: p.mask.shape, values: Uint8Array.from(p.mask.data) }]);
    }
  }
  for (const b of model.net.buffers()) {
    if (b.name.endsWith("num_batches_tracked")) {
      out.push([b.name, { dtype: "I64", shape: [], values: Int32Array.from(b.tensor.data) }]);
    } else {
      out.push([b.name, { shape: b.tensor.shape, values: b.tensor.toArray() }]);
    }
  }
  return out;
}

/** Dense shapes of sparse weights (a CSR conv filter matrix is Cout × Cin·k·k; torch's weight is 4-D). */
function sparseShapes(model: Model): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const p of model.net.parameters()) if (p.sparse) shapes[p.name] = [p.sparse.rows, p.sparse.cols];
  return shapes;
}

/** The __metadata__ of a model checkpoint: format, versions, model description, position, and what `info` gives. */
export function checkpointMetadata(model: Model, info: Omit<CheckpointInfo, "spec">): Record<string, string> {
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    sparsetrain_version: packageVersion(),
    node_version: process.version,
    model: JSON.stringify(model.spec),
    step: String(info.step),
    epoch: String(info.epoch),
    seed: String(info.seed),
    sparse: JSON.stringify(sparseShapes(model)),
  };
  if (info.recipe !== undefined) metadata.recipe = JSON.stringify(info.recipe);
  if (info.normalizer !== undefined) metadata.normalizer = JSON.stringify(info.normalizer);
  if (info.metrics !== undefined) metadata.metrics = JSON.stringify(info.metrics);
  return metadata;
}

/** Writes the model checkpoint (atomically) and, if given, the optimizer and trainer state beside it. */
export function saveCheckpoint(
  path: string,
  model: Model,
  info: Omit<CheckpointInfo, "spec">,
  training?: { optimizer: Optimizer; trainer: TrainerState },
): void {
  const metadata = checkpointMetadata(model, info);
  // State first: a crash between the two writes leaves an older model with a newer state, which
  // `loadTrainingState` detects by step; the reverse order would do the same. Both are atomic.
  if (training) {
    const state = training.optimizer.getState();
    const tensors: [string, TensorToWrite][] = Object.entries(state.buffers).map(([name, values]) => [`optimizer.${name}`, { shape: [values.length], values }]);
    writeSafetensors(statePath(path), tensors, {
      format: CHECKPOINT_FORMAT,
      step: String(info.step),
      optimizer: JSON.stringify({ kind: state.kind, steps: state.steps, lrs: state.lrs }),
      trainer: JSON.stringify(training.trainer),
    });
  }
  writeSafetensors(path, modelTensors(model), metadata);
}

function take(tensors: Map<string, StoredTensor>, name: string, path: string, length?: number): StoredTensor {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`${path}: tensor "${name}" is missing`);
  if (length !== undefined && t.values.length !== length) {
    throw new Error(`${path}: tensor "${name}" has ${t.values.length} values, expected ${length}`);
  }
  tensors.delete(name);
  return t;
}

function asNumbers(t: StoredTensor, name: string, path: string): ArrayLike<number> {
  if (t.values instanceof BigInt64Array) return int64ToInt32(t.values, `${path}: ${name}`);
  return t.values;
}

/**
 * Rebuilds the model a checkpoint holds and loads its tensors. The metadata and every tensor the
 * model needs are validated first (types, shapes against the described model, finite values), so
 * nothing is allocated from sizes the file does not back. A quantized checkpoint's codes are
 * validated and dequantized (code × scale) into the float model; `quantization` describes them.
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const { tensors, metadata } = readSafetensors(path);
  const info = readCheckpointMetadata(metadata, path);
  const spec: ModelSpec = info.spec;
  // Codes become float32 weights here, so the checks and the loading below see a float checkpoint.
  const quantization = dequantizeStoredWeights(metadata, tensors, spec, path);
  checkTensorsFitModel(spec, tensors, info.sparseShapes, path);
  // Sparse layers start empty: the file holds their structure (no random draw to throw away).
  const model = buildModel(spec, { sparseStructure: "empty" });
  const remaining = new Map(tensors);
  for (const p of model.net.parameters()) {
    if (p.sparse) {
      const rows = p.sparse.rows, cols = p.sparse.cols;
      const crow = asNumbers(take(remaining, `${p.name}.crow_indices`, path, rows + 1), `${p.name}.crow_indices`, path);
      const col = asNumbers(take(remaining, `${p.name}.col_indices`, path), `${p.name}.col_indices`, path);
      const values = asNumbers(take(remaining, `${p.name}.values`, path, col.length), `${p.name}.values`, path);
      let matrix: SparseMatrix;
      try {
        matrix = SparseMatrix.fromCSR({ rows, cols, rowPtr: crow, colIdx: col, values });
      } catch (e) {
        throw new Error(`${path}: sparse weight ${p.name}: ${(e as Error).message}`);
      }
      if (!hasSparseWeight(p.layer)) throw new Error(`${path}: layer of ${p.name} cannot hold a sparse weight`);
      p.layer.setSparseWeight(matrix);
    } else {
      const stored = take(remaining, p.name, path, p.tensor.size);
      p.tensor.data.set(asNumbers(stored, p.name, path));
      const mask = remaining.get(`${p.name}_mask`);
      if (mask !== undefined) {
        remaining.delete(`${p.name}_mask`);
        if (!(p.layer instanceof Linear || (p.layer instanceof Conv2d && p.layer.weight !== null)) || mask.values.length !== p.tensor.size) {
          throw new Error(`${path}: mask ${p.name}_mask does not fit a dense linear or convolution layer of ${p.tensor.size} weights`);
        }
        p.layer.setMask(tensor(Float32Array.from(asNumbers(mask, `${p.name}_mask`, path)), p.tensor.shape));
      }
    }
  }
  for (const b of model.net.buffers()) {
    b.tensor.data.set(asNumbers(take(remaining, b.name, path, b.tensor.size), b.name, path));
  }
  if (remaining.size > 0) {
    throw new Error(`${path}: tensors [${oneLine([...remaining.keys()].join(", "))}] do not belong to the ${spec.preset} model it describes`);
  }
  return {
    model, path, metadata, spec,
    recipe: info.recipe, normalizer: info.normalizer as Normalizer | undefined, metrics: info.metrics,
    step: info.step, epoch: info.epoch, seed: info.seed,
    ...(quantization ? { quantization } : {}),
  };
}

/**
 * Reads the state file beside a checkpoint into the optimizer; returns the trainer state, which must
 * be at the checkpoint's step (and epoch, when given).
 */
export function loadTrainingState(checkpointPath: string, step: number, optimizer: Optimizer, epoch?: number): TrainerState {
  const path = statePath(checkpointPath);
  if (!existsSync(path)) throw new Error(`${path}: missing (needed to resume from ${checkpointPath})`);
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a sparsetrain state file (format "${metadata.format ?? "missing"}", expected "${CHECKPOINT_FORMAT}")`);
  }
  const stateStep = readCount(metadata, "step", path);
  if (stateStep !== step) {
    throw new Error(`${path}: state is from step ${stateStep}, but the checkpoint is from step ${step}`);
  }
  const header: Omit<OptimizerState, "buffers"> = parseMetadataJson(metadata, "optimizer", path, optimizerHeaderSchema, true);
  const trainer = parseMetadataJson(metadata, "trainer", path, trainerStateSchema, true) as TrainerState;
  if (trainer.step !== step || (epoch !== undefined && trainer.epoch !== epoch)) {
    throw new Error(`${path}: trainer state is at epoch ${trainer.epoch}, step ${trainer.step}, but the checkpoint is at epoch ${epoch ?? "?"}, step ${step}`);
  }
  const buffers: Record<string, Float32Array> = {};
  for (const [name, t] of tensors) {
    if (!name.startsWith("optimizer.") || !(t.values instanceof Float32Array)) throw new Error(`${path}: unexpected tensor "${oneLine(name)}" (${t.dtype})`);
    const bad = t.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${path}: tensor "${name}": value ${t.values[bad]} at index ${bad} is not finite`);
    buffers[name.slice("optimizer.".length)] = t.values;
  }
  try {
    optimizer.loadState({ ...header, buffers });
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return trainer;
}

/** "int8 per-row" for messages. */
function describeQuantization(q: CheckpointQuantization): string {
  return `int${q.bits} ${q.granularity}`;
}

/** Throws unless `checkpoint` holds float weights: `purpose` says what needs them and what to do instead. */
export function requireFloatWeights(checkpoint: LoadedCheckpoint, purpose: string): void {
  if (checkpoint.quantization) throw new Error(`${checkpoint.path}: a quantized (${describeQuantization(checkpoint.quantization)}) checkpoint; ${purpose}`);
}

export interface LoadWeightsOptions {
  /**
   * Accept a quantized checkpoint (its dequantized weights). Only quantization-aware training
   * should: anything else would fine-tune rounded weights as if they were the trained ones.
   */
  allowQuantized?: boolean;
}

/**
 * Copies the weights of the checkpoint at `path` into `model` (same architecture, matched by name):
 * dense into dense (with its mask, so pruned weights stay pruned); a sparse weight of the checkpoint
 * into a sparse layer (structure and values), or scattered into a dense layer. Used to start pruning
 * from a trained dense model, or fine-tuning from a pruned one.
 */
export function loadWeightsInto(model: Model, path: string, options: LoadWeightsOptions = {}): void {
  const source = loadCheckpoint(path);
  if (!options.allowQuantized) {
    requireFloatWeights(source, "model.initFrom needs float weights — add a quantize: section to fine-tune it with quantization-aware training, or start from the float checkpoint");
  }
  const from = new Map(source.model.net.parameters().map((p) => [p.name, p]));
  for (const p of model.net.parameters()) {
    const q = from.get(p.name);
    if (q === undefined) throw new Error(`${path}: has no parameter ${p.name} (it holds ${[...from.keys()].join(", ")})`);
    if (p.sparse) {
      if (!q.sparse || q.sparse.rows !== p.sparse.rows || q.sparse.cols !== p.sparse.cols || !hasSparseWeight(p.layer)) {
        throw new Error(`${path}: ${p.name} must be a ${p.sparse.rows}×${p.sparse.cols} sparse weight to start a sparse layer from it`);
      }
      p.layer.setSparseWeight(q.sparse.clone());
      continue;
    }
    const values = q.sparse ? q.sparse.toDense() : q.tensor;
    if (values.size !== p.tensor.size) {
      throw new Error(`${path}: ${p.name} has ${values.size} values, the model expects ${p.tensor.size} (shape [${p.tensor.shape}])`);
    }
    p.tensor.data.set(values.data);
    if (q.mask) {
      if (!(p.layer instanceof Linear || (p.layer instanceof Conv2d && p.layer.weight !== null))) {
        throw new Error(`${path}: ${p.name} is masked, but the model's ${p.layer.describe()} cannot hold a mask`);
      }
      p.layer.setMask(tensor(q.mask.data, p.tensor.shape));
    }
  }
  for (const b of model.net.buffers()) {
    const q = source.model.net.buffers().find((x) => x.name === b.name);
    if (q) b.tensor.data.set(q.tensor.data);
  }
}
