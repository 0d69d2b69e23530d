// Where the time of one training step of the `bench train` model goes: per phase, per kernel, autograd/JS overhead and allocation.
//
// Run: `node --import tsx scripts/profile-step.mjs [--density 0.05,0.01] [--steps 200] [--reps 5]`
// (or after `npx tsc -p tsconfig.json`: `node scripts/profile-step.mjs --dist`). Single thread.
//
// The step is Trainer.trainStep taken apart into its phases (forward, loss, backward, argmax for
// the accuracy count, tidy's disposal, optimizer step, zeroGrad), each timed around the same calls.
// Every kernel in the active `kernels` object is wrapped with a timer, so each phase splits into
// its kernels and the rest: autograd bookkeeping, op validation, tensor objects, allocation.
// Allocation is estimated separately: tensors created per step (counted through the
// FinalizationRegistry that every tensor registers with) × the measured cost of empty + dispose.
// The timers cost ~0.05 µs each; the uninstrumented Trainer.trainStep time is printed alongside.
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
  options: {
    density: { type: "string", default: "0.05,0.01" },
    steps: { type: "string", default: "200" },
    reps: { type: "string", default: "5" },
    dist: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const densities = options.density.split(",").map(Number);
const steps = Number(options.steps);
const reps = Number(options.reps);
for (const d of densities) if (!(d > 0 && d <= 1)) throw new RangeError(`profile-step: --density values must be in (0, 1], got ${d}`);
if (!(Number.isInteger(steps) && steps > 0)) throw new RangeError(`profile-step: --steps must be a positive integer, got ${options.steps}`);

// Count tensor (and sparse-structure) constructions: each registers with a FinalizationRegistry.
let registrations = 0;
const register = FinalizationRegistry.prototype.register;
FinalizationRegistry.prototype.register = function (...args) {
  registrations++;
  return register.apply(this, args);
};

const source = options.dist ? "../dist/src" : "../src";
const { kernels, kernelBackend } = await import(`${source}/backend/kernels.js`);
const { heapI32 } = await import(`${source}/backend/heap.js`);
const { backward } = await import(`${source}/autograd/engine.js`);
const { crossEntropy } = await import(`${source}/autograd/ops/loss.js`);
const { argmax } = await import(`${source}/autograd/ops/reduce.js`);
const { empty, tidy, viewAs } = await import(`${source}/tensor/tensor.js`);
const { batchPool, ourTrainer, BENCH_WIDTHS, BENCH_BATCH } = await import(`${source}/bench/train.js`);

// Phase and kernel timers.
let phase = "outside";
const kernelTime = new Map(); // "phase/kernel" → { ms, calls, flops }
const original = { ...kernels };
const wrapped = {};
// The CSR kernels take (m, k, batch, rowPtrPtr, …): they are split by layer shape and given their
// useful GFLOP/s, 2·nnz·batch (nnz = rowPtr[m], read from the heap).
const sparseKernels = new Set(["spmm", "spmmTransposed", "sddmm"]);
for (const name of Object.keys(original)) {
  const fn = original[name];
  wrapped[name] = (...args) => {
    const start = performance.now();
    const result = fn(...args);
    const elapsed = performance.now() - start;
    const sparse = sparseKernels.has(name);
    const key = sparse ? `${phase}/${name} ${args[0]}×${args[1]}` : `${phase}/${name}`;
    const entry = kernelTime.get(key) ?? kernelTime.set(key, { ms: 0, calls: 0, flops: 0 }).get(key);
    entry.ms += elapsed;
    entry.calls++;
    if (sparse) entry.flops += 2 * heapI32()[(args[3] >> 2) + args[0]] * args[2];
    return result;
  };
}
/** Switches the kernel timers on or off (the `kernels` object is what every op calls). */
const instrument = (on) => Object.assign(kernels, on ? wrapped : original);
const phaseTime = new Map();
function timed(name, fn) {
  const previous = phase;
  phase = name;
  const start = performance.now();
  try {
    return fn();
  } finally {
    phaseTime.set(name, (phaseTime.get(name) ?? 0) + performance.now() - start);
    phase = previous;
  }
}

/** Trainer.trainStep, phase by phase (no schedule, hooks or clipping: the benchmark uses none). */
function profiledStep(trainer, x, labels) {
  const { model, optimizer } = trainer.options;
  model.net.train();
  let inside = 0;
  const tidyStart = performance.now();
  tidy(() => {
    const start = performance.now();
    const logits = timed("forward", () => model.net.forward(viewAs(x, [x.shape[0], ...model.inputShape])));
    const loss = timed("loss", () => crossEntropy(logits, labels, { labelSmoothing: 0, reduction: "mean" }));
    timed("loss", () => loss.item());
    timed("backward", () => backward(loss));
    timed("argmax", () => argmax(logits, -1));
    inside = performance.now() - start;
  });
  phaseTime.set("tidy dispose", (phaseTime.get("tidy dispose") ?? 0) + performance.now() - tidyStart - inside);
  timed("optimizer step", () => optimizer.step());
  timed("zeroGrad", () => optimizer.zeroGrad());
}

/** Microseconds for one empty([rows, batch]) + dispose, the allocation pattern of an op output. */
function allocationCostMicroseconds() {
  const n = 20000;
  for (let i = 0; i < n; i++) empty([1000, BENCH_BATCH]).dispose();
  const start = performance.now();
  for (let i = 0; i < n; i++) empty([1000, BENCH_BATCH]).dispose();
  return ((performance.now() - start) / n) * 1000;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const pool = batchPool("mnist");
const out = (line) => process.stdout.write(line + "\n");
out(`model ${BENCH_WIDTHS.join("-")}, batch ${BENCH_BATCH}, SGD momentum; kernels: ${kernelBackend()}; ${steps} steps × ${reps} repetitions`);
const allocUs = allocationCostMicroseconds();
out(`allocation: empty([1000, ${BENCH_BATCH}]) + dispose = ${allocUs.toFixed(2)} µs`);

for (const density of densities) {
  const { trainer, batches } = ourTrainer(density, pool);
  let cursor = 0;
  const next = () => batches[cursor++ % batches.length];
  const plainStep = () => {
    const b = next();
    trainer.trainStep(b.x, b.labels);
  };
  // Warm up both paths.
  instrument(false);
  for (let i = 0; i < 30; i++) plainStep();
  instrument(true);
  for (let i = 0; i < 30; i++) {
    const b = next();
    profiledStep(trainer, b.x, b.labels);
  }
  phaseTime.clear();
  kernelTime.clear();
  const plainTimes = [], profiledTimes = [];
  let tensorsPerStep = 0;
  for (let r = 0; r < reps; r++) {
    instrument(false);
    let start = performance.now();
    for (let s = 0; s < steps; s++) plainStep();
    plainTimes.push((performance.now() - start) / steps);
    instrument(true);
    const before = registrations;
    start = performance.now();
    for (let s = 0; s < steps; s++) {
      const b = next();
      profiledStep(trainer, b.x, b.labels);
    }
    profiledTimes.push((performance.now() - start) / steps);
    tensorsPerStep = (registrations - before) / steps;
  }
  const perStep = (ms) => ms / (steps * reps);
  const total = [...phaseTime.values()].reduce((a, b) => a + b, 0);
  const rows = [];
  for (const [name, ms] of phaseTime) {
    const kernelsOfPhase = [...kernelTime].filter(([k]) => k.startsWith(`${name}/`));
    const kernelMs = kernelsOfPhase.reduce((a, [, v]) => a + v.ms, 0);
    rows.push({ part: name, ms: perStep(ms), kernels: perStep(kernelMs), other: perStep(ms - kernelMs) });
    for (const [k, v] of kernelsOfPhase.sort((a, b) => b[1].ms - a[1].ms)) {
      rows.push({ part: `  ${k.slice(name.length + 1)}`, ms: perStep(v.ms), calls: v.calls / (steps * reps), gflops: v.flops ? v.flops / v.ms / 1e6 : undefined });
    }
  }
  const allocMs = (tensorsPerStep * allocUs) / 1000;
  if (options.json) {
    out(JSON.stringify({ density, plain_ms: median(plainTimes), profiled_ms: median(profiledTimes), tensors_per_step: tensorsPerStep, allocation_ms_estimate: allocMs, rows }));
    continue;
  }
  out(`\ndensity ${100 * density}%: Trainer.trainStep ${median(plainTimes).toFixed(3)} ms/step uninstrumented, ${median(profiledTimes).toFixed(3)} ms instrumented (sum of phases ${perStep(total).toFixed(3)} ms)`);
  out(`${"part".padEnd(34)} ${"ms/step".padStart(8)} ${"share".padStart(6)}  ${"kernels".padStart(8)} ${"JS/other".padStart(8)} ${"calls".padStart(6)} ${"GFLOP/s".padStart(8)}`);
  for (const r of rows) {
    const share = `${((100 * r.ms) / perStep(total)).toFixed(1)}%`;
    const cells = r.kernels === undefined
      ? [r.part.padEnd(34), r.ms.toFixed(3).padStart(8), share.padStart(6), "".padStart(8), "".padStart(8), r.calls.toFixed(0).padStart(6), (r.gflops?.toFixed(1) ?? "").padStart(8)]
      : [r.part.padEnd(34), r.ms.toFixed(3).padStart(8), share.padStart(6), r.kernels.toFixed(3).padStart(8), r.other.toFixed(3).padStart(8), ""];
    out(cells.join(" "));
  }
  const kernelTotal = rows.filter((r) => r.kernels !== undefined).reduce((a, r) => a + r.kernels, 0);
  out(`kernels ${kernelTotal.toFixed(3)} ms (${((100 * kernelTotal) / perStep(total)).toFixed(1)}%), JS/autograd/other ${(perStep(total) - kernelTotal).toFixed(3)} ms; ` +
    `${tensorsPerStep.toFixed(0)} tensors created per step ≈ ${allocMs.toFixed(3)} ms of allocation (part of JS/other)`);
  for (const b of batches) b.x.dispose();
}
