// The CLI on bad files (checkpoints for info/eval, recipes, CSV and IDX data for train): exit 1, one line on stderr naming the file, no stack trace, nothing on stdout.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeIdx } from "../../src/data/idx.js";
import { editHeader, editMetadataJson, setTensorValues, writeSmallCheckpoint } from "./safetensors-bytes.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), "cli-bad-input-"));

/** Exit 1 (not a crash signal, not 0), a first stderr line "sparsetrain: <file>…" matching `problem`, no stack trace. */
function assertCleanFailure(result: ReturnType<typeof run>, file: string, problem: RegExp, oneLine = true): void {
  assert.equal(result.signal, null, `killed by ${result.signal} (a hang?)`);
  assert.equal(result.status, 1, `exit ${result.status}: ${result.stderr}`);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.ok(lines[0].startsWith(`sparsetrain: ${file}`), `stderr does not name ${file}: ${result.stderr}`);
  if (oneLine) assert.equal(lines.length, 1, `more than one line: ${result.stderr}`);
  for (const line of lines.slice(1)) assert.ok(line.startsWith(file), `line does not name ${file}: ${line}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "stack trace");
  assert.match(lines[0], problem);
}

test("info and eval on malformed checkpoints fail with one line naming the file and the problem", () => {
  const good = join(dir, "good.safetensors");
  writeSmallCheckpoint(good);
  const bytes = readFileSync(good);
  const cases: [string, Uint8Array, RegExp][] = [
    ["model-not-object", editHeader(bytes, (h) => void (h.__metadata__.model = "1")), /metadata "model": expected an object describing the model/],
    ["absurd-widths", editMetadataJson(bytes, "model", (m) => void (m.widths = [8, 706_164_421])), /tensor "layers\.4\.weight" has shape \[6, 8\], expected \[706164421, 8\]/],
    ["unknown-activation", editMetadataJson(bytes, "model", (m) => void (m.activation = "swish")), /field activation: expected one of/],
    ["normalizer-fields", editMetadataJson(bytes, "normalizer", () => ({ kind: "scale" })), /metadata "normalizer" field shift/],
    ["nan-weight", setTensorValues(bytes, "layers.8.weight", { 0: NaN }), /value NaN at index 0 is not finite/],
    ["truncated", bytes.subarray(0, bytes.length - 5), /data_offsets .* are out of range|belong to no tensor/],
    ["not-safetensors", new TextEncoder().encode("hello, this is not a checkpoint"), /header length \d+ is larger than the file/],
  ];
  for (const [name, content, problem] of cases) {
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, content);
    assertCleanFailure(run("info", path), path, problem);
    assertCleanFailure(run("eval", path, "--data", "mnist"), path, problem);
  }
  // A sound checkpoint whose model does not fit the data: refused before any kernel runs.
  assertCleanFailure(run("eval", good, "--data", "mnist"), good, /the model takes 16 features and predicts 3 classes; mnist has 784 features and 10 classes/);
  assert.equal(run("info", good).status, 0);
});

test("train on a bad recipe, bad CSV or bad IDX data fails naming the file, with no stack trace", () => {
  const recipe = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const badYaml = recipe("bad-yaml.yaml", "name: x\nmodel: {preset: mlp, widths: [8\n");
  assertCleanFailure(run("train", badYaml, "--quiet"), badYaml, /invalid YAML/, false);
  const badField = recipe("bad-field.yaml", "model:\n  preset: mlp\n  widths: [8, -1]\n  activation: swish\n");
  assertCleanFailure(run("train", badField, "--quiet"), badField, /model\.widths\[1\]: expected an integer >= 1, got -1/, false);
  const alias = recipe("alias.yaml", "name: *nowhere\n");
  assertCleanFailure(run("train", alias, "--quiet"), alias, /invalid YAML: Unresolved alias/);

  const csvPath = join(dir, "bad.csv");
  writeFileSync(csvPath, "a,b,label\n1,2,0\n3,x,1\n");
  const csvRecipe = recipe("csv.yaml", `data: {dataset: csv, path: ${JSON.stringify(csvPath)}}\nmodel: {preset: mlp, widths: [4]}\ntrain: {epochs: 1}\n`);
  assertCleanFailure(run("train", csvRecipe, "--quiet", "--run-dir", join(dir, "run-csv")), `${csvPath}:3`, /column "b" holds "x", which is not a number/);

  const idxDir = join(dir, "idx");
  mkdirSync(idxDir);
  const images = encodeIdx({ dtype: "uint8", shape: [4, 28, 28], values: new Uint8Array(4 * 784) });
  writeFileSync(join(idxDir, "train-images-idx3-ubyte"), images.subarray(0, images.length - 1));
  writeFileSync(join(idxDir, "train-labels-idx1-ubyte"), encodeIdx({ dtype: "uint8", shape: [4], values: new Uint8Array(4) }));
  writeFileSync(join(idxDir, "t10k-images-idx3-ubyte"), images);
  writeFileSync(join(idxDir, "t10k-labels-idx1-ubyte"), encodeIdx({ dtype: "uint8", shape: [4], values: Uint8Array.from([0, 1, 2, 99]) }));
  const mnistRecipe = recipe("mnist.yaml", "model: {preset: mlp, widths: [4]}\ntrain: {epochs: 1}\n");
  const trainImages = join(idxDir, "train-images-idx3-ubyte");
  assertCleanFailure(run("train", mnistRecipe, "--quiet", "--data-dir", idxDir, "--run-dir", join(dir, "run-idx")), trainImages, /header says 4×28×28 = 3136 bytes of data but the file has 3135/);
  writeFileSync(trainImages, images);
  const testLabels = join(idxDir, "t10k-labels-idx1-ubyte");
  assertCleanFailure(run("train", mnistRecipe, "--quiet", "--data-dir", idxDir, "--run-dir", join(dir, "run-idx")), testLabels, /label 99 of example 3 is not a class index/);
});
