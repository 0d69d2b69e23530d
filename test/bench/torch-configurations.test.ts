// `bench train`'s PyTorch configurations, driven through a fake python: the thread and CPU-detection matrix, each child's environment, ratios to the fastest configuration, and crashes or a missing torch that leave the other contenders measured.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { benchTrain } from "../../src/bench/train.js";
import { torchChildEnvironment, torchConfigurations } from "../../src/bench/torch-peer.js";

// Stands in for `python3`: `-c ...` is the torch probe; otherwise it serves bench/torch_mlp.py's
// protocol, logs the environment and arguments it got, and reports a speed that depends on them
// (ms per step = 12 / BLAS threads + 2 × intra-op threads, + 5 with OPENBLAS_CORETYPE, + 1 with
// OPENBLAS_L2_SIZE), so the rows show which configuration each child really ran.
// FAKE_TORCH_CRASH="b2i2:start,b1i2:run2" crashes those configurations at start or at that run.
const FAKE_PYTHON = `#!${process.execPath}
const { appendFileSync } = require("node:fs");
const args = process.argv.slice(2);
const env = process.env;
if (args[0] === "-c") {
  if (env.FAKE_TORCH_MISSING) { console.error("ModuleNotFoundError: No module named 'torch'"); process.exit(1); }
  console.log("9.9.9-fake");
  process.exit(0);
}
const intraOp = Number(args[args.indexOf("--intra-op-threads") + 1]);
const blas = Number(env.OPENBLAS_NUM_THREADS);
const key = "b" + blas + "i" + intraOp;
const crash = Object.fromEntries((env.FAKE_TORCH_CRASH || "").split(",").filter(Boolean).map((s) => s.split(":")));
appendFileSync(env.FAKE_TORCH_LOG, JSON.stringify({ key, intraOp, OPENBLAS_NUM_THREADS: env.OPENBLAS_NUM_THREADS,
  OPENBLAS_CORETYPE: env.OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE: env.OPENBLAS_L2_SIZE, OMP_NUM_THREADS: env.OMP_NUM_THREADS,
  OMP_WAIT_POLICY: env.OMP_WAIT_POLICY, serve: args.includes("--serve"), model: args[args.indexOf("--model") + 1] }) + "\\n");
if (crash[key] === "start") { console.error("Segmentation fault (fake)"); process.exit(139); }
const msPerStep = 12 / blas + 2 * intraOp + (env.OPENBLAS_CORETYPE ? 5 : 0) + (env.OPENBLAS_L2_SIZE ? 1 : 0);
console.log(JSON.stringify({ ready: true, version: "9.9.9-fake", intra_op_threads: intraOp, blas_threads: blas,
  blas_core: (env.OPENBLAS_CORETYPE || "none") + "/" + (env.OPENBLAS_L2_SIZE || "none") }));
let runs = 0;
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  runs++;
  if (crash[key] === "run" + runs) { console.error("RuntimeError: fake crash in run " + runs); process.exit(1); }
  console.log(JSON.stringify({ ms: JSON.parse(line).steps * msPerStep, loss: 2.3 }));
});
`;

function fakePython(): { python: string; log: string; read(): Record<string, unknown>[] } {
  const dir = mkdtempSync(join(tmpdir(), "sparsetrain-fake-python-"));
  const python = join(dir, "python3");
  writeFileSync(python, FAKE_PYTHON);
  chmodSync(python, 0o755);
  const log = join(dir, "log.jsonl");
  writeFileSync(log, "");
  return { python, log, read: () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
}

const fakeMs = (blas: number, intraOp: number, overrides: boolean) => 12 / blas + 2 * intraOp + (overrides ? 6 : 0);
const steps = 2, reps = 2;
const onlyTorch = { steps, reps, data: "random" as const, skipTfjs: true, threads: [] };

test("the configuration matrix: OpenBLAS threads × intra-op threads, doubled only when the environment overrides the CPU", () => {
  assert.deepEqual(torchConfigurations({}).map((c) => c.name), ["openblas1-intraop1", "openblas1-intraop2", "openblas2-intraop1", "openblas2-intraop2"]);
  const overridden = torchConfigurations({ OPENBLAS_L2_SIZE: "524288" });
  assert.equal(overridden.length, 8);
  assert.deepEqual(overridden.slice(0, 2).map((c) => c.name), ["openblas1-intraop1-cpu-from-env", "openblas1-intraop1-cpu-detected"]);
  const env = { PATH: "/bin", OPENBLAS_CORETYPE: "Haswell", OPENBLAS_L2_SIZE: "524288", OMP_NUM_THREADS: "7" };
  const [fromEnv, detected] = overridden.slice(2, 4);
  assert.deepEqual(torchChildEnvironment(fromEnv, env), { ...env, OPENBLAS_NUM_THREADS: "1" });
  assert.deepEqual(torchChildEnvironment(detected, env), { PATH: "/bin", OMP_NUM_THREADS: "7", OPENBLAS_NUM_THREADS: "1" });
  assert.equal(env.OPENBLAS_CORETYPE, "Haswell", "the caller's environment is not modified");
});

test("every configuration runs in its own process with its environment; vs_torch divides by the fastest, marked best", async () => {
  const fake = fakePython();
  const notes: string[] = [];
  const env = { PATH: process.env.PATH, FAKE_TORCH_LOG: fake.log, OPENBLAS_CORETYPE: "Haswell", OPENBLAS_L2_SIZE: "524288" };
  const rows = await benchTrain({ ...onlyTorch, python: fake.python, env, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => r.config), torchConfigurations(env).map((c) => c.name));
  for (const r of rows) {
    const [, blas, intraOp] = /^openblas(\d)-intraop(\d)/.exec(r.config!)!.map(Number);
    assert.equal(r.ms_per_step, fakeMs(blas, intraOp, r.config!.endsWith("-cpu-from-env")), r.config);
    assert.equal(r.threads, Math.max(blas, intraOp));
  }
  const best = rows.filter((r) => r.best);
  assert.deepEqual(best.map((r) => r.config), ["openblas2-intraop1-cpu-detected"]);
  for (const r of rows) assert.equal(r.vs_torch, r.samples_per_s / best[0].samples_per_s);
  // One process per configuration, each with OPENBLAS_NUM_THREADS and the intra-op count of its
  // name, the CPU overrides only in the cpu-from-env variant, and no OpenMP settings forced.
  const started = fake.read().filter((l) => l.serve);
  assert.equal(started.length, 8);
  for (const c of torchConfigurations(env)) {
    const child = started.filter((l) => l.key === `b${c.blasThreads}i${c.intraOpThreads}` && (l.OPENBLAS_CORETYPE !== undefined) === (c.cpu === "environment"));
    assert.equal(child.length, 1, c.name);
    assert.equal(child[0].OPENBLAS_L2_SIZE, c.cpu === "environment" ? "524288" : undefined, c.name);
    assert.equal(child[0].OMP_NUM_THREADS, undefined);
    assert.equal(child[0].OMP_WAIT_POLICY, undefined);
  }
  assert.ok(notes.some((n) => n.includes("openblas2-intraop1-cpu-detected: OpenBLAS core none/none, 2 BLAS and 1 intra-op threads")), notes.join("\n"));
  assert.ok(notes.some((n) => n.includes("OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=524288 as the environment sets it")), notes.join("\n"));
});

test("without CPU overrides in the environment each configuration runs once, and the note says so", async () => {
  const fake = fakePython();
  const notes: string[] = [];
  const rows = await benchTrain({ ...onlyTorch, python: fake.python, env: { PATH: process.env.PATH, FAKE_TORCH_LOG: fake.log }, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => `${r.config}:${r.ms_per_step}`), ["openblas1-intraop1:14", "openblas1-intraop2:16", "openblas2-intraop1:8", "openblas2-intraop2:10"]);
  assert.equal(fake.read().filter((l) => l.serve).length, 4);
  assert.ok(notes.some((n) => /OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are not set.*identical: each runs once/.test(n)), notes.join("\n"));
});

test("a configuration that crashes at start or mid-run is named and left out; the others are measured and ratios use the best survivor", async () => {
  const fake = fakePython();
  const notes: string[] = [];
  const env = { PATH: process.env.PATH, FAKE_TORCH_LOG: fake.log, FAKE_TORCH_CRASH: "b2i1:start,b1i1:run2" };
  const rows = await benchTrain({ ...onlyTorch, python: fake.python, env, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => r.config), ["openblas1-intraop2", "openblas2-intraop2"]);
  assert.deepEqual(rows.filter((r) => r.best).map((r) => r.config), ["openblas2-intraop2"]);
  assert.equal(rows[0].vs_torch, rows[0].samples_per_s / rows[1].samples_per_s);
  assert.ok(notes.some((n) => /PyTorch configuration openblas2-intraop1 failed \(exit code 139\): Segmentation fault \(fake\); measuring the others/.test(n)), notes.join("\n"));
  assert.ok(notes.some((n) => /pytorch openblas1-intraop1 failed and is left out: .*RuntimeError: fake crash in run 2/.test(n)), notes.join("\n"));
});

test("a python without torch: PyTorch is named as skipped and our engine is still measured; nothing measurable fails naming every cause", async () => {
  const fake = fakePython();
  const notes: string[] = [];
  const env = { PATH: process.env.PATH, FAKE_TORCH_LOG: fake.log, FAKE_TORCH_MISSING: "1" };
  const rows = await benchTrain({ steps: 1, reps: 1, data: "random", skipTfjs: true, densities: [0.01], threads: [1], python: fake.python, env, onNote: (l) => notes.push(l) });
  assert.deepEqual(rows.map((r) => `${r.engine}@${r.density}`), ["sparsetrain@0.01"]);
  assert.equal(rows[0].vs_torch, undefined);
  assert.ok(notes.some((n) => /PyTorch skipped: .* cannot import torch \(ModuleNotFoundError: No module named 'torch'\)/.test(n)), notes.join("\n"));
  await assert.rejects(benchTrain({ ...onlyTorch, threads: [0], python: fake.python, env }),
    /nothing could be measured: .*--threads must be positive integers, got 0.*; PyTorch skipped: .*cannot import torch/);
});

test("--model lenet-5 reaches every PyTorch process, and its rows name the model", async () => {
  const fake = fakePython();
  const rows = await benchTrain({ ...onlyTorch, model: "lenet-5", python: fake.python, env: { PATH: process.env.PATH, FAKE_TORCH_LOG: fake.log } });
  assert.deepEqual(rows.map((r) => `${r.model}:${r.config}`), torchConfigurations({}).map((c) => `lenet-5:${c.name}`));
  assert.deepEqual(fake.read().filter((l) => l.serve).map((l) => l.model), ["lenet-5", "lenet-5", "lenet-5", "lenet-5"]);
  await benchTrain({ ...onlyTorch, python: fake.python, env: { PATH: process.env.PATH, FAKE_TORCH_LOG: fake.log } });
  assert.deepEqual(fake.read().filter((l) => l.serve).slice(4).map((l) => l.model), ["mlp", "mlp", "mlp", "mlp"]);
});
