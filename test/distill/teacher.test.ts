// The teacher: its logits see the data normalized as it was trained (not as the student's), and checkpoints that do not fit the data fail clearly.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { Dataset } from "../../src/data/dataset.js";
import { prepareData, type DataOptions } from "../../src/data/prepare.js";
import { loadTeacher, renormalize, teacherLogits } from "../../src/distill/teacher.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.js";
import { buildModel } from "../../src/nn/presets.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";
import { runRecipe } from "../../src/train/run.js";

const root = mkdtempSync(join(tmpdir(), "distill-teacher-"));
const tinyMnist = (normalize: DataOptions["normalize"]): DataOptions => ({ dataset: "mnist", validation: 0.1, limit: { train: 300, test: 100 }, normalize });

/** A LeNet-5 trained briefly on data scaled to [0, 1] (normalize: scale). */
function scaledLenet5Teacher(): string {
  const summary = runRecipe(validateRecipe({
    seed: 1, data: { ...tinyMnist("scale"), batchSize: 50 }, model: { preset: "lenet-5" },
    optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 }, train: { epochs: 1 }, output: { checkpointEvery: 0 },
  }), "teacher.yaml", { runDir: join(root, "lenet5-scale") });
  return summary.checkpoint;
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test("teacher logits: a teacher trained with normalize: scale sees scaled inputs although the student's data is standardized", { timeout: 60_000 }, () => {
  const path = scaledLenet5Teacher();
  const teacher = loadCheckpoint(path);
  assert.equal(teacher.normalizer?.kind, "scale");
  const student = prepareData(tinyMnist("standardize"), 1);
  const got = teacherLogits(teacher, student.train, student.normalizer);
  // The same examples prepared the teacher's way, through the teacher directly.
  const own = prepareData(tinyMnist("scale"), 1).train;
  assert.deepEqual(Array.from(own.labels), Array.from(student.train.labels));
  teacher.model.net.eval();
  const direct = noGrad(() => tidy(() => teacher.model.net.forward(tensor(own.features, [own.length, 1, 28, 28])).toArray()));
  assert.equal(got.length, own.length * 10);
  assert.ok(maxDifference(got, direct) <= 1e-4 * maxAbs(direct), `max difference ${maxDifference(got, direct)} of logits up to ${maxAbs(direct)}`);
  // Fed the student's standardized features unchanged, the teacher would give other logits.
  const unchanged = noGrad(() => tidy(() => teacher.model.net.forward(tensor(student.train.features, [own.length, 1, 28, 28])).toArray()));
  assert.ok(maxDifference(unchanged, direct) > 0.1 * maxAbs(direct), "the normalizations must differ enough for this test to mean something");
});

test("renormalize: student → raw → teacher, per feature and global, none for a checkpoint without a normalizer; the same normalizer copies nothing", () => {
  const raw = [0, 255, 10, 100, 30, 7];
  const student = { kind: "standardize-features" as const, shift: [5, 100, 20], factor: [0.5, 0.01, 0.2] };
  const x = Float32Array.from(raw, (v, i) => (v - student.shift[i % 3]) * student.factor[i % 3]);
  const toScale = renormalize(x, 3, student, { kind: "scale", shift: [0], factor: [1 / 255] });
  raw.forEach((v, i) => assert.ok(Math.abs(toScale[i] - v / 255) < 1e-6, `feature ${i}: ${toScale[i]} vs ${v / 255}`));
  const toRaw = renormalize(x, 3, student, undefined);
  raw.forEach((v, i) => assert.ok(Math.abs(toRaw[i] - v) < 1e-4, `feature ${i}: ${toRaw[i]} vs ${v}`));
  assert.equal(renormalize(x, 3, student, { ...student, shift: [...student.shift], factor: [...student.factor] }), x);
  assert.throws(() => renormalize(x, 3, student, { kind: "standardize-features", shift: [0, 0], factor: [1, 1] }), /distill.teacher: the teacher's normalizer has 2 features, the data 3/);
});

test("loadTeacher: missing, corrupt and truncated files, and teachers of another output or input size, fail naming distill.teacher, the file and what is expected", () => {
  const data = new Dataset(new Float32Array(2 * 784), new Int32Array(2), [1, 28, 28], 10);
  const missing = join(root, "no-such-teacher.safetensors");
  assert.throws(() => loadTeacher(missing, data), (e: Error) => e.message.startsWith(`distill.teacher: ${missing}: cannot read checkpoint`) && /expected a sparsetrain checkpoint/.test(e.message));

  const notSafetensors = join(root, "teacher.txt");
  writeFileSync(notSafetensors, "this is not a checkpoint\n");
  assert.throws(() => loadTeacher(notSafetensors, data), (e: Error) => e.message.startsWith(`distill.teacher: ${notSafetensors}: `) && /expected a sparsetrain checkpoint/.test(e.message));

  const good = join(root, "mlp-teacher.safetensors");
  saveCheckpoint(good, buildModel({ preset: "mlp", widths: [8], inputShape: [1, 28, 28], classes: 10, seed: 0 }), { step: 0, epoch: 0, seed: 0 });
  assert.equal(loadTeacher(good, data).spec.classes, 10);
  const truncated = join(root, "truncated.safetensors");
  const bytes = readFileSync(good);
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadTeacher(truncated, data), (e: Error) => e.message.startsWith(`distill.teacher: ${truncated}: `));

  const fiveClasses = join(root, "five-classes.safetensors");
  saveCheckpoint(fiveClasses, buildModel({ preset: "mlp", widths: [8], inputShape: [1, 28, 28], classes: 5, seed: 0 }), { step: 0, epoch: 0, seed: 0 });
  assert.throws(() => loadTeacher(fiveClasses, data), (e: Error) => e.message.startsWith(`distill.teacher: ${fiveClasses} outputs 5 classes, but the student has 10 (the data's classes)`));

  const otherInput = join(root, "other-input.safetensors");
  saveCheckpoint(otherInput, buildModel({ preset: "mlp", widths: [8], inputShape: [100], classes: 10, seed: 0 }), { step: 0, epoch: 0, seed: 0 });
  assert.throws(() => loadTeacher(otherInput, data), /: distill\.teacher: .*other-input\.safetensors takes 100 input features \(\[100\]\), but the data has 784 per example/);
});
