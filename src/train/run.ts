// Runs a whole recipe: prepare data, build model and optimizer, train with checkpoints and a metrics log, test, summarize.
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { prepareData } from "../data/prepare.js";
import { teacherTargets } from "../distill/teacher.js";
import { removeOrphanedTemporaries } from "../io/atomic-write.js";
import { loadCheckpoint, loadTrainingState, loadWeightsInto, requireFloatWeights, saveCheckpoint } from "../io/checkpoint.js";
import type { Recipe } from "../recipe/schema.js";
import { buildModel, planModel, weightLayerShapes } from "../nn/presets.js";
import { FakeQuantizer } from "../quantize/qat.js";
import { checkpointSparseLayers } from "../quantize/qat-init.js";
import type { SparsityContext } from "../sparse/method.js";
import { resolveSparsity } from "../sparse/registry.js";
import { modelSpecFromRecipe, optimizerFromRecipe, scheduleFromRecipe, totalSteps } from "./from-recipe.js";
import type { EpochSummary, HookContext, TrainerHooks } from "./hooks.js";
import type { Evaluation } from "./evaluate.js";
import { weightLayerStats, weightSparsity } from "../nn/layer-stats.js";
import { maskSnapshot } from "./mask-snapshot.js";
import { RunLog } from "./run-log.js";
import { Trainer } from "./trainer.js";

export interface RunOptions {
  /** Overrides recipe.output.runDir. */
  runDir?: string;
  /** Overrides the data folder of an image dataset. */
  dataDir?: string;
  /** Continue from this checkpoint (its .state.safetensors must sit beside it). */
  resume?: string;
  hooks?: TrainerHooks[];
  onStep?: (info: { epoch: number; stepInEpoch: number; stepsPerEpoch: number; step: number; loss: number }) => void;
  onEpochStart?: (epoch: number, totalEpochs: number | null, stepsPerEpoch: number) => void;
  onEpochEnd?: (summary: EpochSummary) => void;
  log?: (line: string) => void;
}

/** The machine-readable result of a run (the CLI prints it as the last line with --json). */
export interface RunSummary {
  name: string;
  test_accuracy: number;
  test_loss: number;
  params_total: number;
  params_nonzero: number;
  sparsity: number;
  epochs: number;
  steps: number;
  seconds: number;
  seconds_per_epoch: number;
  checkpoint: string;
  run_dir: string;
  confusion: number[][];
}

/** Parameter counts as a dense twin would have them, and how many are non-zero. */
export function countParameters(parameters: { tensor: { data: Float32Array; size: number }; sparse?: { rows: number; cols: number } }[]): { total: number; nonzero: number } {
  let total = 0, nonzero = 0;
  for (const p of parameters) {
    total += p.sparse ? p.sparse.rows * p.sparse.cols : p.tensor.size;
    const d = p.tensor.data;
    for (let i = 0; i < d.length; i++) if (d[i] !== 0) nonzero++;
  }
  return { total, nonzero };
}

/** Examples trained by steps [from, to): every batch is full except an epoch's short last one (without dropLast). */
function examplesInSteps(from: number, to: number, stepsPerEpoch: number, batchSize: number, examples: number): number {
  let count = 0;
  for (let t = from; t < to; t++) count += Math.min(batchSize, examples - (t % stepsPerEpoch) * batchSize);
  return count;
}

export function runRecipe(recipe: Recipe, recipeName: string, options: RunOptions = {}): RunSummary {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const name = recipe.name ?? basename(recipeName).replace(/\.ya?ml$/, "");
  const runDir = options.runDir ?? recipe.output.runDir ?? join("runs", name);
  mkdirSync(runDir, { recursive: true });
  const orphans = removeOrphanedTemporaries(runDir);
  if (orphans.length > 0) log(`removed ${orphans.length} temporary file(s) an interrupted write left in ${runDir}: ${orphans.join(", ")}`);

  const dataOptions = { ...recipe.data, ...(options.dataDir ? { dataDir: options.dataDir } : {}) };
  const data = prepareData(dataOptions, recipe.seed);
  log(`data: ${data.train.length} train, ${data.validation.length} validation, ${data.test.length} test examples of shape [${data.train.featureShape}]`);
  const distill = recipe.distill === undefined ? undefined : teacherTargets(recipe.distill, data, log);

  const stepsPerEpoch = recipe.data.dropLast ? Math.floor(data.train.length / recipe.data.batchSize) : Math.ceil(data.train.length / recipe.data.batchSize);
  const total = totalSteps(recipe, data.train);
  const sparsity = resolveSparsity(recipe.sparsity as { method: string } | undefined);
  // The run log is opened once the model and trainer exist; methods record only while training.
  let openedLog: RunLog | undefined;
  const context: SparsityContext = {
    seed: recipe.seed, train: data.train, stepsPerEpoch, totalSteps: total, batchSize: recipe.data.batchSize, runDir, resumeFrom: options.resume, log,
    record: (update) => openedLog?.update(update),
  };

  const resumed = options.resume ? loadCheckpoint(options.resume) : null;
  if (resumed) requireFloatWeights(resumed, "--resume needs the float checkpoint of a run (with its state file); resume from that, or fine-tune the quantized one with model.initFrom and a quantize: section");
  let model = resumed?.model;
  if (model === undefined) {
    const spec = modelSpecFromRecipe(recipe.model, recipe.seed, data.train.featureShape, data.train.classCount);
    if (sparsity?.method.layerDensities) {
      const densities = sparsity.method.layerDensities(sparsity.config, weightLayerShapes(planModel(spec)), context);
      spec.sparse = { ...spec.sparse, ...densities };
    }
    // Quantization-aware fine-tuning without a sparsity method keeps the checkpoint's CSR layers and masks.
    const kept = recipe.quantize !== undefined && sparsity === null && recipe.model.initFrom !== undefined ? checkpointSparseLayers(recipe.model.initFrom) : null;
    if (kept) spec.sparse = { ...kept, ...spec.sparse };
    // Starting from a checkpoint, sparse layers take its structure: drawing one first would be wasted.
    model = buildModel(spec, { sparseStructure: recipe.model.initFrom !== undefined ? "empty" : "random" });
    if (recipe.model.initFrom !== undefined) {
      // A quantized checkpoint holds float values on its grid: fine to fine-tune with quantize:, refused otherwise.
      loadWeightsInto(model, recipe.model.initFrom, { allowQuantized: recipe.quantize !== undefined });
      log(`model: weights from ${recipe.model.initFrom}`);
    }
    if (kept) log(`quantize: the structure of ${recipe.model.initFrom} is kept (${Object.keys(kept).length} CSR layer(s), ${model.net.parameters().filter((p) => p.mask).length} mask(s) fixed)`);
    sparsity?.method.prepareModel?.(sparsity.config, model, context);
  }
  const optimizer = optimizerFromRecipe(recipe.optimizer, model.net.parameters());
  const quantizer = recipe.quantize ? new FakeQuantizer(recipe.quantize) : undefined;
  const hooks = [...(options.hooks ?? []), ...(sparsity?.method.hooks?.(sparsity.config, model, optimizer, context) ?? [])];
  const trainer = new Trainer({
    model, optimizer, train: data.train,
    validation: data.validation.length > 0 ? data.validation : undefined,
    batchSize: recipe.data.batchSize,
    shuffle: recipe.data.shuffle,
    dropLast: recipe.data.dropLast,
    epochs: recipe.train.epochs ?? Math.ceil(total / stepsPerEpoch),
    steps: recipe.train.steps,
    seed: recipe.seed,
    schedule: scheduleFromRecipe(recipe.schedule, total, stepsPerEpoch),
    gradClipNorm: recipe.optimizer.gradClip,
    weightClip: recipe.optimizer.weightClip,
    earlyStopping: recipe.train.earlyStopping,
    evalEvery: recipe.train.evalEvery,
    threads: recipe.train.threads,
    labelSmoothing: recipe.train.labelSmoothing,
    distill,
    hooks,
    weightSwap: quantizer,
    onStep: options.onStep,
    onEpochStart: options.onEpochStart,
  });
  if (resumed) {
    trainer.setState(loadTrainingState(resumed.path, resumed.step, optimizer, resumed.epoch));
    log(`resumed from ${resumed.path} at epoch ${trainer.epoch}, step ${trainer.step}`);
  }
  log(`model ${model.spec.preset}:\n${model.net.summary()}`);
  if (quantizer) {
    const never = quantizer.options.startEpoch >= trainer.options.epochs ? ` (no step trains quantized: the run has ${trainer.options.epochs} epochs)` : "";
    log(`quantize: ${quantizer.describe(model.net.parameters())}${never}; the final weights are quantized`);
  }

  const epochs = trainer.options.epochs;
  const runLog = new RunLog(runDir, resumed ? resumed.step : null);
  openedLog = runLog;
  runLog.start({
    name, step: trainer.step, ...(resumed ? { resumed: resumed.path } : {}), method: sparsity?.config.method ?? null,
    dataset: recipe.data.dataset, inputShape: [...data.train.featureShape], classes: data.train.classCount, trainExamples: data.train.length,
    stepsPerEpoch, totalSteps: total, epochs, threads: recipe.train.threads ?? 1, recipe, layers: weightLayerStats(model),
  });
  if (resumed === null) runLog.mask(maskSnapshot(model, "start", 0, 0));
  const middleEpoch = Math.ceil(epochs / 2);
  let checkpoint = "";
  const save = (file: string, metrics?: Record<string, number>) => {
    const path = join(runDir, file);
    saveCheckpoint(path, model, { recipe, normalizer: data.normalizer, step: trainer.step, epoch: trainer.epoch, seed: recipe.seed, metrics },
      { optimizer, trainer: trainer.getState() });
    checkpoint = path;
  };
  const epochSeconds: number[] = [];
  let epochFirstStep = trainer.step;
  trainer.options.onEpochEnd = (s) => {
    epochSeconds.push(s.seconds);
    const examples = examplesInSteps(epochFirstStep, s.step, stepsPerEpoch, recipe.data.batchSize, data.train.length);
    epochFirstStep = s.step;
    const layers = weightLayerStats(model);
    const hookContext: HookContext = { model, parameters: model.net.parameters(), optimizer, step: trainer.step, epoch: trainer.epoch };
    const methodMetrics = Object.assign({}, ...hooks.map((h) => h.epochMetrics?.(hookContext, s) ?? {})) as Record<string, number>;
    runLog.epoch(s, { samplesPerSecond: s.seconds > 0 ? examples / s.seconds : 0, sparsity: weightSparsity(layers), layers, methodMetrics });
    if (s.epoch === middleEpoch && s.step === s.epoch * stepsPerEpoch) runLog.mask(maskSnapshot(model, "middle", s.step, s.epoch));
    options.onEpochEnd?.(s);
    const every = recipe.output.checkpointEvery;
    if (every > 0 && s.epoch % every === 0) save(`epoch-${s.epoch}.safetensors`);
  };
  trainer.fit();
  if (sparsity?.method.finish) {
    sparsity.method.finish(sparsity.config, model, context);
    log(`${sparsity.config.method}: finished; model now:\n${model.net.summary()}`);
  }

  if (quantizer) {
    // The final model is the quantized one: test accuracy and final.safetensors are on the grid.
    const q = quantizer.quantizeInPlace(model.net.parameters());
    log(`quantize: final weights on the int${quantizer.options.bits} grid (${q.entries} stored entries in ${q.weights} weights; ${q.roundedToZero} rounded to zero, kept in the structure)`);
  }
  const test: Evaluation = trainer.evaluate(data.test);
  const counts = countParameters(model.net.parameters());
  const metrics = { test_accuracy: test.accuracy, test_loss: test.loss };
  save("final.safetensors", metrics);
  runLog.mask(maskSnapshot(model, "end", trainer.step, trainer.epoch));
  const sparsityOverall = 1 - counts.nonzero / counts.total;
  const seconds = (performance.now() - started) / 1000;
  runLog.final({
    step: trainer.step, ...metrics, confusion: test.confusion, params_total: counts.total, params_nonzero: counts.nonzero,
    sparsity: sparsityOverall, seconds, layers: weightLayerStats(model),
  });
  return {
    name,
    ...metrics,
    params_total: counts.total,
    params_nonzero: counts.nonzero,
    sparsity: sparsityOverall,
    // Epochs trained, fractional when `train.steps` ends a run mid-epoch.
    epochs: Math.round((trainer.step / stepsPerEpoch) * 1000) / 1000,
    steps: trainer.step,
    seconds,
    seconds_per_epoch: epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : 0,
    checkpoint,
    run_dir: runDir,
    confusion: test.confusion,
  };
}
