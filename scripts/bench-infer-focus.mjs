// Runs `bench infer`'s own measurement (same models, inputs, peers and timing) on the 95%-sparse LeNet-300-100 only, for quick before/after comparisons of the runtime.
//
// Run after `node node_modules/typescript/bin/tsc -p tsconfig.json`:
//   node scripts/bench-infer-focus.mjs [--batches 1,128] [--dtypes float32,int8] [--rounds 7] [--repeat 1]
// Prints one line per engine: µs per predict call and the ratio to onnxruntime (same dtype, its
// fastest configuration) measured in the same run. --repeat runs the whole measurement again.
import { parseArgs } from "node:util";
import { benchInfer, INFER_MODELS } from "../dist/src/bench/infer.js";

const { values: options } = parseArgs({
  options: {
    batches: { type: "string", default: "1" },
    dtypes: { type: "string", default: "float32,int8" },
    rounds: { type: "string", default: "7" },
    repeat: { type: "string", default: "1" },
    density: { type: "string", default: "0.05" },
  },
});
const models = INFER_MODELS.filter((m) => m.name === "lenet-300-100" && m.density === Number(options.density));
for (let run = 0; run < Number(options.repeat); run++) {
  await benchInfer({
    models,
    batches: options.batches.split(",").map(Number),
    dtypes: options.dtypes.split(","),
    rounds: Number(options.rounds),
    onRow: (r) => console.log(`run ${run} ${r.dtype.padEnd(7)} batch ${String(r.batch).padStart(3)}  ${r.engine.padEnd(11)} ${r.us.toFixed(2).padStart(8)} µs  ${String(r.vs_onnxruntime ?? "").padStart(5)}×  ${r.config}`),
    onNote: (line) => console.log(line),
  });
}
