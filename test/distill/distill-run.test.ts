// Distillation runs from recipes on tiny MNIST: the student moves toward a LeNet-5 teacher, 2 threads follow 1, a resumed run is bit-identical.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { noGrad } from "../../src/autograd/engine.js";
import { distillationLoss } from "../../src/autograd/ops/distill-loss.js";
import { prepareData } from "../../src/data/prepare.js";
import { teacherLogits } from "../../src/distill/teacher.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";
import { runRecipe } from "../../src/train/run.js";
import { assertSameCheckpoint } from "../helpers/checkpoint-files.js";

const root = mkdtempSync(join(tmpdir(), "distill-run-"));
const data = { dataset: "mnist" as const, validation: 0.1, limit: { train: 600, test: 200 }, batchSize: 50 };

let teacherPath: string | undefined;
/** A LeNet-5 teacher (another architecture than the students, and data scaled to [0, 1] where the students standardize). */
function teacher(): string {
  teacherPath ??= runRecipe(validateRecipe({
    seed: 1, data: { ...data, normalize: "scale" }, model: { preset: "lenet-5" },
    optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 }, train: { epochs: 2 }, output: { checkpointEvery: 0 },
  }), "teacher.yaml", { runDir: join(root, "teacher") }).checkpoint;
  return teacherPath;
}

/** A 90%-sparse RigL student (uniform density 0.1); `distill` adds the teacher. */
const student = (distill: object | undefined, overrides: object = {}) => validateRecipe({
  seed: 3, data, model: { preset: "mlp", widths: [32] },
  optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 }, train: { epochs: 3 }, output: { checkpointEvery: 1 },
  sparsity: { method: "rigl", density: 0.1, distribution: "uniform", updateEvery: 5 },
  ...(distill ? { distill: { teacher: teacher(), ...distill } } : {}),
  ...overrides,
});

/** Mean T²·KL(softmax(teacher/T) ‖ softmax(student/T)) over the training examples: the distillation loss with α = 1. */
function klToTeacher(studentCheckpoint: string, temperature: number): number {
  const prepared = prepareData({ ...data, normalize: "standardize" }, 3);
  const targets = teacherLogits(loadCheckpoint(teacher()), prepared.train, prepared.normalizer);
  const { model } = loadCheckpoint(studentCheckpoint);
  model.net.eval();
  const n = prepared.train.length;
  return noGrad(() => tidy(() => {
    const logits = model.net.forward(tensor(prepared.train.features, [n, ...model.inputShape]));
    return distillationLoss(logits, tensor(targets, [n, 10]), prepared.train.labels, { temperature, alpha: 1 }).item();
  }));
}

test("a distilled student ends closer to its teacher than the same recipe without one", { timeout: 120_000 }, () => {
  const lines: string[] = [];
  const distilled = runRecipe(student({ temperature: 2, alpha: 0.9 }), "distilled.yaml", { runDir: join(root, "distilled"), log: (l) => lines.push(l) });
  const plain = runRecipe(student(undefined), "plain.yaml", { runDir: join(root, "plain") });
  const logged = lines.find((l) => l.startsWith("distill: teacher"));
  assert.ok(logged !== undefined && logged.includes(teacher()) && /lenet-5, test accuracy \d+\.\d\d%/.test(logged) && /temperature 2, alpha 0\.9/.test(logged), `log line: ${logged}`);
  const withTeacher = klToTeacher(distilled.checkpoint, 2), without = klToTeacher(plain.checkpoint, 2);
  assert.ok(withTeacher < 0.8 * without, `T²·KL to the teacher: ${withTeacher} distilled, ${without} without`);
  // Validation and test stay plain cross-entropy: the reported test loss is the checkpoint's cross-entropy, whatever the training loss.
  assert.ok(distilled.test_loss > 0 && distilled.sparsity > 0.85, JSON.stringify({ loss: distilled.test_loss, sparsity: distilled.sparsity }));
});

test("distillation with threads: 2 follows threads: 1 step by step (RigL updates included)", { timeout: 120_000 }, () => {
  const losses = (threads: number) => {
    const out: number[] = [];
    runRecipe(student({}, { train: { epochs: 2, threads } }), "threads.yaml", { runDir: join(root, `threads-${threads}`), onStep: ({ loss }) => out.push(loss) });
    return out;
  };
  const single = losses(1), parallel = losses(2);
  assert.equal(parallel.length, 22);
  parallel.forEach((loss, i) => assert.ok(Math.abs(loss - single[i]) <= 1e-5 * single[i], `step ${i}: ${loss} vs ${single[i]}`));
});

for (const threads of [1, 2]) {
  test(`a distillation run resumed after epoch 1 of 3 is bit-identical to the uninterrupted run (threads: ${threads})`, { timeout: 120_000 }, () => {
    const recipe = student({}, { train: { epochs: 3, threads } });
    const straight = runRecipe(recipe, "resume.yaml", { runDir: join(root, `straight-${threads}`) });
    const resumed = runRecipe(recipe, "resume.yaml", { runDir: join(root, `resumed-${threads}`), resume: join(root, `straight-${threads}`, "epoch-1.safetensors") });
    assert.equal(resumed.steps, straight.steps);
    assert.equal(resumed.test_loss, straight.test_loss);
    assertSameCheckpoint(straight.checkpoint, resumed.checkpoint);
  });
}

// Hooks are untouched by distillation: a pruning method that converts layers to CSR and stochastic L0 gates, at 1 and 2 threads.
const otherMethods = [
  { sparsity: { method: "gmp", initialSparsity: 0, finalSparsity: 0.9, beginStep: 2, endStep: 16, frequency: 2 }, optimizer: {} },
  // The gates learn at a high rate of their own, as in the regularization recipes' tests.
  { sparsity: { method: "l0", lambda: 1e-3, fineTune: { epochs: 1 } }, optimizer: { optimizer: { name: "sgd", lr: 0.05, momentum: 0.9, paramGroups: [{ pattern: "*.log_alpha", lr: 100 }] } } },
];
for (const { sparsity, optimizer } of otherMethods) {
  test(`distillation with sparsity method ${sparsity.method}: 2 threads follow 1, the model ends sparse`, { timeout: 120_000 }, () => {
    const run = (threads: number) => {
      const losses: number[] = [];
      const summary = runRecipe(student({}, { sparsity, train: { epochs: 3, threads }, ...optimizer }), `${sparsity.method}.yaml`, {
        runDir: join(root, `${sparsity.method}-${threads}`), onStep: ({ loss }) => losses.push(loss),
      });
      return { losses, summary };
    };
    const single = run(1), parallel = run(2);
    assert.ok(single.losses.length >= 33 && single.losses.every(Number.isFinite));
    assert.equal(parallel.losses.length, single.losses.length);
    parallel.losses.forEach((loss, i) => assert.ok(Math.abs(loss - single.losses[i]) <= 1e-5 * single.losses[i], `step ${i}: ${loss} vs ${single.losses[i]}`));
    assert.ok(single.summary.sparsity > 0.3, `sparsity ${single.summary.sparsity}`);
  });
}
