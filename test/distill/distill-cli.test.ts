// `sparsetrain train` with a bad `distill:` section: exit 1, one stderr line naming the option (and file) and what is allowed, no stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { buildModel } from "../../src/nn/presets.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "distill-cli-"));
const recipePath = join(dir, "student.yaml");
writeFileSync(recipePath, [
  "data: {dataset: mnist, validation: 0.1, limit: {train: 100, test: 50}, batchSize: 25}",
  "model: {preset: mlp, widths: [8]}",
  "train: {epochs: 1}",
  `distill: {teacher: ${JSON.stringify(join(dir, "teacher.safetensors"))}}`,
].join("\n"));

const train = (...set: string[]) =>
  spawnSync(process.execPath, [cli, "train", recipePath, "--quiet", "--run-dir", join(dir, "run"), ...set.flatMap((s) => ["--set", s])], { encoding: "utf8", timeout: 60_000 });

/** Exit 1, the last stderr line is "sparsetrain: <what>" matching `problem`, no stack trace, no summary. */
function assertCleanFailure(result: ReturnType<typeof train>, problem: RegExp): void {
  assert.equal(result.signal, null, `killed by ${result.signal}`);
  assert.equal(result.status, 1, `exit ${result.status}: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `more than one line: ${result.stderr}`);
  assert.match(lines[0], problem);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "stack trace");
  assert.doesNotMatch(result.stdout, /test accuracy/);
}

const checkpoint = (name: string, spec: { inputShape: number[]; classes: number }) => {
  const path = join(dir, name);
  saveCheckpoint(path, buildModel({ preset: "mlp", widths: [8], seed: 0, ...spec }), { step: 0, epoch: 0, seed: 0 });
  return path;
};

test("train with a bad distill section fails naming the option, the file and what is allowed", { timeout: 120_000 }, () => {
  const missing = join(dir, "missing.safetensors");
  assertCleanFailure(train(`distill.teacher=${missing}`), new RegExp(`^sparsetrain: distill\\.teacher: ${missing}: cannot read checkpoint .*ENOENT.*\\(expected a sparsetrain checkpoint`));

  const text = join(dir, "notes.safetensors");
  writeFileSync(text, "not a checkpoint at all, just text\n");
  assertCleanFailure(train(`distill.teacher=${text}`), new RegExp(`^sparsetrain: distill\\.teacher: ${text}: .*\\(expected a sparsetrain checkpoint`));

  const good = checkpoint("good.safetensors", { inputShape: [1, 28, 28], classes: 10 });
  const truncated = join(dir, "truncated.safetensors");
  writeFileSync(truncated, readFileSync(good).subarray(0, 4000));
  assertCleanFailure(train(`distill.teacher=${truncated}`), new RegExp(`^sparsetrain: distill\\.teacher: ${truncated}: .*\\(expected a sparsetrain checkpoint`));

  const fiveClasses = checkpoint("five-classes.safetensors", { inputShape: [1, 28, 28], classes: 5 });
  assertCleanFailure(train(`distill.teacher=${fiveClasses}`), new RegExp(`^sparsetrain: distill\\.teacher: ${fiveClasses} outputs 5 classes, but the student has 10`));

  const otherInput = checkpoint("other-input.safetensors", { inputShape: [64], classes: 10 });
  assertCleanFailure(train(`distill.teacher=${otherInput}`), new RegExp(`^sparsetrain: distill\\.teacher: ${otherInput} takes 64 input features \\(\\[64\\]\\), but the data has 784 per example`));

  assertCleanFailure(train(`distill.teacher=${good}`, "distill.temperature=0"), /distill\.temperature: expected a number > 0, got 0$/);
  assertCleanFailure(train(`distill.teacher=${good}`, "distill.temperature=-2"), /distill\.temperature: expected a number > 0, got -2$/);
  assertCleanFailure(train(`distill.teacher=${good}`, "distill.alpha=1.5"), /distill\.alpha: expected a number in \[0, 1\], got 1\.5$/);
  assertCleanFailure(train(`distill.teacher=${good}`, "distill.alpha=-0.1"), /distill\.alpha: expected a number in \[0, 1\], got -0\.1$/);
  assertCleanFailure(train(`distill.teacher=${good}`, "distill.tempreature=3"), /distill\.tempreature: unknown key "tempreature" \(did you mean "temperature"\?\); allowed here: teacher, temperature, alpha$/);

  // The same teacher, fitting the data, trains.
  const ok = train(`distill.teacher=${good}`);
  assert.equal(ok.status, 0, ok.stderr);
});
