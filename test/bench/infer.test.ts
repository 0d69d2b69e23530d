// `bench infer`: every engine's row for every model, dtype and batch, with plausible times, file sizes and ratios to onnxruntime; --rounds 0 refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { benchInfer, INFER_MODELS, type InferBenchRow } from "../../src/bench/infer.js";
import { floorMs } from "../helpers/flop-floor.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

/** Multiply-adds of one example through the model's stored weights (convolutions once per output position). */
function macsPerExample(name: string, density: number): number {
  const mlp = 784 * 300 + 300 * 100 + 100 * 10;
  const lenet5 = 20 * 25 * 24 * 24 + 50 * 20 * 25 * 8 * 8 + 800 * 500 + 500 * 10;
  return Math.round((name === "lenet-5" ? lenet5 : mlp) * density);
}

test("bench infer: our runtime, onnxruntime (fastest configuration) and TensorFlow.js (float32) per model, dtype and batch; times above the flop floor; ratios are onnxruntime's µs over the row's", async () => {
  const models = INFER_MODELS.filter((m) => (m.name === "lenet-300-100" && m.density === 0.05) || (m.name === "lenet-5" && m.density === 0.1));
  const batches = [1, 5];
  const rows: InferBenchRow[] = [];
  const returned = await benchInfer({ models, batches, rounds: 1, sampleMs: 1, onRow: (r) => rows.push(r) });
  assert.deepEqual(returned, rows);
  for (const m of models) {
    for (const dtype of ["float32", "int8"] as const) {
      for (const batch of batches) {
        const group = rows.filter((r) => r.model === m.name && r.density === m.density && r.dtype === dtype && r.batch === batch);
        const engines = dtype === "float32" ? ["sparsetrain", "onnxruntime", "tfjs-wasm"] : ["sparsetrain", "onnxruntime"];
        assert.deepEqual(group.map((r) => r.engine), engines, `${m.name} ${dtype} batch ${batch}`);
        const ort = group.find((r) => r.engine === "onnxruntime")!;
        assert.match(ort.config, /fastest of [24]\)$/);
        for (const r of group) {
          assert.deepEqual(Object.keys(r).slice(0, 7), ["engine", "model", "density", "dtype", "batch", "us", "bytes"]);
          const flops = 2 * macsPerExample(m.name, r.engine === "sparsetrain" ? m.density : 1) * batch;
          assert.ok(r.us > 1000 * floorMs(flops) && r.us < 1e6, `${r.engine} ${m.name} ${dtype} batch ${batch}: ${r.us} µs for ${flops} flops`);
          assert.ok(r.bytes_gzip > 0 && r.bytes_gzip < r.bytes + 100, `${r.engine}: gzipped ${r.bytes_gzip} of ${r.bytes}`);
          assert.ok(Math.abs(r.vs_onnxruntime! - ort.us / r.us) <= 0.01 + 0.01 * r.vs_onnxruntime!, `${r.engine}: vs_onnxruntime ${r.vs_onnxruntime}, ${ort.us} / ${r.us}`);
        }
        // The compact file stores only the non-zeros; ONNX stores every weight.
        const ours = group.find((r) => r.engine === "sparsetrain")!;
        assert.ok(ours.bytes * 3 < ort.bytes, `compact ${ours.bytes} bytes vs ONNX ${ort.bytes}`);
      }
    }
  }
});

test("bench infer --rounds 0: a one-line error naming the option, exit 1", () => {
  const run = spawnSync(process.execPath, [cli, "bench", "infer", "--json", "--rounds", "0"], { encoding: "utf8" });
  assert.equal(run.status, 1);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr, 'sparsetrain: bench infer: --rounds must be a positive integer, got "0"\n');
});
