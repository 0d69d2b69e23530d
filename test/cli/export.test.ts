// `sparsetrain export` end to end: eval/info of exported compact files equal the checkpoint's, quantized checkpoints export their own codes, ONNX files run in onnxruntime-node, MLP with batch norm and LeNet-5 checkpoints, bad input refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadImageDataset } from "../../src/data/mnist.js";
import { onnx } from "../../src/export/onnx-protos.js";
import { loadCheckpoint, saveCheckpoint, statePath } from "../../src/io/checkpoint.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { buildModel, type ModelSpec } from "../../src/nn/presets.js";
import { saveQuantizedCheckpoint } from "../../src/quantize/checkpoint-write.js";
import { quantizeModel } from "../../src/quantize/quantize-model.js";
import { unpackInt4 } from "../../src/quantize/rows.js";
import { readCompactModel } from "../../src/runtime/compact-reader.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { runRecipe } from "../../src/train/run.js";
import { argmaxRows, maxAbsDiff, mlpModel, mnistScalar, modelLogits, normalized, rawInputs } from "../helpers/compact-models.js";
import { loadOnnxRuntime, runOnnx } from "../helpers/onnx-runtime.js";
import { recipe } from "../helpers/pruned-runs.js";
import { requireOrSkip } from "../helpers/requirements.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);
const root = mkdtempSync(join(tmpdir(), "export-cli-"));

function ok(r: ReturnType<typeof run>): string {
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

let trained: string | undefined;
/** A 784-32-10 MLP trained 2 epochs on 540 MNIST images: layer 0 CSR (30%), layer 2 pruned to a masked dense weight. */
function trainedCheckpoint(): string {
  if (trained !== undefined) return trained;
  const summary = runRecipe(recipe(undefined, {
    model: { preset: "mlp", widths: [32], sparse: { "0": { density: 0.3 } } }, train: { epochs: 2 }, output: { checkpointEvery: 0 },
  }), "float.yaml", { runDir: join(root, "float"), log: () => {} });
  const pruned = join(root, "pruned.safetensors");
  ok(run("prune", summary.checkpoint, "--amount", "0.5", "--include", "layers.2", "--csr-below", "0.1", "--out", pruned));
  trained = pruned;
  return trained;
}

/** The printed confusion matrix: every prediction of the 10,000 test images, by true and predicted class. */
const confusion = (stdout: string) => stdout.split("confusion matrix")[1].split("\n").filter((l) => /^[ 0-9]+$/.test(l)).join("\n");

test("export --format compact: eval of the file on raw images equals eval of the checkpoint (same predictions); info lists each layer's encoding, values and bytes", () => {
  const input = trainedCheckpoint();
  const before = readFileSync(input);
  const out = join(root, "float.compact");
  const printed = lastJson(ok(run("export", input, "--format", "compact", "--out", out, "--json")));
  assert.equal(printed.bytes, statSync(out).size);
  assert.equal(printed.checkpoint_bytes, before.length);
  assert.equal(printed.size_ratio, printed.bytes / printed.checkpoint_bytes);
  assert.ok(printed.size_ratio < 1, `compact ${printed.bytes} bytes, checkpoint ${printed.checkpoint_bytes}`);
  assert.ok(readFileSync(input).equals(before), "export changed its input");

  const fromCheckpoint = ok(run("eval", input, "--json"));
  const fromFile = ok(run("eval", out, "--json"));
  assert.equal(lastJson(fromFile).test_accuracy, lastJson(fromCheckpoint).test_accuracy);
  assert.equal(lastJson(fromFile).examples, 10_000);
  assert.ok(Math.abs(lastJson(fromFile).test_loss - lastJson(fromCheckpoint).test_loss) < 1e-5);
  assert.equal(confusion(fromFile), confusion(fromCheckpoint));
  assert.equal(confusion(fromFile).split("\n").length, 10);

  const info = JSON.parse(ok(run("info", out, "--json")));
  assert.deepEqual(info.layers.map((l: { kind: string }) => l.kind), ["linear", "linear"]);
  assert.deepEqual(info.layers.map((l: { weight_shape: number[] }) => l.weight_shape), [[32, 784], [10, 32]]);
  for (const l of info.layers) {
    assert.ok(["dense", "csr", "bitmask", "csr-expgolomb"].includes(l.encoding), l.encoding);
    assert.equal(l.values, "float32");
  }
  assert.ok(info.layers.reduce((s: number, l: { bytes: number }) => s + l.bytes, 0) < info.file_bytes);
  const checkpointInfo = JSON.parse(ok(run("info", input, "--json")));
  assert.equal(info.weights_nonzero, checkpointInfo.layers.filter((l: { name: string }) => l.name.endsWith(".weight")).reduce((s: number, l: { nonzero: number }) => s + l.nonzero, 0));
  assert.match(ok(run("info", out)), /layers\.0 +linear +\[32, 784\] +relu +(bitmask|csr|csr-expgolomb|dense) +float32/);
});

/** Dense [rows, cols] codes of each quantized weight of a checkpoint, read from its tensors (not through the loader). */
function checkpointCodes(path: string, bits: 8 | 4): Int8Array[] {
  const { tensors } = readSafetensors(path);
  const checkpoint = loadCheckpoint(path);
  const quantized = new Set(checkpoint.quantization!.layers.map((l) => l.name));
  return checkpoint.model.net.parameters().filter((p) => quantized.has(p.name)).map((p) => {
    const codesOf = (name: string, count: number) => (bits === 8 ? tensors.get(name)!.values as Int8Array : unpackInt4(tensors.get(name)!.values as Uint8Array, count));
    if (!p.sparse) return Int8Array.from(codesOf(p.name, p.tensor.size));
    const { rows, cols } = p.sparse;
    const rowPtr = Array.from(tensors.get(`${p.name}.crow_indices`)!.values as BigInt64Array, Number);
    const colIdx = Array.from(tensors.get(`${p.name}.col_indices`)!.values as BigInt64Array, Number);
    const codes = codesOf(`${p.name}.values`, colIdx.length);
    const dense = new Int8Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let i = rowPtr[r]; i < rowPtr[r + 1]; i++) dense[r * cols + colIdx[i]] = codes[i];
    return dense;
  });
}

/** Dense codes of each weight of a compact file. */
function compactCodes(path: string): Int8Array[] {
  return readCompactModel(readFileSync(path), path).layers.flatMap((l) => {
    if (l.kind !== "linear" && l.kind !== "conv2d") return [];
    const w = l.weight, dense = new Int8Array(w.rows * w.cols);
    for (let r = 0; r < w.rows; r++) for (let i = w.rowPtr[r]; i < w.rowPtr[r + 1]; i++) dense[r * w.cols + w.colIdx[i]] = w.codes![i];
    return [dense];
  });
}

/** Dense codes of each DequantizeLinear initializer of an ONNX file. */
function onnxCodes(path: string, bits: 8 | 4): Int8Array[] {
  const graph = onnx.ModelProto.decode(readFileSync(path)).graph!;
  return graph.initializer!.filter((t) => t.name!.endsWith(".weight_quantized")).map((t) => {
    const count = t.dims!.reduce((a: number, b) => a * Number(b), 1);
    return bits === 8 ? new Int8Array(t.rawData!.buffer.slice(t.rawData!.byteOffset, t.rawData!.byteOffset + count)) : unpackInt4(Uint8Array.from(t.rawData!), count);
  });
}

/**
 * The test images on which the compact file's reference forward pass and the checkpoint's model predict
 * differently; fails if any of them is not a near-tie (top two logits within 1e-4).
 */
function nearTieDisagreements(checkpointPath: string, compactPath: string): number {
  const checkpoint = loadCheckpoint(checkpointPath);
  const { test: images } = loadImageDataset("mnist");
  const count = images.length;
  const ours = modelLogits(checkpoint.model, normalized(images.features, checkpoint.normalizer!, 784), count);
  const exported = referencePredict(readCompactModel(readFileSync(compactPath)), images.features, count);
  const a = argmaxRows(ours, 10), b = argmaxRows(exported, 10);
  let disagreements = 0;
  for (let i = 0; i < count; i++) {
    if (a[i] === b[i]) continue;
    disagreements++;
    const margin = Math.abs(ours[i * 10 + a[i]] - ours[i * 10 + b[i]]);
    assert.ok(margin <= 1e-4, `example ${i}: predicted ${a[i]} by the checkpoint, ${b[i]} by the export, logits ${margin} apart`);
  }
  assert.ok(disagreements <= 5, `${disagreements} disagreements`);
  return disagreements;
}

test("a quantized checkpoint exports its own codes (int8 per-row, int4 per-tensor) to compact and ONNX, with the same accuracy; --quantize of the float checkpoint gives the same codes; a conflicting --quantize or --values is refused", () => {
  const input = trainedCheckpoint();
  for (const [bits, granularity] of [[8, "per-row"], [4, "per-tensor"]] as const) {
    const quantized = join(root, `int${bits}-${granularity}.safetensors`);
    ok(run("quantize", input, "--bits", String(bits), "--granularity", granularity, "--out", quantized));
    const expected = checkpointCodes(quantized, bits);
    const compact = join(root, `int${bits}-${granularity}.compact`), model = join(root, `int${bits}-${granularity}.onnx`);
    const printed = lastJson(ok(run("export", quantized, "--format", "compact", "--out", compact, "--json")));
    assert.deepEqual(printed.quantization, { bits, granularity });
    assert.equal(printed.values, `int${bits}`);
    ok(run("export", quantized, "--format", "onnx", "--out", model));
    assert.deepEqual(compactCodes(compact), expected, `compact int${bits} ${granularity}`);
    assert.deepEqual(onnxCodes(model, bits), expected, `onnx int${bits} ${granularity}`);
    assert.ok(expected[0].some((c) => Math.abs(c) === (bits === 8 ? 127 : 7)), "codes reach ±qmax");
    // Same accuracy, up to examples on which float32 (the checkpoint's model) and float64 (the reference) rounding break a near-tie.
    const ties = nearTieDisagreements(quantized, compact);
    const accuracy = (path: string) => lastJson(ok(run("eval", path, "--json"))).test_accuracy;
    assert.ok(Math.abs(accuracy(compact) - accuracy(quantized)) <= ties / 10_000 + 1e-12, `int${bits} ${granularity}: ${ties} near-tie disagreements`);
    if (granularity === "per-row") {
      const onExport = join(root, `on-export-int${bits}.compact`);
      ok(run("export", input, "--format", "compact", "--quantize", `int${bits}`, "--out", onExport));
      assert.deepEqual(compactCodes(onExport), expected, `--quantize int${bits}`);
    }
    if (bits === 4) continue;
    // Asking again for the checkpoint's own width is fine; another width or float values conflict.
    ok(run("export", quantized, "--format", "compact", "--quantize", `int${bits}`, "--out", join(root, "same.compact")));
    for (const [option, value] of [["--quantize", "int4"], ["--values", "float32"]]) {
      const r = run("export", quantized, "--format", "compact", option, value, "--out", join(root, "conflict.compact"));
      assert.equal(r.status, 1);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${option} ${value} conflicts with the checkpoint's own int${bits} ${granularity} quantization`));
      assert.ok(!existsSync(join(root, "conflict.compact")));
    }
  }
});

test("export --format onnx: onnxruntime-node on raw MNIST test images equals the checkpoint's model on normalized images (float32), and predicts as the int8 checkpoint", async (t) => {
  const { ort, reason } = await loadOnnxRuntime();
  if (!requireOrSkip(t, ort !== null, reason)) return;
  const input = trainedCheckpoint();
  const count = 200;
  const { test: images } = loadImageDataset("mnist");
  const raw = images.features.slice(0, count * 784);
  const float = loadCheckpoint(input);
  const floatOnnx = join(root, "float.onnx");
  ok(run("export", input, "--format", "onnx", "--out", floatOnnx));
  const ours = modelLogits(float.model, normalized(raw, float.normalizer!, 784), count);
  const diff = maxAbsDiff(await runOnnx(ort!, readFileSync(floatOnnx), raw, count), ours);
  assert.ok(diff <= 1e-4, `float32: max abs diff ${diff}`);

  const int8 = join(root, "onnx-int8.safetensors"), int8Onnx = join(root, "int8.onnx");
  ok(run("quantize", input, "--bits", "8", "--out", int8));
  ok(run("export", int8, "--format", "onnx", "--out", int8Onnx));
  const quantized = loadCheckpoint(int8);
  const fakeQuantized = modelLogits(quantized.model, normalized(raw, quantized.normalizer!, 784), count);
  const exported = await runOnnx(ort!, readFileSync(int8Onnx), raw, count);
  assert.deepEqual(argmaxRows(exported, 10), argmaxRows(fakeQuantized, 10));
  assert.ok(maxAbsDiff(exported, fakeQuantized) <= 1e-3);
  assert.match(ok(run("info", int8Onnx)), /layers\.0\.weight_quantized +int8 +\[32, 784\]/);
});

test("export of saved checkpoints: MLP with batch norm (CSR, masked, dense) and sparse LeNet-5, float32 and int8, compact and ONNX, equal the model on normalized inputs", async (t) => {
  const { ort, reason } = await loadOnnxRuntime();
  const lenetSpec: ModelSpec = { preset: "lenet-5", inputShape: [1, 28, 28], classes: 10, sparse: { "0": 0.5, "2": 0.2, "5": 0.1 }, seed: 3 };
  const info = { normalizer: mnistScalar, step: 0, epoch: 0, seed: 1 };
  for (const [name, make] of [["mlp-bn", () => mlpModel()], ["lenet-5", () => buildModel(lenetSpec)]] as const) {
    const floatPath = join(root, `${name}.safetensors`), int8Path = join(root, `${name}-int8.safetensors`);
    saveCheckpoint(floatPath, make(), info);
    const quantizedModel = make();
    saveQuantizedCheckpoint(int8Path, quantizedModel, quantizeModel(quantizedModel, { bits: 8 }), info);
    for (const path of [floatPath, int8Path]) {
      const checkpoint = loadCheckpoint(path);
      const size = checkpoint.model.inputShape.reduce((a, b) => a * b, 1);
      const raw = rawInputs(8, size);
      const ours = modelLogits(checkpoint.model, normalized(raw, mnistScalar, size), 8);
      const classes = ours.length / 8;
      const compactPath = `${path}.compact`, onnxPath = `${path}.onnx`;
      ok(run("export", path, "--format", "compact", "--out", compactPath));
      ok(run("export", path, "--format", "onnx", "--out", onnxPath));
      const fromCompact = referencePredict(readCompactModel(readFileSync(compactPath)), raw, 8);
      const outputs = [fromCompact, ...(requireOrSkip(t, ort !== null, reason) ? [await runOnnx(ort!, readFileSync(onnxPath), raw, 8)] : [])];
      for (const exported of outputs) {
        assert.ok(maxAbsDiff(exported, ours) <= 1e-4, `${path}: max abs diff ${maxAbsDiff(exported, ours)}`);
        assert.deepEqual(argmaxRows(exported, classes), argmaxRows(ours, classes));
      }
      if (path === int8Path) {
        // Batch norm folds into the rows' scales; a negative γ flips its row's codes, the magnitudes stay the checkpoint's.
        const abs = (codes: Int8Array[]) => codes.map((c) => c.map(Math.abs));
        assert.deepEqual(abs(compactCodes(compactPath)), abs(checkpointCodes(int8Path, 8)));
        assert.deepEqual(abs(onnxCodes(onnxPath, 8)), abs(checkpointCodes(int8Path, 8)));
      }
    }
  }
});

test("export refuses bad options, its own input and state file: one line naming the option and what is allowed, exit 1, nothing written", () => {
  const input = trainedCheckpoint();
  const before = readFileSync(input);
  const out = join(root, "refused.compact");
  const cases: [string[], RegExp][] = [
    [["--format", "tflite", "--out", out], /--format must be compact or onnx, got "tflite"/],
    [["--format", "compact", "--quantize", "int16", "--out", out], /--quantize must be int8 or int4, got "int16"/],
    [["--format", "compact", "--values", "int8", "--out", out], /--values must be float32 or float16 \(integer codes: --quantize int8 or int4\), got "int8"/],
    [["--format", "compact", "--values", "float16", "--quantize", "int8", "--out", out], /--values float16 and --quantize int8 conflict/],
    [["--format", "onnx", "--values", "float16", "--out", out], /--values float16 is for --format compact/],
    [["--format", "compact", "--out", input], /is the input checkpoint; export never overwrites its input/],
    [["--format", "compact", "--out", statePath(input)], /is the input checkpoint's state file; export never overwrites its input/],
  ];
  for (const [args, message] of cases) {
    const r = run("export", input, ...args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(out), `${args.join(" ")} wrote ${out}`);
  }
  assert.ok(readFileSync(input).equals(before));
  const missing = run("export", input, "--out", out);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--format/);
  const onnxEval = run("eval", join(root, "float.onnx"));
  assert.match(onnxEval.stderr, /an ONNX model; eval reads checkpoints and compact model files/);
});
