// Dropout: kept fraction, preserved expectation, determinism per seed, gradient = mask · 1/(1 − p), identity outside training.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backward } from "../../src/autograd/engine.js";
import { dropout } from "../../src/autograd/ops/dropout.js";
import { Rng } from "../../src/tensor/rng.js";
import { full, ones, tensor, tidy } from "../../src/tensor/tensor.js";

const N = 200_000;

for (const p of [0.1, 0.5, 0.9]) {
  test(`p = ${p}: about 1 − p of the elements are kept, scaled by 1/(1 − p); the mean is preserved`, () => {
    tidy(() => {
      const out = dropout(full([N], 2), p, new Rng(1, "dropout"), true).data;
      const scale = Math.fround(2 / (1 - p));
      let kept = 0, sum = 0;
      for (const v of out) {
        assert.ok(v === 0 || Math.abs(v - scale) <= 1e-6 * scale, `unexpected value ${v}`);
        if (v !== 0) kept++;
        sum += v;
      }
      // Binomial(N, 1 − p): 5 standard deviations.
      const sd = Math.sqrt(N * p * (1 - p));
      assert.ok(Math.abs(kept - N * (1 - p)) < 5 * sd, `kept ${kept} of ${N}, expected about ${N * (1 - p)}`);
      assert.ok(Math.abs(sum / N - 2) < 5 * (sd / N) * scale, `mean ${sum / N}, expected 2`);
    });
  });
}

test("the same seed gives the same mask; another seed does not", () => {
  tidy(() => {
    const x = full([1000], 1);
    const a = dropout(x, 0.3, new Rng(42, "dropout"), true).toArray();
    const b = dropout(x, 0.3, new Rng(42, "dropout"), true).toArray();
    const c = dropout(x, 0.3, new Rng(43, "dropout"), true).toArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

test("the gradient is the upstream gradient times the same scaled mask", () => {
  tidy(() => {
    const n = 1001;
    // Non-zero inputs, so the mask can be read off the output.
    const x = tensor(Array.from({ length: n }, (_, i) => i - 500.5), [7, 143]);
    x.requiresGrad = true;
    const out = dropout(x, 0.4, new Rng(9, "dropout"), true);
    const g = tensor(Array.from({ length: n }, (_, i) => (i % 13) - 6), [7, 143]);
    backward(out, g);
    const scale = Math.fround(1 / 0.6);
    for (let i = 0; i < n; i++) {
      const mask = out.data[i] === 0 ? 0 : scale;
      assert.equal(x.grad!.data[i], Math.fround(g.data[i] * mask), `gradient at ${i}`);
    }
  });
});

test("identity when not training or p = 0; p outside [0, 1) is an error", () => {
  tidy(() => {
    const x = ones([5]);
    const rng = new Rng(1, "dropout");
    assert.equal(dropout(x, 0.5, rng, false), x);
    assert.equal(dropout(x, 0, rng, true), x);
    for (const p of [1, -0.1, 1.5, NaN]) {
      assert.throws(() => dropout(x, p, rng, true), new RegExp(`dropout: p must be in \\[0, 1\\), got ${p}`));
    }
  });
});
