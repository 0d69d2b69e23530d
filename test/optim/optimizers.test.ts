import assert from "node:assert/strict";
import { test } from "node:test";
import { Adam, AdamW } from "../../src/optim/adam.js";
import { clipGradNorm, clipWeights } from "../../src/optim/clip.js";
import {
  applySchedule, cosineSchedule, exponentialSchedule, linearWarmupSchedule, multiStepSchedule,
  productSchedule, sequenceSchedule, stepSchedule,
} from "../../src/optim/schedules.js";
import { Sgd } from "../../src/optim/sgd.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";

function param(values: number[], name: string, grad?: number[]): Tensor {
  const p = tensor(values);
  p.name = name;
  p.requiresGrad = true;
  if (grad) p.grad = tensor(grad);
  return p;
}

// Float64 model of torch.optim.SGD for a few steps with a fixed gradient sequence.
function sgdModel(w: number, grads: number[], lr: number, mom: number, wd: number, nesterov: boolean): number {
  let buf = 0;
  grads.forEach((g0, t) => {
    let g = g0 + wd * w;
    if (mom) {
      buf = t === 0 ? g : mom * buf + g;
      g = nesterov ? g + mom * buf : buf;
    }
    w -= lr * g;
  });
  return w;
}

test("SGD follows torch's update rule (momentum, Nesterov, weight decay)", () => {
  for (const nesterov of [false, true]) {
    const p = param([0.5, -1.5], "w", [0, 0]);
    const opt = new Sgd([{ params: [p] }], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov });
    const grads = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]];
    for (const g of grads) {
      p.grad!.data.set(g);
      opt.step();
    }
    for (let i = 0; i < 2; i++) {
      const expected = sgdModel([0.5, -1.5][i], grads.map((g) => g[i]), 0.1, 0.9, 0.01, nesterov);
      assert.ok(Math.abs(p.data[i] - expected) < 1e-6, `nesterov=${nesterov} w[${i}] ${p.data[i]} vs ${expected}`);
    }
  }
});

test("Adam and AdamW follow torch's update rule", () => {
  for (const decoupled of [false, true]) {
    const p = param([1, -2], "w", [0, 0]);
    const opt = decoupled ? new AdamW([{ params: [p] }], { lr: 0.01 }) : new Adam([{ params: [p] }], { lr: 0.01, weightDecay: 0.1 });
    const grads = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]];
    const w = [1, -2], m = [0, 0], v = [0, 0];
    const wd = decoupled ? 0.01 : 0.1;
    grads.forEach((g, t) => {
      p.grad!.data.set(g);
      opt.step();
      for (let i = 0; i < 2; i++) {
        let gi = g[i];
        if (decoupled) w[i] *= 1 - 0.01 * wd;
        else gi += wd * w[i];
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        const mh = m[i] / (1 - 0.9 ** (t + 1)), vh = v[i] / (1 - 0.999 ** (t + 1));
        w[i] -= (0.01 * mh) / (Math.sqrt(vh) + 1e-8);
      }
    });
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(p.data[i] - w[i]) < 1e-5, `${opt.kind} w[${i}] ${p.data[i]} vs ${w[i]}`);
  }
});

test("pruned weights (zero value, zero gradient) stay exactly zero through momentum, weight decay and Adam", () => {
  for (const make of [
    (p: Tensor) => new Sgd([{ params: [p] }], { lr: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true }),
    (p: Tensor) => new AdamW([{ params: [p] }], { lr: 0.1 }),
  ]) {
    const p = param([0, 1, 0, -1], "w", [0, 0, 0, 0]);
    const opt = make(p);
    for (let s = 0; s < 5; s++) {
      p.grad!.data.set([0, 0.5 - s * 0.1, 0, 0.2]);
      opt.step();
    }
    assert.equal(p.data[0], 0);
    assert.equal(p.data[2], 0);
    assert.notEqual(p.data[1], 1);
  }
});

test("parameter groups have their own learning rates; state round-trips; remap carries kept entries", () => {
  const a = param([1, 1], "a", [1, 1]);
  const b = param([1, 1], "b", [1, 1]);
  const opt = new Sgd([{ params: [a], options: { lr: 0.1 } }, { params: [b], options: { lr: 0.5 } }], { momentum: 0.9 });
  opt.step();
  assert.deepEqual(Array.from(a.data), [Math.fround(0.9), Math.fround(0.9)]);
  assert.deepEqual(Array.from(b.data), [0.5, 0.5]);
  const saved = opt.getState();
  const fresh = new Sgd([{ params: [a], options: { lr: 0.1 } }, { params: [b], options: { lr: 0.5 } }], { momentum: 0.9 });
  fresh.loadState(saved);
  assert.deepEqual(fresh.getState(), saved);
  assert.throws(() => fresh.loadState({ ...saved, kind: "adam" }), /state is for adam/);
  const a2 = param([7, 8, 9], "a", [0, 0, 0]);
  opt.remapParameter(a, a2, Int32Array.from([1, -1, 0]));
  const buf = opt.buffer(a2, "momentum_buffer").toArray();
  const old = saved.buffers["a.momentum_buffer"];
  assert.ok(buf[1] === 0 && buf[0] !== 0 && buf[2] !== 0 && old.length === 2);
  assert.throws(() => new Sgd([{ params: [a] }], { momentum: 1.5 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => new Sgd([{ params: [a] }, { params: [a] }]), /more than one group/);
});

test("clipGradNorm scales to the max norm like torch; clipWeights clamps", () => {
  const p = param([0, 0], "p", [3, 4]);
  const norm = clipGradNorm([p], 1);
  assert.equal(norm, 5);
  assert.ok(Math.abs(p.grad!.data[0] - 3 / (5 + 1e-6)) < 1e-7);
  const q = param([-3, 0.5, 2], "q");
  clipWeights([q], 1);
  assert.deepEqual(Array.from(q.data), [-1, 0.5, 1]);
});

test("schedules match torch's formulas and compose", () => {
  assert.equal(stepSchedule(10, 0.5)(25), 0.25);
  assert.ok(Math.abs(multiStepSchedule([5, 8], 0.1)(8) - 0.01) < 1e-15);
  assert.equal(exponentialSchedule(0.5)(3), 0.125);
  assert.ok(Math.abs(cosineSchedule(100)(50) - 0.5) < 1e-12);
  assert.equal(cosineSchedule(100, 0.1)(200), 0.1);
  assert.equal(linearWarmupSchedule(4, 0)(1), 0.25);
  const s = sequenceSchedule([{ schedule: linearWarmupSchedule(2), steps: 2 }, { schedule: cosineSchedule(10) }]);
  assert.deepEqual([s(0), s(1), s(2)], [0, 0.5, 1]);
  assert.equal(productSchedule([stepSchedule(1, 0.5), exponentialSchedule(2)])(3), 1);
  const p = param([1], "p", [1]);
  const opt = new Sgd([{ params: [p], options: { lr: 0.2 } }]);
  applySchedule(opt, stepSchedule(1, 0.5), 2);
  assert.equal(opt.groups[0].options.lr, 0.05);
  assert.throws(() => stepSchedule(0), /stepSize must be a positive integer/);
});
