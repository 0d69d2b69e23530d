// Measures the inference runtime (sparsetrain/runtime) against referencePredict on a 95%-sparse LeNet-300-100 (random structure from buildModel), per batch size, kernel variant and program, side by side in one run.
//
// Run after `node node_modules/typescript/bin/tsc -p tsconfig.json`:
//   node --experimental-wasm-relaxed-simd scripts/bench-runtime.mjs [--batches 1,128] [--rounds 7] [--density 0.05] [--json]
// (Node 22+ needs no flag; without it Node 20 runs only the plain-SIMD build.) Prints µs per
// predict call (the fastest round: least disturbed on a shared machine) and the ratio to the
// reference. Each round runs every configuration in turn (interleaved), so ratios compare like with like.
import { parseArgs } from "node:util";
import { exportCompactModel } from "../dist/src/export/compact-writer.js";
import { buildModel } from "../dist/src/nn/presets.js";
import { loadModel } from "../dist/src/runtime/index.js";
import { inferenceVariantProblem } from "../dist/src/runtime/inference-module.js";
import { readCompactModel } from "../dist/src/runtime/compact-reader.js";
import { referencePredict } from "../dist/src/runtime/reference-predict.js";
import { Rng } from "../dist/src/tensor/rng.js";

const { values: options } = parseArgs({
  options: {
    batches: { type: "string", default: "1,128" },
    rounds: { type: "string", default: "7" },
    density: { type: "string", default: "0.05" },
    values: { type: "string", default: "float32" },
    json: { type: "boolean", default: false },
  },
});
const density = Number(options.density);
const spec = { preset: "lenet-300-100", inputShape: [784], classes: 10, sparse: { 0: density, 2: density, 4: density }, seed: 1 };
const bytes = exportCompactModel(buildModel(spec), { normalizer: { kind: "standardize", shift: [33.3], factor: [1 / 78.6] }, values: options.values });
const compact = readCompactModel(bytes);
const rng = new Rng(5, "bench/runtime");
const variants = ["relaxed", "simd"].filter((v) => inferenceVariantProblem(v) === null);
const engines = [];
for (const kernels of variants) {
  for (const strategy of ["auto", "rows", "lanes"]) engines.push({ name: `runtime ${kernels} ${strategy}`, model: await loadModel(bytes, { kernels, strategy }) });
}
const rows = [];
for (const batch of options.batches.split(",").map(Number)) {
  const inputs = Float32Array.from({ length: batch * 784 }, () => Math.floor(rng.uniform() * 256));
  const configs = [
    ...engines.map((e) => ({ name: e.name, call: () => e.model.predict(inputs, batch) })),
    { name: "referencePredict", call: () => referencePredict(compact, inputs, batch) },
  ];
  const best = new Map(configs.map((c) => [c.name, Infinity]));
  for (let round = 0; round < Number(options.rounds); round++) {
    for (const config of configs) {
      // Enough calls per sample for ~20 ms (calibrated on the first round) so that timer resolution does not matter.
      const start0 = performance.now();
      config.call();
      const once = Math.max(performance.now() - start0, 0.001);
      const calls = Math.max(3, Math.min(20000, Math.ceil(20 / once)));
      const start = performance.now();
      for (let i = 0; i < calls; i++) config.call();
      best.set(config.name, Math.min(best.get(config.name), ((performance.now() - start) * 1000) / calls));
    }
  }
  const reference = best.get("referencePredict");
  for (const [name, us] of best) rows.push({ engine: name, density, dtype: options.values, batch, us: Number(us.toFixed(2)), vs_reference: Number((reference / us).toFixed(1)) });
}
if (options.json) console.log(JSON.stringify(rows));
else for (const r of rows) console.log(`batch ${String(r.batch).padStart(4)}  ${r.engine.padEnd(26)} ${r.us.toFixed(2).padStart(10)} µs   ${r.vs_reference}× faster than the reference`);
console.log(`nnz: ${compact.layers.filter((l) => l.weight).map((l) => l.weight.values.length).join(" + ")}; file ${bytes.length} bytes; Node ${process.version}`);
