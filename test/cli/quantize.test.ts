// `sparsetrain quantize` end to end on a tiny trained MNIST model: accuracy kept, printed non-zeros equal info's and eval's, bad input refused without touching the input; initFrom and resume rules for quantized and masked checkpoints.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadCheckpoint, statePath } from "../../src/io/checkpoint.js";
import { runRecipe } from "../../src/train/run.js";
import { messageOf } from "../helpers/checkpoint-files.js";
import { recipe } from "../helpers/pruned-runs.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);
const root = mkdtempSync(join(tmpdir(), "quantize-cli-"));
const quiet = { log: () => {} };

let trained: string | undefined;
/** A 784-32-10 MLP with a CSR first layer trained 2 epochs on 540 MNIST images, then pruned to a masked second layer. */
function trainedCheckpoint(): string {
  if (trained !== undefined) return trained;
  const summary = runRecipe(recipe(undefined, {
    model: { preset: "mlp", widths: [32], sparse: { "0": { density: 0.3 } } }, train: { epochs: 2 }, output: { checkpointEvery: 0 },
  }), "float.yaml", { runDir: join(root, "float"), ...quiet });
  const pruned = join(root, "pruned.safetensors");
  const r = run("prune", summary.checkpoint, "--amount", "0.5", "--include", "layers.2", "--csr-below", "0.1", "--out", pruned);
  assert.equal(r.status, 0, r.stderr);
  trained = pruned;
  return trained;
}

test("quantize --bits 8: accuracy within 0.2 points of the float model; the printed non-zeros equal info's and eval's; the input is untouched", () => {
  const input = trainedCheckpoint();
  const before = readFileSync(input);
  const floatEval = run("eval", input, "--json");
  assert.equal(floatEval.status, 0, floatEval.stderr);
  const float = lastJson(floatEval.stdout);
  for (const bits of ["8", "4"]) {
    const out = join(root, `int${bits}.safetensors`);
    const q = run("quantize", input, "--bits", bits, "--out", out, "--json");
    assert.equal(q.status, 0, q.stderr);
    assert.match(q.stdout, new RegExp(`layers\\.0\\.weight +csr .*non-zero +\\d+ → \\d+ +int${bits}`));
    assert.match(q.stdout, new RegExp(`layers\\.2\\.weight +masked .*int${bits}`));
    const printed = lastJson(q.stdout);
    assert.equal(printed.bits, Number(bits));
    assert.equal(printed.granularity, "per-row");
    assert.ok(printed.file_bytes < printed.input_file_bytes, `${printed.file_bytes} bytes, input ${printed.input_file_bytes}`);
    for (const l of printed.layers) assert.ok(l.nonzero_after <= l.nonzero_before, `${l.name}: non-zeros grew`);

    const info = run("info", out, "--json");
    assert.equal(info.status, 0, info.stderr);
    const stored = JSON.parse(info.stdout);
    assert.equal(stored.params_nonzero, printed.params_nonzero);
    assert.deepEqual(stored.quantization, { scheme: "symmetric", bits: Number(bits), granularity: "per-row", zero_point: 0 });
    for (const l of printed.layers) {
      const s = stored.layers.find((x: { name: string }) => x.name === l.name);
      assert.equal(s.nonzero, l.nonzero_after, l.name);
      assert.equal(s.bytes, l.bytes, l.name);
      assert.deepEqual(s.quantization, { bits: Number(bits), granularity: "per-row", scales: l.shape[0], scale_min: l.scale_min, scale_max: l.scale_max });
    }
    const human = run("info", out);
    assert.match(human.stdout, new RegExp(`layers\\.0\\.weight .* int${bits} +32 in \\[`));
    assert.match(human.stdout, new RegExp(`quantized: int${bits} weights, per-row scales`));

    const evaluated = run("eval", out, "--json");
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const e = lastJson(evaluated.stdout);
    assert.equal(e.params_nonzero, printed.params_nonzero);
    assert.equal(e.examples, 10_000);
    const drop = float.test_accuracy - e.test_accuracy;
    if (bits === "8") assert.ok(Math.abs(drop) <= 0.002, `int8 accuracy ${e.test_accuracy} vs float ${float.test_accuracy}`);
    else assert.ok(drop <= 0.03, `int4 accuracy ${e.test_accuracy} vs float ${float.test_accuracy}`);
  }
  assert.ok(readFileSync(input).equals(before), "quantize changed its input");
});

test("quantize refuses bad --bits and --granularity, its own input (any spelling), the input's state file, and a quantized input; one line, no stack, input untouched", () => {
  const input = trainedCheckpoint();
  const before = readFileSync(input);
  const folder = dirname(input);
  const symlink = join(root, "link.safetensors");
  symlinkSync(input, symlink);
  const hardlink = join(root, "hard.safetensors");
  linkSync(input, hardlink);
  const quantized = join(root, "already.safetensors");
  assert.equal(run("quantize", input, "--bits", "8", "--out", quantized).status, 0);
  const fresh = join(root, "never-written.safetensors");
  const cases: [string[], RegExp][] = [
    [["--bits", "3", "--out", fresh], /^sparsetrain: --bits must be 8 or 4, got "3"$/],
    [["--bits", "8.0", "--out", fresh], /^sparsetrain: --bits must be 8 or 4, got "8.0"$/],
    [["--bits", "8", "--granularity", "per-block", "--out", fresh], /^sparsetrain: --granularity must be per-row or per-tensor, got "per-block"$/],
    [["--bits", "8", "--out", input], /^sparsetrain: --out must differ from the input checkpoint .*: quantize never overwrites its input$/],
    [["--bits", "8", "--out", join(folder, ".", "..", basename(folder), basename(input))], /--out must differ from the input checkpoint/],
    [["--bits", "8", "--out", symlink], /--out must differ from the input checkpoint/],
    [["--bits", "8", "--out", hardlink], /--out must differ from the input checkpoint/],
    [["--bits", "8", "--out", statePath(input)], /is the state file of the input checkpoint .*: quantize never overwrites its input$/],
  ];
  for (const [args, pattern] of cases) {
    const r = run("quantize", input, ...args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const again = run("quantize", quantized, "--bits", "4", "--out", fresh);
  assert.equal(again.status, 1);
  assert.equal(again.stderr.trim(), `sparsetrain: ${quantized}: already quantized (int8 per-row); quantize the float checkpoint it was made from`);
  const missing = run("quantize", "--bits", "8", "--out", fresh);
  assert.notEqual(missing.status, 0);
  assert.ok(!existsSync(fresh), "a refused quantize wrote its output");
  assert.ok(readFileSync(input).equals(before), "a refused quantize changed its input");
});

test("model.initFrom: a pruned masked checkpoint keeps its zeros through fine-tuning; a quantized one needs a quantize: section; --resume refuses a quantized checkpoint", () => {
  const input = trainedCheckpoint();
  const masked = loadCheckpoint(input).model.net.parameters().find((p) => p.mask)!;
  const finetuned = runRecipe(recipe(undefined, {
    model: { preset: "mlp", widths: [32], sparse: { "0": { density: 0.3 } }, initFrom: input }, train: { epochs: 1 }, output: { checkpointEvery: 0 },
  }), "finetune.yaml", { runDir: join(root, "finetune"), ...quiet });
  const after = loadCheckpoint(finetuned.checkpoint).model.net.parameters().find((p) => p.name === masked.name)!;
  const regrown = Array.from(masked.mask!.data).filter((m, i) => m === 0 && after.tensor.data[i] !== 0).length;
  assert.equal(regrown, 0, `${regrown} pruned weights of ${masked.name} regrew during fine-tuning`);
  assert.deepEqual(after.mask?.toArray(), masked.mask!.toArray());

  const quantized = join(root, "for-init.safetensors");
  assert.equal(run("quantize", input, "--bits", "4", "--out", quantized).status, 0);
  const fromQuantized = recipe(undefined, { model: { preset: "mlp", widths: [32], sparse: { "0": { density: 0.3 } }, initFrom: quantized }, train: { epochs: 1 } });
  assert.equal(messageOf(() => runRecipe(fromQuantized, "q.yaml", { runDir: join(root, "from-quantized"), ...quiet })),
    `${quantized}: a quantized (int4 per-row) checkpoint; model.initFrom needs float weights — add a quantize: section to fine-tune it with quantization-aware training, or start from the float checkpoint`);
  const resumeRecipe = recipe(undefined, { model: { preset: "mlp", widths: [32], sparse: { "0": { density: 0.3 } } }, train: { epochs: 3 } });
  assert.match(messageOf(() => runRecipe(resumeRecipe, "r.yaml", { runDir: join(root, "resume"), resume: quantized, ...quiet })),
    new RegExp(`^${quantized.replace(/[.]/g, "\\.")}: a quantized \\(int4 per-row\\) checkpoint; --resume needs the float checkpoint of a run`));
});
