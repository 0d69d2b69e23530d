// Shared by the prune recipe tests: tiny-MNIST recipes, a hook that checks mask invariants at every step and records alive counts, and a reader of stored weights.
import assert from "node:assert/strict";
import { readSafetensors } from "../../src/io/safetensors.js";
import type { NamedParameter } from "../../src/nn/sequential.js";
import { validateRecipe } from "../../src/recipe/load.js";
import type { HookContext, TrainerHooks } from "../../src/train/hooks.js";

/** 600 MNIST examples, 10% for validation: 540 train, 11 batches of 50 per epoch. */
export const STEPS_PER_EPOCH = 11;

export const recipe = (sparsity: object | undefined, overrides: object = {}) => validateRecipe({
  name: "prune-test",
  seed: 1,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 600, test: 200 }, batchSize: 50 },
  model: { preset: "mlp", widths: [32] },
  optimizer: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  train: { epochs: 3 },
  output: { checkpointEvery: 1 },
  ...(sparsity ? { sparsity } : {}),
  ...overrides,
});

/** Python's round (half to even), as torch rounds `amount · n`. Written out here, not imported, so the tests check the library's. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x), diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Alive entries a weight of `size` entries keeps at a target sparsity (torch's count of pruned ones). */
export const keptAt = (sparsity: number, size: number) => size - roundHalfEven(sparsity * size);

/** What a prunable weight of the live model holds: entries, alive entries (mask or CSR), non-zeros, and a fingerprint of where the alive ones are. */
export interface LiveWeight {
  storage: "dense" | "masked" | "csr";
  size: number;
  alive: number;
  nonzero: number;
  /** Σ (position + 1)² over alive positions: changes when the mask or structure changes. */
  fingerprint: number;
}

/** The alive positions (dense row-major) and values of a weight, whatever its storage; checks the invariants of its mask. */
export function readWeight(p: NamedParameter): { storage: LiveWeight["storage"]; size: number; positions: number[]; values: number[] } {
  if (p.sparse) {
    const m = p.sparse, v = m.values.data;
    const positions: number[] = [], values: number[] = [];
    for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) {
      positions.push(r * m.cols + m.colIdx[k]);
      values.push(v[k]);
    }
    return { storage: "csr", size: m.rows * m.cols, positions, values };
  }
  const w = p.tensor.data;
  const m = p.mask?.data;
  const positions: number[] = [], values: number[] = [];
  for (let i = 0; i < w.length; i++) {
    if (m) {
      assert.ok(m[i] === 0 || m[i] === 1, `${p.name}: mask is ${m[i]} at ${i}`);
      if (m[i] === 0) {
        assert.equal(w[i], 0, `${p.name}[${i}] is pruned but ${w[i]}`);
        continue;
      }
    }
    positions.push(i);
    values.push(w[i]);
  }
  return { storage: m ? "masked" : "dense", size: w.length, positions, values };
}

const isWeight = (p: NamedParameter) => p.name.endsWith(".weight");

export function liveWeights(parameters: NamedParameter[]): Map<string, LiveWeight> {
  const out = new Map<string, LiveWeight>();
  for (const p of parameters.filter(isWeight)) {
    const w = readWeight(p);
    const nonzero = w.values.filter((v) => v !== 0).length;
    // A mask agrees with the stored non-zeros: every alive entry (mask 1 or stored in CSR) is non-zero.
    if (w.storage !== "dense") assert.equal(nonzero, w.positions.length, `${p.name}: ${w.positions.length - nonzero} alive entries are exactly 0`);
    out.set(p.name, { storage: w.storage, size: w.size, alive: w.positions.length, nonzero, fingerprint: w.positions.reduce((s, q) => s + (q + 1) ** 2, 0) });
  }
  return out;
}

/**
 * A hook, run before the sparsity method's hooks, that checks the weights' invariants before and
 * after every optimizer step and records, at every step after the method's `beforeStep` (where a
 * magnitude pruning event happens) and before the optimizer moves anything, the live weights.
 * `onEvent` sees the context there too.
 */
export function watchPruning(onPrepared?: (ctx: HookContext, weights: Map<string, LiveWeight>) => void) {
  const history: { step: number; weights: Map<string, LiveWeight> }[] = [];
  const hook: TrainerHooks = {
    name: "watch-pruning",
    beforeStep: (ctx) => void liveWeights(ctx.parameters),
    afterBackward(ctx) {
      const weights = liveWeights(ctx.parameters);
      history.push({ step: ctx.step, weights });
      onPrepared?.(ctx, weights);
    },
    afterStep: (ctx) => void liveWeights(ctx.parameters),
  };
  return { hook, history };
}

/**
 * Checks the recorded alive counts against `expected(step, name, size)` (alive entries after that
 * step's pruning) at every step, and that the mask or structure only changes at `events`.
 */
export function assertCountsFollow(history: { step: number; weights: Map<string, LiveWeight> }[], events: number[], expected: (step: number, name: string, size: number) => number): void {
  assert.ok(history.length > 0);
  history.forEach(({ step, weights }, i) => {
    for (const [name, w] of weights) {
      assert.equal(w.alive, expected(step, name, w.size), `${name} at step ${step}: ${w.alive} of ${w.size} alive`);
      if (w.storage !== "dense") assert.equal(w.nonzero, w.alive);
      if (i > 0 && !events.includes(step)) {
        assert.equal(w.fingerprint, history[i - 1].weights.get(name)!.fingerprint, `${name}: the mask changed at step ${step}, which is no pruning event`);
      }
    }
  });
}

export interface StoredWeight {
  storage: "dense" | "masked" | "csr";
  shape: number[];
  /** Dense row-major values (zeros where CSR stores nothing). */
  dense: Float32Array;
  /** Number of alive entries: mask ones, CSR entries, or every entry of a dense weight. */
  alive: number;
}

/** Every weight of a checkpoint, read from the file: CSR under torch's names, masks as `<name>_mask`. */
export function storedWeights(path: string): Map<string, StoredWeight> {
  const { tensors, metadata } = readSafetensors(path);
  const sparseShapes = JSON.parse(metadata.sparse) as Record<string, [number, number]>;
  const out = new Map<string, StoredWeight>();
  for (const [name, t] of tensors) {
    if (name.endsWith(".weight")) {
      const mask = tensors.get(`${name}_mask`);
      const dense = Float32Array.from(t.values as Float32Array);
      let alive = dense.length;
      if (mask) {
        const m = mask.values as Uint8Array;
        alive = m.reduce((s, v) => s + v, 0);
        m.forEach((v, i) => {
          assert.ok(v === 0 || v === 1, `${name}_mask is ${v} at ${i}`);
          assert.equal(v, dense[i] !== 0 ? 1 : 0, `${name}[${i}] = ${dense[i]} but its mask is ${v}`);
        });
      }
      out.set(name, { storage: mask ? "masked" : "dense", shape: t.shape, dense, alive });
    } else if (name.endsWith(".weight.values")) {
      const base = name.slice(0, -".values".length);
      const [rows, cols] = sparseShapes[base];
      const rowPtr = Array.from(tensors.get(`${base}.crow_indices`)!.values as BigInt64Array, Number);
      const colIdx = Array.from(tensors.get(`${base}.col_indices`)!.values as BigInt64Array, Number);
      const values = t.values as Float32Array;
      assert.equal(rowPtr[rows], values.length);
      const dense = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) dense[r * cols + colIdx[k]] = values[k];
      assert.ok(values.every((v) => v !== 0), `${base} stores an exact zero`);
      out.set(base, { storage: "csr", shape: [rows, cols], dense, alive: values.length });
    }
  }
  return out;
}
