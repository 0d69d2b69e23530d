// Regularizers of weights and λ schedules: soft-thresholding, L1 subgradient and group lasso against hand values and finite differences, and their trainer hooks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel } from "../../src/nn/presets.js";
import { Sequential, type NamedParameter } from "../../src/nn/sequential.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { Sgd } from "../../src/optim/sgd.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { groupSoftThreshold } from "../../src/sparse/regularize/group-lasso.js";
import { regularizerHooks } from "../../src/sparse/regularize/hooks.js";
import { addL1Subgradient, softThreshold } from "../../src/sparse/regularize/l1.js";
import { constantLambda, lambdaScheduleFrom, linearRampLambda, stepUpLambda } from "../../src/sparse/regularize/lambda-schedules.js";
import { groupLasso, l1Penalty, proximalL1 } from "../../src/sparse/regularize/regularizers.js";
import { l1Schema } from "../../src/sparse/regularize/schema.js";
import type { GroupStructure } from "../../src/sparse/regularize/weight-groups.js";
import { Rng } from "../../src/tensor/rng.js";
import { SparseMatrix } from "../../src/tensor/sparse-matrix.js";
import { keep, tensor } from "../../src/tensor/tensor.js";

const randomValues = (n: number, seed: number, scale = 1) => {
  const rng = new Rng(seed, "test/values");
  return Float32Array.from({ length: n }, () => scale * (2 * rng.uniform() - 1));
};

/** The weight parameter of a one-layer Sequential (named layers.0.weight). */
function weightOf(layer: Linear | Conv2d | SparseLinear): NamedParameter {
  return new Sequential([layer]).parameters().find((p) => p.name === "layers.0.weight")!;
}

function setGradient(param: NamedParameter, values: ArrayLike<number>): void {
  param.tensor.grad?.dispose();
  param.tensor.grad = keep(tensor(values, param.tensor.shape));
}

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("soft-thresholding equals sign(w)·max(|w| − t, 0) on hand values, with exact zeros", () => {
  // Dyadic values: every result is exact in float32.
  const w = Float32Array.from([0.75, -0.75, 0.25, -0.25, 0.125, -0.125, 0, 1.5, -3]);
  const zeros = softThreshold(w, 0.25);
  assert.deepEqual(Array.from(w), [0.5, -0.5, 0, 0, 0, 0, 0, 1.25, -2.75]);
  assert.equal(zeros, 5);
  for (const v of w) assert.ok(!Object.is(v, -0), "a zero is +0, not −0");
  assert.throws(() => softThreshold(w, -1), /threshold must be >= 0, got -1/);
});

test("soft-thresholding of random weights: float64 reference, never a sign flip, never larger", () => {
  const before = randomValues(1000, 1);
  const after = Float32Array.from(before);
  const t = 0.3;
  const zeros = softThreshold(after, t);
  let expectedZeros = 0;
  for (let i = 0; i < before.length; i++) {
    const reference = Math.fround(Math.sign(before[i]) * Math.max(Math.abs(before[i]) - t, 0)) + 0; // + 0: zeros are +0
    assert.equal(after[i], reference, `entry ${i}: ${before[i]} → ${after[i]}, expected ${reference}`);
    assert.ok(after[i] * before[i] >= 0, `sign flipped at ${i}`);
    assert.ok(Math.abs(after[i]) <= Math.abs(before[i]));
    if (reference === 0) expectedZeros++;
  }
  assert.equal(zeros, expectedZeros);
  assert.ok(expectedZeros > 200 && expectedZeros < 400, `about 30% of U(−1, 1) lies within 0.3 of 0, got ${expectedZeros}`);
});

test("L1 subgradient adds λ·sign(w) to the gradient, 0 at w = 0", () => {
  const w = Float32Array.from([0.5, -0.25, 0, 3, -1e-30, 0]);
  const g = Float32Array.from([0.125, 0.125, 0.125, -1, 0, -0.5]);
  addL1Subgradient(w, g, 0.5);
  assert.deepEqual(Array.from(g), [0.625, -0.375, 0.125, -0.5, -0.5, -0.5]);
  assert.throws(() => addL1Subgradient(w, new Float32Array(2), 1), /6 weights but 2 gradients/);

  // Through the regularizer object, on a layer's weight.
  const param = weightOf(new Linear(4, 3, { rng: new Rng(2) }));
  const values = param.tensor.toArray();
  values[0] = 0;
  param.tensor.data.set(values);
  setGradient(param, new Float32Array(12).fill(1));
  l1Penalty().addGradient!(param, 0.125);
  param.tensor.grad!.toArray().forEach((v, i) => assert.equal(v, 1 + 0.125 * Math.sign(values[i]), `entry ${i}`));
  near(l1Penalty().penalty(param), values.reduce((s, v) => s + Math.abs(v), 0), 1e-5, "‖w‖₁");
});

/** Dense float64 group norms of a weight laid out row-major over `shape`, grouped along `dim`. */
function referenceGroupNorms(w: ArrayLike<number>, shape: number[], dim: 0 | 1): number[] {
  const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const norms = new Array(shape[dim]).fill(0);
  for (let i = 0; i < w.length; i++) norms[Math.floor(i / stride) % shape[dim]] += w[i] * w[i];
  return norms.map(Math.sqrt);
}

const dimOf = (s: GroupStructure): 0 | 1 => (s === "neurons" || s === "filters" ? 0 : 1);

test("block soft-thresholding shrinks each group's norm by t and zeroes groups with norm <= t (hand values)", () => {
  // Rows of a 3×4 weight: norms 0.5, 0.125 (<= t), 1.3 with t = 0.25.
  const w = Float32Array.from([0.3, 0.4, 0, 0, 0.125, 0, 0, 0, 0.5, 0, 1.2, 0]);
  const zeroGroups = groupSoftThreshold(w, Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]), 3, 0.25);
  assert.equal(zeroGroups, 1);
  const expected = [0.3 * 0.5, 0.4 * 0.5, 0, 0, 0, 0, 0, 0, 0.5 * (1 - 0.25 / 1.3), 0, 1.2 * (1 - 0.25 / 1.3), 0];
  w.forEach((v, i) => near(v, expected[i], 1e-7, `entry ${i}`));
  assert.deepEqual(referenceGroupNorms(w, [3, 4], 0).map((n) => Math.round(n * 1e6) / 1e6), [0.25, 0, 1.05]);
});

const layers: { name: string; make: () => Linear | Conv2d; structures: GroupStructure[] }[] = [
  { name: "Linear 7→5", make: () => new Linear(7, 5, { rng: new Rng(3) }), structures: ["neurons", "inputs"] },
  { name: "Conv2d 4→3, 3×3", make: () => new Conv2d(4, 3, { kernel: 3, rng: new Rng(4) }), structures: ["filters", "channels"] },
];

for (const { name, make, structures } of layers) {
  for (const structure of structures) {
    test(`group lasso (${structure}) of a ${name}: the proximal step shrinks every group norm by lr·λ·√p_g, zeroing the small ones`, () => {
      const param = weightOf(make());
      const shape = param.layer instanceof Conv2d ? param.layer.weightShape : [param.tensor.shape[0], param.tensor.shape[1]];
      const dim = dimOf(structure);
      const groupSize = param.tensor.size / shape[dim];
      // Make group 1 small so that it is zeroed; the others survive.
      const w = param.tensor.toArray();
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      for (let i = 0; i < w.length; i++) if (Math.floor(i / stride) % shape[dim] === 1) w[i] *= 0.01;
      param.tensor.data.set(w);
      const before = referenceGroupNorms(w, shape, dim);
      const stepSize = 0.02; // lr·λ
      const t = stepSize * Math.sqrt(groupSize);
      assert.ok(before[1] <= t && before.filter((n) => n > t).length === before.length - 1, `norms ${before}, t ${t}`);

      const regularizer = groupLasso(structure, "proximal");
      near(regularizer.penalty(param), Math.sqrt(groupSize) * before.reduce((a, b) => a + b, 0), 1e-4, "penalty √p·Σ‖w_g‖");
      regularizer.proximalStep!(param, stepSize);
      const after = param.tensor.toArray();
      const norms = referenceGroupNorms(after, shape, dim);
      norms.forEach((n, g) => near(n, Math.max(0, before[g] - t), 1e-5, `group ${g} norm`));
      for (let i = 0; i < w.length; i++) {
        const g = Math.floor(i / stride) % shape[dim];
        if (g === 1) assert.equal(after[i], 0, `entry ${i} of the zeroed group`);
        else near(after[i], w[i] * (1 - t / before[g]), 1e-6, `entry ${i} keeps its direction`);
      }
    });

    test(`group lasso (${structure}) of a ${name}: the subgradient equals finite differences of λ·√p_g·Σ‖w_g‖₂ (0 for a zero group)`, () => {
      const param = weightOf(make());
      const shape = param.layer instanceof Conv2d ? param.layer.weightShape : [param.tensor.shape[0], param.tensor.shape[1]];
      const dim = dimOf(structure);
      const groupSize = param.tensor.size / shape[dim];
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const w = param.tensor.toArray();
      for (let i = 0; i < w.length; i++) if (Math.floor(i / stride) % shape[dim] === 0) w[i] = 0;
      param.tensor.data.set(w);
      const lambda = 0.3;
      const base = randomValues(w.length, 5);
      setGradient(param, base);
      groupLasso(structure, "subgradient").addGradient!(param, lambda);
      const added = param.tensor.grad!.toArray().map((v, i) => v - base[i]);
      const penalty = (x: Float64Array) => lambda * Math.sqrt(groupSize) * referenceGroupNorms(x, shape, dim).reduce((a, b) => a + b, 0);
      const x = Float64Array.from(w);
      const h = 1e-6;
      for (let i = 0; i < x.length; i++) {
        if (Math.floor(i / stride) % shape[dim] === 0) {
          assert.equal(added[i], 0, `entry ${i} of the all-zero group gets the minimum-norm subgradient 0`);
          continue;
        }
        const saved = x[i];
        x[i] = saved + h;
        const up = penalty(x);
        x[i] = saved - h;
        const down = penalty(x);
        x[i] = saved;
        near(added[i], (up - down) / (2 * h), 1e-4, `entry ${i}`);
      }
    });
  }
}

test("group lasso on a CSR weight groups the stored entries by their dense position", () => {
  const dense = randomValues(6 * 5, 6);
  for (let i = 0; i < dense.length; i++) if (i % 3 === 0) dense[i] = 0;
  const sparse = weightOf(new SparseLinear(SparseMatrix.fromDense(dense, [6, 5]), { rng: new Rng(7) }));
  const twin = weightOf(new Linear(5, 6, { rng: new Rng(7) }));
  twin.tensor.data.set(dense);
  for (const structure of ["neurons", "inputs"] as const) {
    const a = groupLasso(structure, "proximal"), b = groupLasso(structure, "proximal");
    near(a.penalty(sparse), b.penalty(twin), 1e-5, `${structure} penalty`);
    a.proximalStep!(sparse, 0.05);
    b.proximalStep!(twin, 0.05);
    const got = sparse.sparse!.toDense().toArray(), expected = twin.tensor.toArray();
    got.forEach((v, i) => near(v, expected[i], 1e-6, `${structure} entry ${i}`));
  }
});

test("λ schedules: constant, linear-ramp and step-up (with maxFactor) at chosen steps", () => {
  const constant = constantLambda();
  for (const s of [0, 1, 1000]) assert.equal(constant(s), 1);

  const ramp = linearRampLambda(10, 30, 0.2);
  assert.deepEqual([0, 10, 15, 20, 30, 100].map((s) => Math.round(ramp(s) * 1e9) / 1e9), [0.2, 0.2, 0.4, 0.6, 1, 1]);
  assert.throws(() => linearRampLambda(5, 5), /end \(5\) must be after begin \(5\)/);

  const stepUp = stepUpLambda(5, 10, 2, 0.5, 3);
  assert.deepEqual([0, 5, 14, 15, 24, 25, 35, 1000].map(stepUp), [0.5, 0.5, 0.5, 1, 1, 2, 3, 3]);
  const uncapped = stepUpLambda(0, 1, 10);
  assert.deepEqual([0, 1, 3].map(uncapped), [1, 10, 1000]);

  // Recipe form: begin, end and every count epochs by default (10 steps per epoch here).
  const fromRecipe = (lambdaSchedule: object) => lambdaScheduleFrom(l1Schema.parse({ method: "l1", lambda: 1, lambdaSchedule }).lambdaSchedule, 10);
  const epochRamp = fromRecipe({ name: "linear-ramp", end: 2 });
  assert.deepEqual([0, 5, 10, 20, 25].map(epochRamp), [0, 0.25, 0.5, 1, 1]);
  const stepRamp = fromRecipe({ name: "linear-ramp", unit: "step", begin: 4, end: 8, startFactor: 0.5 });
  assert.deepEqual([0, 4, 6, 8].map(stepRamp), [0.5, 0.5, 0.75, 1]);
  const epochStepUp = fromRecipe({ name: "step-up", begin: 1, every: 2, factor: 3, maxFactor: 5 });
  assert.deepEqual([0, 9, 10, 29, 30, 50, 70].map(epochStepUp), [1, 1, 1, 1, 3, 5, 5]);
  assert.equal(fromRecipe({ name: "constant" })(12345), 1);
});

test("bad λ schedules are recipe errors naming the field", () => {
  const message = (lambdaSchedule: object) => {
    try {
      validateRecipe({
        data: { dataset: "mnist" }, model: { preset: "mlp", widths: [8] }, optimizer: { name: "sgd", lr: 0.1 }, train: { epochs: 3 },
        sparsity: { method: "prox-l1", lambda: 0.01, lambdaSchedule },
      });
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assert.match(message({ name: "linear-ramp", begin: 2, end: 1 }), /sparsity\.lambdaSchedule\.end: expected a number > begin \(2\), got 1/);
  assert.match(message({ name: "linear-ramp", begin: 2, end: 2 }), /sparsity\.lambdaSchedule\.end: expected a number > begin \(2\), got 2/);
  assert.match(message({ name: "step-up", every: 1, factor: 0.5 }), /sparsity\.lambdaSchedule\.factor: expected a number >= 1, got 0\.5/);
  assert.match(message({ name: "step-up", every: 1, factor: 2, startFactor: 4, maxFactor: 2 }), /sparsity\.lambdaSchedule\.maxFactor: expected a number >= startFactor \(4\), got 2/);
  assert.match(message({ name: "step-up", every: 0, factor: 2 }), /sparsity\.lambdaSchedule\.every: expected a number > 0, got 0/);
  assert.match(message({ name: "cosine" }), /sparsity\.lambdaSchedule/);
});

/** A tiny model, an SGD optimizer over it and the hook context of step `step` in epoch `epoch`. */
function hookSetup(lr: number) {
  const model = buildModel({ preset: "mlp", widths: [6], inputShape: [5], classes: 3, seed: 1 });
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr });
  const context = (step: number, epoch = 0) => ({ model, parameters: model.net.parameters(), optimizer, step, epoch });
  const plan = (lambda: number, schedule = constantLambda()) => ({
    method: "test", lambda, schedule, layers: [0], fixAfterEpoch: null, sparsify: { threshold: 0, csrBelow: 0.5 }, log: () => {},
  });
  return { model, optimizer, context, plan };
}

test("hooks: the proximal step after an optimizer step uses t = lr·λ·factor(step) on the target layers only", () => {
  const { model, context, plan } = hookSetup(0.5);
  const params = model.net.parameters();
  const before = params.map((p) => p.tensor.toArray());
  const schedule = linearRampLambda(0, 4, 0); // factor 0.25 at step 1
  const hooks = regularizerHooks(proximalL1(), plan(0.8, schedule), model);
  // No gradient penalty for a proximal regularizer.
  for (const p of params) setGradient(p, new Float32Array(p.tensor.size));
  hooks.afterBackward!(context(1));
  for (const p of params) assert.ok(p.tensor.grad!.toArray().every((g) => g === 0), `${p.name} gradient untouched`);
  // ctx.step counts the step just taken (2 → the factor of step 1).
  hooks.afterStep!(context(2));
  const t = 0.5 * 0.8 * 0.25;
  params.forEach((p, k) => {
    const now = p.tensor.toArray();
    if (p.name !== "layers.0.weight") return assert.deepEqual(now, before[k], `${p.name} is not regularized`);
    now.forEach((v, i) => assert.equal(v, Math.fround(Math.sign(before[k][i]) * Math.max(Math.abs(before[k][i]) - t, 0)) + 0, `${p.name}[${i}]`));
  });
});

test("hooks: the L1 gradient after backward is λ·factor(step)·sign(w) on the target layers only", () => {
  const { model, context, plan } = hookSetup(0.5);
  const params = model.net.parameters();
  for (const p of params) setGradient(p, new Float32Array(p.tensor.size));
  const hooks = regularizerHooks(l1Penalty(), plan(0.8, stepUpLambda(0, 2, 2)), model);
  hooks.afterBackward!(context(3)); // factor 2 at step 3
  for (const p of params) {
    const w = p.tensor.toArray();
    p.tensor.grad!.toArray().forEach((g, i) => assert.equal(g, p.name === "layers.0.weight" ? Math.fround(1.6 * Math.sign(w[i])) : 0, `${p.name}[${i}]`));
  }
  // No proximal step for a penalty regularizer.
  const w0 = params[0].tensor.toArray();
  hooks.afterStep?.(context(4));
  assert.deepEqual(params[0].tensor.toArray(), w0);
});
