// `sparsetrain prune`: load a checkpoint, prune it (criterion, scope, structure or N:M), write a new checkpoint atomically and print per-layer densities.
import { loadCheckpoint, saveCheckpoint, statePath } from "../io/checkpoint.js";
import { criterionNames, needsGradient, type CriterionName } from "../sparse/criteria.js";
import { convertSparseLayers, DEFAULT_CSR_BELOW } from "../sparse/prune/convert.js";
import { readPrunable, isPrunableWeight } from "../sparse/prune/prunable.js";
import { pruneModel, structureNames, type Structure } from "../sparse/prune/pruner.js";
import { shrinkStructures } from "../sparse/prune/shrink.js";
import { parseNM } from "../sparse/selectors.js";
import { countParameters } from "../train/run.js";
import { parseNumber, samePath } from "./parse-options.js";

export interface PruneCommandOptions {
  criterion: string;
  amount?: string;
  scope: string;
  structure?: string;
  norm: string;
  nm?: string;
  exclude: string[];
  include: string[];
  minKeep?: string;
  csrBelow?: string;
  shrink: boolean;
  out: string;
  json?: boolean;
}

export function pruneCommand(path: string, options: PruneCommandOptions): void {
  if (samePath(path, options.out)) throw new Error(`--out must differ from the input checkpoint (${path}): prune never overwrites its input`);
  // The input's optimizer and trainer state belongs to it as much as its weights do.
  if (samePath(statePath(path), options.out)) {
    throw new Error(`--out ${options.out} is the state file of the input checkpoint (${statePath(path)}): prune never overwrites its input`);
  }
  if (!(criterionNames as readonly string[]).includes(options.criterion)) {
    throw new RangeError(`--criterion must be one of ${criterionNames.join(", ")}, got "${options.criterion}"`);
  }
  const criterion = options.criterion as CriterionName;
  if (needsGradient(criterion)) {
    throw new RangeError(`--criterion ${criterion} needs gradients, which a checkpoint does not hold; use magnitude or random here (gradient criteria work in recipes)`);
  }
  if (options.scope !== "layer" && options.scope !== "global") throw new RangeError(`--scope must be layer or global, got "${options.scope}"`);
  if (options.structure !== undefined && !(structureNames as string[]).includes(options.structure)) {
    throw new RangeError(`--structure must be one of ${structureNames.join(", ")}, got "${options.structure}"`);
  }
  const norm = parseNumber(options.norm, "--norm", "1 or 2");
  if (norm !== 1 && norm !== 2) throw new RangeError(`--norm must be 1 or 2, got ${options.norm}`);
  const nm = options.nm !== undefined ? parseNM(options.nm, "--nm") : undefined;
  if (nm === undefined && options.amount === undefined) throw new RangeError("--amount is required (a fraction in [0, 1]) unless --nm is given");
  if (nm !== undefined && options.amount !== undefined) throw new RangeError("--amount and --nm cannot be combined: N:M fixes the amount");
  const amount = options.amount !== undefined ? parseNumber(options.amount, "--amount", "a number in [0, 1]") : undefined;
  if (amount !== undefined && !(amount >= 0 && amount <= 1)) throw new RangeError(`--amount must be in [0, 1], got ${options.amount}`);
  const minKeep = options.minKeep !== undefined ? parseNumber(options.minKeep, "--min-keep", "an integer >= 0") : undefined;
  const csrBelow = options.csrBelow !== undefined ? parseNumber(options.csrBelow, "--csr-below", "a density in [0, 1]") : DEFAULT_CSR_BELOW;
  if (!(csrBelow >= 0 && csrBelow <= 1)) throw new RangeError(`--csr-below must be in [0, 1], got ${options.csrBelow}`);

  const checkpoint = loadCheckpoint(path);
  const { model } = checkpoint;
  const results = pruneModel(model, {
    criterion, amount, nm, scope: options.scope, structure: options.structure as Structure | undefined, norm,
    include: options.include.length > 0 ? options.include : undefined, exclude: options.exclude, minKeep,
    seed: checkpoint.seed, purpose: "cli", optionPrefix: "--",
  }, null);
  const notes: string[] = [];
  if (options.structure !== undefined && options.shrink) {
    const { results: shrunk, skipped } = shrinkStructures(model, null);
    for (const s of shrunk) notes.push(`removed ${s.removed} of ${s.removed + s.kept} units of layers.${s.layer} (and the matching inputs of layers.${s.next})`);
    if (skipped !== undefined) notes.push(`pruned structures stay as zero rows/columns: ${skipped}`);
  }
  const converted = convertSparseLayers(model, csrBelow, null);
  if (converted.length > 0) notes.push(`layers ${converted.join(", ")} stored as CSR (density <= ${csrBelow})`);

  saveCheckpoint(options.out, model, {
    recipe: checkpoint.recipe, normalizer: checkpoint.normalizer, step: checkpoint.step, epoch: checkpoint.epoch, seed: checkpoint.seed,
  });

  const layers = model.net.parameters().filter(isPrunableWeight).map((p) => {
    const w = readPrunable(p);
    const pruned = results.find((r) => r.name === p.name);
    return { name: p.name, kind: w.kind, shape: w.shape, storage: w.storage, nonzero: w.values.filter((v) => v !== 0).length, size: w.size, removed: pruned?.removed ?? 0 };
  });
  const counts = countParameters(model.net.parameters());
  const sparsity = 1 - counts.nonzero / counts.total;
  for (const l of layers) {
    process.stdout.write(`${l.name.padEnd(16)} ${l.kind.padEnd(7)} [${l.shape.join(", ")}]`.padEnd(44) + `${l.storage.padEnd(7)} density ${(100 * l.nonzero / l.size).toFixed(2).padStart(6)}%  (${l.nonzero}/${l.size})\n`);
  }
  for (const note of notes) process.stdout.write(`${note}\n`);
  process.stdout.write(`${counts.nonzero}/${counts.total} parameters non-zero (sparsity ${(100 * sparsity).toFixed(2)}%); wrote ${options.out}\n`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ checkpoint: options.out, params_total: counts.total, params_nonzero: counts.nonzero, sparsity, layers })}\n`);
  }
}
