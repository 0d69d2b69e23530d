// The kernel loader: relaxed SIMD chosen where the runtime has it (Node 20 through V8's flag), SPARSETRAIN_KERNELS, and what each build computes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { alloc, free, heapF32 } from "../../src/backend/heap.js";
import { availableVariants, kernelBackend, kernelSet, setKernelBackend, variantKernels, variantProblem } from "../../src/backend/kernels.js";

const kernelsModule = new URL("../../src/backend/kernels.js", import.meta.url).href;
const heapModule = new URL("../../src/backend/heap.js", import.meta.url).href;
const buildDir = new URL("../../../build/kernels/", import.meta.url);

/** Runs `script` (an ES module) in a fresh node with the given flags and SPARSETRAIN_KERNELS; returns its status, stdout and stderr. */
function child(script: string, kernelsEnv: string | undefined, flags: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.SPARSETRAIN_KERNELS;
  if (kernelsEnv !== undefined) env.SPARSETRAIN_KERNELS = kernelsEnv;
  const run = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", script], { encoding: "utf8", env, timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const PRINT_BACKEND = `const k = await import("${kernelsModule}"); process.stdout.write(k.kernelBackend());`;

test("the loader picks relaxed SIMD on this Node (>= 20.19: on Node 20 by setting --experimental-wasm-relaxed-simd itself)", () => {
  assert.equal(variantProblem("relaxed"), null);
  assert.deepEqual(availableVariants(), ["relaxed", "simd"]);
  const run = child(PRINT_BACKEND, undefined);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, "relaxed");
});

test("SPARSETRAIN_KERNELS forces relaxed, simd or reference; anything else is a one-line error naming it", () => {
  for (const forced of ["relaxed", "simd", "reference"]) {
    const run = child(PRINT_BACKEND, forced);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, forced);
  }
  const bad = child(PRINT_BACKEND, "relax");
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /SPARSETRAIN_KERNELS="relax" is not a kernel backend \(expected relaxed, simd, reference\)/);
});

test("setKernelBackend: 'wasm' means the fastest variant; each backend's kernels become active", () => {
  const before = kernelBackend();
  try {
    setKernelBackend("simd");
    assert.equal(kernelBackend(), "simd");
    setKernelBackend("wasm");
    assert.equal(kernelBackend(), "relaxed");
    setKernelBackend("reference");
    assert.equal(kernelBackend(), "reference");
    assert.equal(kernelSet("simd").gemm, variantKernels("simd").gemm);
    assert.notEqual(kernelSet("relaxed").gemm, kernelSet("simd").gemm);
  } finally {
    setKernelBackend(before);
  }
});

/** Whether the bytes contain f32x4.relaxed_madd (0xfd, LEB128 261 = 0x85 0x02). */
function hasRelaxedMadd(bytes: Uint8Array): boolean {
  for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02) return true;
  return false;
}

test("one source, two builds: gemm and sparse use f32x4.relaxed_madd only in the relaxed build", () => {
  for (const module of ["gemm", "sparse"]) {
    assert.ok(hasRelaxedMadd(readFileSync(new URL(`relaxed/${module}.wasm`, buildDir))), `relaxed/${module}.wasm lacks relaxed_madd`);
    assert.ok(!hasRelaxedMadd(readFileSync(new URL(`simd/${module}.wasm`, buildDir))), `simd/${module}.wasm has relaxed_madd`);
  }
});

/** C = a0·b0 + a1·b1 through a variant's gemm (k = 2), where a1·b1 = 1 + 2^-11 + 2^-24 is not a float32. */
function twoTermDot(variant: "relaxed" | "simd"): number {
  const a = alloc(8), b = alloc(8), c = alloc(4);
  const h = heapF32();
  h.set([-(1 + 2 ** -11), 1 + 2 ** -12], a >> 2);
  h.set([1, 1 + 2 ** -12], b >> 2);
  variantKernels(variant).gemm!(0, 0, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1);
  const result = heapF32()[c >> 2];
  free(a, 8);
  free(b, 8);
  free(c, 4);
  return result;
}

test("relaxed gemm fuses the multiply-add where the CPU has FMA (x86-64 with fma in /proc/cpuinfo); plain SIMD rounds the product", () => {
  assert.equal(twoTermDot("simd"), 0, "mul then add rounds 1 + 2^-11 + 2^-24 to 1 + 2^-11 first");
  const relaxed = twoTermDot("relaxed");
  let cpuHasFma = false;
  try {
    cpuHasFma = process.arch === "x64" && /\bfma\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    // No /proc/cpuinfo: either result is allowed (relaxed_madd is fused or not, as the hardware decides).
  }
  if (cpuHasFma) assert.equal(relaxed, 2 ** -24, "a fused multiply-add keeps the 2^-24");
  else assert.ok(relaxed === 0 || relaxed === 2 ** -24, `relaxed gemm gave ${relaxed}`);
});

// A seeded 67×45·45×39 gemm and a spmm, printed bit for bit.
const BITS_SCRIPT = (variant: string) => `
  const k = await import("${kernelsModule}");
  const { alloc, heapF32 } = await import("${heapModule}");
  const set = k.kernelSet("${variant}");
  const m = 67, n = 39, kk = 45;
  const a = alloc(m * kk * 4), b = alloc(kk * n * 4), c = alloc(m * n * 4);
  const h = heapF32();
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < m * kk; i++) h[(a >> 2) + i] = next();
  for (let i = 0; i < kk * n; i++) h[(b >> 2) + i] = next();
  const out = [];
  for (let rep = 0; rep < 300; rep++) {
    set.gemm(0, 0, m, n, kk, 1, a, kk, b, n, 0, c, n);
    if (rep === 0 || rep === 299) out.push(Array.from(new Uint32Array(heapF32().buffer, c, m * n)).join(","));
  }
  process.stdout.write(JSON.stringify(out));`;

test("each variant gives the same bits run to run and in both of V8's tiers (Liftoff only, TurboFan only, tiering up)", () => {
  for (const variant of availableVariants()) {
    const runs = [[], ["--liftoff", "--no-wasm-tier-up"], ["--no-liftoff"]].map((flags) => {
      const run = child(BITS_SCRIPT(variant), undefined, flags);
      assert.equal(run.status, 0, run.stderr);
      const [first, last] = JSON.parse(run.stdout) as string[];
      assert.equal(first, last, `${variant} ${flags.join(" ")}: the first call and the 300th differ`);
      return first;
    });
    assert.equal(runs[1], runs[0], `${variant}: Liftoff differs from the default`);
    assert.equal(runs[2], runs[0], `${variant}: TurboFan differs from the default`);
  }
});
