// PyTorch opens our checkpoints: the system python3 with Debian's python3-torch loads a dense and a sparse model with load_state_dict(strict=True) and computes the same logits; quantized ones give codes × scales equal to our dequantized weights.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";
import { Linear } from "../../src/nn/linear.js";
import { saveQuantizedCheckpoint } from "../../src/quantize/checkpoint-write.js";
import { quantizeModel } from "../../src/quantize/quantize-model.js";
import { buildModel } from "../../src/nn/presets.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor } from "../../src/tensor/tensor.js";
import { repoRoot } from "../helpers/paths.js";
import { requireOrSkip } from "../helpers/requirements.js";

const script = join(repoRoot(), "scripts", "torch", "load_checkpoint.py");
const dequantizeScript = join(repoRoot(), "scripts", "torch", "dequantize_checkpoint.py");
const python = "/usr/bin/python3"; // Debian's python3-torch installs for the system interpreter
const torchAvailable = spawnSync(python, ["-c", "import torch"]).status === 0;

test("PyTorch loads our checkpoints (dense and CSR weights) with strict load_state_dict and gets the same logits", (t) => {
  if (!requireOrSkip(t, torchAvailable, "the system python3 cannot import torch (apt-get install python3-torch)")) return;
  const dir = mkdtempSync(join(tmpdir(), "torch-"));
  const rng = new Rng(9, "inputs");
  const inputs = Array.from({ length: 3 }, () => Array.from({ length: 784 }, () => rng.normal()));
  writeFileSync(join(dir, "inputs.json"), JSON.stringify(inputs));
  for (const sparse of [{}, { "0": 0.1, "2": 0.3 }] as Record<string, number>[]) {
    const model = buildModel({ preset: "lenet-300-100", inputShape: [1, 28, 28], classes: 10, seed: 4, sparse });
    const path = join(dir, `model-${Object.keys(sparse).length}.safetensors`);
    saveCheckpoint(path, model, { step: 0, epoch: 0, seed: 4 });
    const r = spawnSync(python, [script, path, join(dir, "inputs.json")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { keys: string[]; logits: number[][] };
    assert.deepEqual(out.keys, ["layers.0.bias", "layers.0.weight", "layers.2.bias", "layers.2.weight", "layers.4.bias", "layers.4.weight"]);
    const ours = noGrad(() => model.net.eval().forward(tensor(inputs.flat(), [3, 784])).toArray());
    out.logits.flat().forEach((v, i) => assert.ok(Math.abs(v - ours[i]) < 1e-4, `logit ${i}: torch ${v}, ours ${ours[i]}`));
  }
});

test("PyTorch reads our quantized checkpoints (int8 per-row, int4 per-tensor; CSR, masked, dense): codes × scales equal our dequantized weights, same logits", (t) => {
  if (!requireOrSkip(t, torchAvailable, "the system python3 cannot import torch (apt-get install python3-torch)")) return;
  const dir = mkdtempSync(join(tmpdir(), "torch-quantized-"));
  const rng = new Rng(9, "inputs");
  const inputs = Array.from({ length: 3 }, () => Array.from({ length: 64 }, () => rng.normal()));
  writeFileSync(join(dir, "inputs.json"), JSON.stringify(inputs));
  const configurations = [[8, "per-row"], [4, "per-tensor"], [4, "per-row"]] as const;
  const paths = configurations.map(([bits, granularity]) => {
    const model = buildModel({ preset: "mlp", inputShape: [1, 8, 8], widths: [24, 16], classes: 10, seed: 4, sparse: { "0": 0.3 } });
    const masked = model.net.layers[2] as Linear;
    masked.setMask(tensor(Float32Array.from({ length: masked.weight.size }, (_, i) => (i % 4 === 0 ? 0 : 1)), masked.weight.shape));
    const path = join(dir, `int${bits}-${granularity}.safetensors`);
    saveQuantizedCheckpoint(path, model, quantizeModel(model, { bits, granularity }), { step: 0, epoch: 0, seed: 4 });
    return path;
  });
  // One python process for all files: importing torch is most of its time.
  const r = spawnSync(python, [dequantizeScript, join(dir, "inputs.json"), ...paths], { encoding: "utf8", cwd: dirname(dequantizeScript) });
  assert.equal(r.status, 0, r.stderr);
  const outputs = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { weights: Record<string, number[]>; logits: number[][] });
  assert.equal(outputs.length, paths.length);
  paths.forEach((path, k) => {
    const out = outputs[k];
    const loaded = loadCheckpoint(path).model;
    for (const p of loaded.net.parameters().filter((x) => x.name.endsWith(".weight"))) {
      const ours = Array.from(p.sparse ? p.sparse.toDense().data : p.tensor.data);
      assert.deepEqual(out.weights[p.name], ours, `${p.name} ${path}`);
    }
    const logits = noGrad(() => loaded.net.eval().forward(tensor(inputs.flat(), [3, 64])).toArray());
    out.logits.flat().forEach((v, i) => assert.ok(Math.abs(v - logits[i]) < 1e-4, `logit ${i}: torch ${v}, ours ${logits[i]}`));
  });
});
