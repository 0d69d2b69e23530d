// Gated layers against a float64 reference: sigmoid and hard-concrete (L0) gates per weight and per neuron, their gradients, penalties and folding into plain weights.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import type { ForwardContext, FusedActivation, Layout } from "../../src/nn/layer.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model } from "../../src/nn/presets.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import { foldAllGates } from "../../src/sparse/regularize/finalize.js";
import { GatedLayer, type GateGranularity } from "../../src/nn/gated-layer.js";
import { hardConcreteGates, sigmoidGates, type GateKind } from "../../src/nn/gates.js";
import { expectedL0, hardConcreteGate, LOUIZOS_HARD_CONCRETE, logisticNoise } from "../../src/nn/hard-concrete.js";
import { gateHooks } from "../../src/sparse/regularize/hooks.js";
import { constantLambda } from "../../src/sparse/regularize/lambda-schedules.js";
import { Sgd } from "../../src/optim/sgd.js";
import { Rng } from "../../src/tensor/rng.js";
import { keep, tensor, tidy } from "../../src/tensor/tensor.js";

const HC = { beta: 2 / 3, gamma: -0.1, zeta: 1.1 };
const PRUNE_BELOW = 0.2;
const sigma = (x: number) => 1 / (1 + Math.exp(-x));
const kinds = {
  sigmoid: () => sigmoidGates({ initialGate: 0.9, pruneBelow: PRUNE_BELOW }),
  "hard-concrete": () => hardConcreteGates({ initialDropRate: 0.3, ...HC }),
};
type KindName = keyof typeof kinds;

/** The logistic noise the layer draws from `rng` for `n` gates, reproduced in float64 (float32 where the layer stores it). */
function referenceNoise(seed: number, n: number): number[] {
  const rng = new Rng(seed, "test/noise");
  return Array.from({ length: n }, () => {
    const u = Math.min(1 - 1e-6, Math.max(1e-6, Math.fround(rng.uniform())));
    return Math.fround(Math.log(u / (1 - u)));
  });
}

/** Float64 gates and their pre-clamp values (hard-concrete) for parameters θ; `noise` only for hard-concrete in training. */
function referenceGates(kind: KindName, theta: ArrayLike<number>, noise: number[] | null, training: boolean): { z: number[]; preClamp: number[] } {
  const z: number[] = [], preClamp: number[] = [];
  for (let i = 0; i < theta.length; i++) {
    if (kind === "sigmoid") {
      const g = sigma(theta[i]);
      z.push(!training && g < PRUNE_BELOW ? 0 : g);
      preClamp.push(0.5);
    } else {
      const s = noise === null ? sigma(theta[i]) : sigma((noise[i] + theta[i]) / HC.beta);
      const stretched = s * (HC.zeta - HC.gamma) + HC.gamma;
      preClamp.push(stretched);
      z.push(Math.min(1, Math.max(0, stretched)));
    }
  }
  return { z, preClamp };
}

interface Case {
  layer: "linear" | "conv";
  kind: KindName;
  granularity: GateGranularity;
  layout: Layout;
  activation: FusedActivation;
  training: boolean;
}

const LINEAR = { in: 6, out: 4, batch: 3 };
const CONV = { in: 2, out: 3, kernel: 3, padding: 1, side: 4, batch: 2 };

/** y = gated layer(x) in float64, batch-major ([B, out] or [N, Cout, H, W]) flattened. */
function referenceForward(c: Case, w: Float64Array, b: Float64Array, theta: Float64Array, x: Float64Array, noise: number[] | null): { y: number[]; pre: number[] } {
  const { z } = referenceGates(c.kind, theta, noise, c.training);
  const weight = c.granularity === "weight" ? Array.from(w, (v, i) => v * z[i]) : Array.from(w);
  const pre: number[] = [];
  if (c.layer === "linear") {
    const { in: n, out: m, batch } = LINEAR;
    for (let s = 0; s < batch; s++) {
      for (let o = 0; o < m; o++) {
        let acc = b[o];
        // Feature-major input is (in, B); batch-major (B, in).
        for (let i = 0; i < n; i++) acc += weight[o * n + i] * (c.layout === "batch-major" ? x[s * n + i] : x[i * batch + s]);
        pre.push(c.granularity === "neuron" ? acc * z[o] : acc);
      }
    }
  } else {
    const { in: cin, out: cout, kernel: k, padding: p, side, batch } = CONV;
    for (let s = 0; s < batch; s++) {
      for (let o = 0; o < cout; o++) {
        for (let r = 0; r < side; r++) {
          for (let q = 0; q < side; q++) {
            let acc = b[o];
            for (let ci = 0; ci < cin; ci++) {
              for (let kr = 0; kr < k; kr++) {
                for (let kq = 0; kq < k; kq++) {
                  const rr = r + kr - p, qq = q + kq - p;
                  if (rr < 0 || qq < 0 || rr >= side || qq >= side) continue;
                  acc += weight[((o * cin + ci) * k + kr) * k + kq] * x[((s * cin + ci) * side + rr) * side + qq];
                }
              }
            }
            pre.push(c.granularity === "neuron" ? acc * z[o] : acc);
          }
        }
      }
    }
  }
  return { y: pre.map((v) => (c.activation === "relu" ? Math.max(0, v) : v)), pre };
}

/** Output of the layer (batch-major order) from its layout. */
function toBatchMajor(c: Case, out: Float32Array): number[] {
  if (c.layer === "conv" || c.layout === "batch-major") return Array.from(out);
  const { out: m, batch } = LINEAR;
  return Array.from({ length: m * batch }, (_, k) => out[(k % m) * batch + Math.floor(k / m)]);
}

function checkGatedLayer(c: Case): void {
  const rng = new Rng(11, `case/${JSON.stringify(c)}`);
  const inner = c.layer === "linear" ? new Linear(LINEAR.in, LINEAR.out, { rng }) : new Conv2d(CONV.in, CONV.out, { kernel: CONV.kernel, padding: CONV.padding, rng });
  const layer = new GatedLayer(inner, kinds[c.kind](), c.granularity, rng.fork("gates"), "layers.0");
  const theta = layer.gateParameter;
  // Gate parameters spread over (−3, 3): some gates closed, some open, some in between.
  theta.data.set(Float32Array.from({ length: theta.size }, () => 6 * rng.uniform() - 3));
  const xShape = c.layer === "conv" ? [CONV.batch, CONV.in, CONV.side, CONV.side] : c.layout === "batch-major" ? [LINEAR.batch, LINEAR.in] : [LINEAR.in, LINEAR.batch];
  const xValues = Float32Array.from({ length: xShape.reduce((a, b) => a * b, 1) }, () => 2 * rng.uniform() - 1);
  const noiseSeed = 5;
  const noise = c.training && c.kind === "hard-concrete" ? referenceNoise(noiseSeed, theta.size) : null;

  const weight = inner.weight!, bias = inner.bias!;
  const ref = { w: Float64Array.from(weight.data), b: Float64Array.from(bias.data), theta: Float64Array.from(theta.data), x: Float64Array.from(xValues) };
  const expected = referenceForward(c, ref.w, ref.b, ref.theta, ref.x, noise);
  const seeds = Float64Array.from(expected.y, () => Math.fround(2 * rng.uniform() - 1));

  const ctx: ForwardContext = { training: c.training, layout: c.layout, rng: new Rng(noiseSeed, "test/noise") };
  const { out, inputGrad } = tidy(() => {
    const x = tensor(xValues, xShape);
    x.requiresGrad = true;
    const y = c.activation === "identity" ? layer.forward(x, ctx) : layer.forwardFused(x, ctx, c.activation, 0);
    const result = { out: toBatchMajor(c, y.toArray()), inputGrad: null as Float32Array | null };
    if (!c.training) return result;
    const seedTensor = c.layer === "linear" && c.layout === "feature-major"
      ? tensor(Array.from({ length: seeds.length }, (_, k) => seeds[(k % LINEAR.batch) * LINEAR.out + Math.floor(k / LINEAR.batch)]), y.shape)
      : tensor(seeds, y.shape);
    backward(y, seedTensor);
    return { ...result, inputGrad: x.grad!.toArray() };
  });
  const scale = Math.max(1, ...expected.y.map(Math.abs));
  out.forEach((v, i) => assert.ok(Math.abs(v - expected.y[i]) <= 1e-5 * scale, `forward[${i}]: ${v}, reference ${expected.y[i]}`));
  if (!c.training) return;

  // The finite differences are valid only away from the kinks of the clamp and the ReLU.
  const { z, preClamp } = referenceGates(c.kind, ref.theta, noise, c.training);
  if (c.kind === "hard-concrete") for (const v of preClamp) assert.ok(Math.abs(v) > 1e-4 && Math.abs(v - 1) > 1e-4, `gate ${v} sits on a kink of the clamp`);
  if (c.activation === "relu") for (const v of expected.pre) assert.ok(v === 0 || Math.abs(v) > 1e-4, `pre-activation ${v} sits on the kink of ReLU`); // 0: a closed neuron gate
  if (c.kind === "hard-concrete" && c.granularity === "weight") {
    assert.ok(z.some((g) => g === 0) && z.some((g) => g === 1) && z.some((g) => g > 0 && g < 1), `gates in all three regimes: ${z}`);
  }
  const objective = () => referenceForward(c, ref.w, ref.b, ref.theta, ref.x, noise).y.reduce((s, v, i) => s + v * seeds[i], 0);
  const checkGradient = (name: string, values: Float64Array, analytic: Float32Array) => {
    const h = 1e-6;
    const numeric = Array.from(values, (saved, i) => {
      values[i] = saved + h;
      const up = objective();
      values[i] = saved - h;
      const down = objective();
      values[i] = saved;
      return (up - down) / (2 * h);
    });
    const gscale = Math.max(1e-3, ...numeric.map(Math.abs));
    numeric.forEach((g, i) => assert.ok(Math.abs(analytic[i] - g) <= 1e-4 * gscale + 1e-5, `${name}[${i}]: analytic ${analytic[i]}, finite difference ${g}`));
  };
  checkGradient("weight", ref.w, weight.grad!.toArray());
  checkGradient("bias", ref.b, bias.grad!.toArray());
  checkGradient("gate parameter", ref.theta, theta.grad!.toArray());
  checkGradient("input", ref.x, inputGrad!);
}

for (const kind of ["sigmoid", "hard-concrete"] as const) {
  for (const granularity of ["weight", "neuron"] as const) {
    const cases: Case[] = [
      { layer: "linear", kind, granularity, layout: "batch-major", activation: "identity", training: true },
      { layer: "linear", kind, granularity, layout: "feature-major", activation: "relu", training: true },
      { layer: "linear", kind, granularity, layout: "batch-major", activation: "relu", training: false },
      { layer: "conv", kind, granularity, layout: "batch-major", activation: "identity", training: true },
      { layer: "conv", kind, granularity, layout: "batch-major", activation: "relu", training: false },
    ];
    for (const c of cases) {
      const mode = c.training ? (kind === "hard-concrete" ? "train mode, fixed noise" : "train mode") : "eval mode";
      test(`${kind} gates per ${granularity} on a ${c.layer} (${c.layout}, ${c.activation}, ${mode}): forward and gradients vs float64 finite differences`, () => checkGatedLayer(c));
    }
  }
}

test("gate penalties: values on hand inputs and gradients vs finite differences", () => {
  const theta = Float64Array.from([-4, -1.5, -0.2, 0, 0.7, 2.5, 6]);
  // P(z ≠ 0) = 1/2 exactly where log α = β·log(−γ/ζ).
  assert.ok(Math.abs(expectedL0([HC.beta * Math.log(-HC.gamma / HC.zeta)], HC) - 0.5) < 1e-12);
  for (const [name, kind] of Object.entries(kinds) as [KindName, () => GateKind][]) {
    const gates = kind();
    const expectedPenalty = name === "sigmoid"
      ? theta.reduce((s, t) => s + sigma(t), 0)
      : theta.reduce((s, t) => s + sigma(t - HC.beta * Math.log(-HC.gamma / HC.zeta)), 0);
    assert.ok(Math.abs(gates.penalty(theta) - expectedPenalty) < 1e-12, `${name} penalty`);
    const lambda = 0.7;
    const grads = new Float32Array(theta.length).fill(0.25);
    gates.addPenaltyGradient(theta, grads, lambda);
    theta.forEach((t, i) => {
      const h = 1e-6;
      const x = Float64Array.from(theta);
      x[i] = t + h;
      const up = gates.penalty(x);
      x[i] = t - h;
      const numeric = (lambda * (up - gates.penalty(x))) / (2 * h);
      assert.ok(Math.abs(grads[i] - 0.25 - numeric) < 1e-6, `${name} gradient at θ = ${t}: ${grads[i] - 0.25} vs ${numeric}`);
    });
  }
});

test("the expected L0 penalty is the probability that a sampled hard-concrete gate is non-zero", () => {
  const samples = 40000;
  const rng = new Rng(3, "test/monte-carlo");
  for (const logAlpha of [-2, 0, 1.5]) {
    const z = tidy(() => {
      const uniforms = Float32Array.from({ length: samples }, () => rng.uniform());
      return hardConcreteGate(tensor(new Float32Array(samples).fill(logAlpha)), logisticNoise(uniforms), LOUIZOS_HARD_CONCRETE).toArray();
    });
    const nonZero = z.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) / samples;
    const expected = expectedL0([logAlpha], LOUIZOS_HARD_CONCRETE);
    assert.ok(Math.abs(nonZero - expected) < 0.01, `log α ${logAlpha}: sampled ${nonZero}, expected ${expected}`);
    assert.ok(z.some((v) => v === 1) || logAlpha < 0, "mass at exactly 1 too");
  }
});

/** Wraps every weight layer of `model` but the last in gates, with parameters spread so that some gates are closed. */
function gateModel(model: Model, kind: KindName, granularity: GateGranularity): GatedLayer[] {
  const indices = model.net.layers.flatMap((l, i) => (l instanceof Linear || l instanceof SparseLinear || l instanceof Conv2d ? [i] : [])).slice(0, -1);
  const rng = new Rng(9, `fold/${kind}/${granularity}`);
  return indices.map((i) => {
    const gated = new GatedLayer(model.net.layers[i] as Linear, kinds[kind](), granularity, rng.fork(`layers.${i}`), `layers.${i}`);
    const theta = Float32Array.from({ length: gated.gateParameter.size }, () => 6 * rng.uniform() - 3);
    theta[0] = -5; // closed for both kinds
    theta[1] = 4; // open
    gated.gateParameter.data.set(theta);
    model.net.layers[i] = gated;
    return gated;
  });
}

const foldModels: { name: string; make: () => Model; inputShape: number[] }[] = [
  { name: "mlp", make: () => buildModel({ preset: "mlp", widths: [12, 8], inputShape: [10], classes: 4, seed: 2 }), inputShape: [10] },
  { name: "mlp with a CSR first layer", make: () => buildModel({ preset: "mlp", widths: [12, 8], inputShape: [10], classes: 4, seed: 2, sparse: { "0": 0.4 } }), inputShape: [10] },
  { name: "lenet-5", make: () => buildModel({ preset: "lenet-5", inputShape: [1, 16, 16], classes: 4, seed: 2 }), inputShape: [1, 16, 16] },
];

for (const { name, make, inputShape } of foldModels) {
  for (const kind of ["sigmoid", "hard-concrete"] as const) {
    for (const granularity of ["weight", "neuron"] as const) {
      if (name.includes("CSR") && granularity === "weight") continue;
      test(`folding ${kind} gates per ${granularity} of a ${name}: same outputs in eval mode, exact zeros where gates are closed`, () => {
        const model = make();
        const gated = gateModel(model, kind, granularity);
        const indices = gated.map((g) => model.net.layers.indexOf(g));
        const closed = gated.map((g) => Array.from(g.gateKind.deterministic(g.gateParameter.data), (v) => v === 0));
        assert.ok(closed.every((c) => c.some(Boolean) && !c.every(Boolean)), "every gated layer has closed and open gates");
        const rng = new Rng(4, "fold/input");
        const x = Float32Array.from({ length: 5 * inputShape.reduce((a, b) => a * b, 1) }, () => rng.normal());
        model.net.eval();
        const run = () => tidy(() => model.net.forward(tensor(x, [5, ...inputShape])).toArray());
        const before = run();
        assert.deepEqual(foldAllGates(model), indices);
        const after = run();
        const scale = Math.max(1, ...Array.from(before, Math.abs));
        before.forEach((v, i) => assert.ok(Math.abs(v - after[i]) <= 1e-5 * scale, `output ${i}: ${v} gated, ${after[i]} folded`));
        indices.forEach((index, k) => {
          const layer = model.net.layers[index];
          assert.ok(!(layer instanceof GatedLayer) && model.net.parameters().every((p) => !p.name.endsWith(gated[k].gateKind.parameterName)), "a plain layer again");
          assert.equal(gated[k].gateParameter.requiresGrad, false);
          const dense = layer instanceof SparseLinear ? layer.weight.toDense().toArray() : (layer as Linear | Conv2d).weight!.toArray();
          const rowLength = dense.length / (layer instanceof Conv2d ? layer.outChannels : (layer as Linear).outFeatures);
          closed[k].forEach((isClosed, g) => {
            if (!isClosed) return;
            if (granularity === "weight") assert.ok(Object.is(dense[g], 0), `layers.${index}.weight[${g}] is ${dense[g]}, not +0`);
            else {
              for (let j = 0; j < rowLength; j++) assert.ok(Object.is(dense[g * rowLength + j], 0), `row ${g} of layers.${index}.weight is zero`);
              assert.ok(Object.is((layer as Linear).bias!.data[g], 0), `bias ${g} of layers.${index} is zero`);
            }
          });
        });
      });
    }
  }
}

test("per-weight gates on a CSR layer are an error naming the layer and the way out", () => {
  const model = buildModel({ preset: "mlp", widths: [12], inputShape: [10], classes: 4, seed: 2, sparse: { "0": 0.4 } });
  assert.throws(() => new GatedLayer(model.net.layers[0] as SparseLinear, kinds.sigmoid(), "weight", new Rng(1), "layers.0"),
    /layers\.0: per-weight gates need a dense layer, .* use granularity: neuron/);
});

test("gate hooks add λ·factor·∇P to the gate gradients and fold the gates when fine-tuning starts", () => {
  const model = buildModel({ preset: "mlp", widths: [6], inputShape: [5], classes: 3, seed: 1 });
  const [gated] = gateModel(model, "hard-concrete", "weight");
  const optimizer = new Sgd([{ params: model.net.parameters().map((p) => p.tensor) }], { lr: 0.1 });
  const lines: string[] = [];
  const hooks = gateHooks({
    method: "l0", lambda: 0.5, schedule: (step) => (step >= 3 ? 2 : 1), layers: [0], fixAfterEpoch: 1,
    sparsify: { threshold: 0, csrBelow: 0 }, log: (l) => lines.push(l),
  }, model);
  const theta = gated.gateParameter;
  theta.grad = keep(tensor(new Float32Array(theta.size), theta.shape));
  const context = (step: number, epoch: number) => ({ model, parameters: model.net.parameters(), optimizer, step, epoch });
  hooks.afterBackward!(context(3, 0));
  const expected = new Float32Array(theta.size);
  kinds["hard-concrete"]().addPenaltyGradient(theta.data, expected, 1);
  theta.grad.toArray().forEach((g, i) => assert.ok(Math.abs(g - expected[i]) < 1e-7, `gate gradient ${i}: ${g} vs ${expected[i]}`));
  hooks.endOfEpoch!(context(5, 1), { epoch: 1, step: 5, trainLoss: 0, trainAccuracy: 0, seconds: 0, lr: 0.1 });
  assert.ok(model.net.layers[0] instanceof Linear && (model.net.layers[0] as Linear).mask !== null, "folded, zeros masked");
  assert.ok(lines.some((l) => /after epoch 1, gates folded, zeros fixed/.test(l)), lines.join("\n"));
});
