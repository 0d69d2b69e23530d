// TensorFlow.js is a benchmark peer, not part of the product: a development dependency only, loaded on demand, and a missing one is named with the command that installs it while the other contenders are measured.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { benchTrain } from "../../src/bench/train.js";
import { TFJS_PACKAGES, TFJS_VERSION } from "../../src/bench/tfjs-peer.js";

const root = new URL("../../../", import.meta.url);
const readJson = (name: string) => JSON.parse(readFileSync(new URL(name, root), "utf8"));

test("the TensorFlow.js packages are development dependencies at the version the install hint names, in package.json and its lockfile", () => {
  const pkg = readJson("package.json");
  const lock = readJson("package-lock.json");
  for (const name of Object.values(TFJS_PACKAGES)) {
    assert.equal(pkg.dependencies[name], undefined, `${name} is a runtime dependency`);
    assert.equal(pkg.optionalDependencies?.[name], undefined, `${name} is optional, which npm installs by default`);
    assert.equal(pkg.devDependencies[name], TFJS_VERSION);
    assert.equal(lock.packages[""].devDependencies[name], TFJS_VERSION);
    assert.equal(lock.packages[""].dependencies[name], undefined);
    assert.equal(lock.packages[`node_modules/${name}`].dev, true, `${name} is not marked dev in package-lock.json`);
  }
});

test("a TensorFlow.js that is not installed is named with the npm command that installs it; our engine is still measured", async () => {
  const notes: string[] = [];
  const missing = { core: "@tensorflow/tfjs-core-not-installed", wasm: "@tensorflow/tfjs-backend-wasm-not-installed" };
  const rows = await benchTrain({ steps: 1, reps: 1, data: "random", densities: [0.01], threads: [1], python: null, tfjsPackages: missing, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => r.engine), ["sparsetrain"]);
  assert.equal(rows[0].vs_tfjs, undefined);
  assert.ok(notes.some((n) => n === `TensorFlow.js skipped: ${missing.core} is not installed (the benchmark peers are development dependencies); ` +
    `to measure TensorFlow.js: npm install ${missing.core}@${TFJS_VERSION} ${missing.wasm}@${TFJS_VERSION}`), notes.join("\n"));
});
