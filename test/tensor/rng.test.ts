import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/tensor/rng.js";

test("same seed and stream give the same sequence; different streams differ", () => {
  const a = new Rng(42, "layers.0.weight/init");
  const b = new Rng(42, "layers.0.weight/init");
  const c = new Rng(42, "layers.1.weight/init");
  const sa = Array.from({ length: 8 }, () => a.nextUint32());
  const sb = Array.from({ length: 8 }, () => b.nextUint32());
  const sc = Array.from({ length: 8 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test("uniform is in [0,1) with mean near 1/2; normal has mean 0 and variance 1", () => {
  const r = new Rng(7);
  let s = 0, s2 = 0, n = 200000, m = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    m += u;
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(m / n - 0.5) < 0.005);
  assert.ok(Math.abs(s / n) < 0.01);
  assert.ok(Math.abs(s2 / n - 1) < 0.02);
});

test("int(n) is unbiased over a small range and rejects bad n", () => {
  const r = new Rng(3);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `count ${c}`);
  assert.throws(() => r.int(0), /n must be an integer/);
  assert.throws(() => r.int(2.5), /n must be an integer/);
});

test("state round-trips: restoring continues the identical sequence", () => {
  const r = new Rng(11, "x");
  r.normal();
  const state = r.getState();
  const next = [r.normal(), r.nextUint32(), r.uniform()];
  const s = new Rng(0);
  s.setState(state);
  assert.deepEqual([s.normal(), s.nextUint32(), s.uniform()], next);
});

test("shuffle is a permutation and deterministic", () => {
  const a = new Rng(5).shuffle(Array.from({ length: 100 }, (_, i) => i));
  const b = new Rng(5).shuffle(Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 100 }, (_, i) => i));
});
