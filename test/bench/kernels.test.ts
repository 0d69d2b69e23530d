// `bench kernels`: every kernel of every variant asked for is timed and does its work, with TensorFlow.js or, when it is missing, alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { availableVariants } from "../../src/backend/kernels.js";
import { benchKernels, type KernelBenchRow } from "../../src/bench/kernels.js";
import { floorMs } from "../helpers/flop-floor.js";


function checkRows(rows: KernelBenchRow[], variants: string[]): void {
  const kernels = ["gemm", "spmm", "spmmTransposed", "sddmm"];
  assert.deepEqual([...new Set(rows.map((r) => r.kernel))], kernels);
  for (const kernel of kernels) assert.deepEqual(rows.filter((r) => r.kernel === kernel).map((r) => r.variant), variants, kernel);
  for (const r of rows) {
    const flops = r.kernel === "gemm" ? 2 * r.m * r.n * r.k : 2 * Math.round(r.density * r.m * r.k) * r.n;
    assert.ok(Math.abs(r.gflops - flops / r.ms / 1e6) < 1e-6 * r.gflops, `${r.kernel}/${r.variant}: gflops ${r.gflops} is not its flops over ${r.ms} ms`);
    assert.ok(r.ms > floorMs(flops), `${r.kernel}/${r.variant}: ${r.ms} ms is too fast for ${flops} flops`);
    if (r.kernel !== "gemm") assert.ok(r.vs_dense! > 1, `${r.kernel}/${r.variant} at ${r.density}: ${r.vs_dense}× our dense GEMM`);
  }
}

test("without TensorFlow.js, every variant's kernels are timed alone (no vs_tfjs_wasm)", async () => {
  const variants = availableVariants();
  assert.ok(variants.length >= 1);
  const rows = await benchKernels({ quick: true, variants, peer: null });
  checkRows(rows, variants);
  for (const r of rows) assert.equal(r.vs_tfjs_wasm, undefined);
});

test("with TensorFlow.js, every row carries a finite ratio to it", async () => {
  const rows = await benchKernels({ quick: true });
  checkRows(rows, [rows[0].variant]);
  for (const r of rows) assert.ok(Number.isFinite(r.vs_tfjs_wasm) && r.vs_tfjs_wasm! > 0, `${r.kernel}: vs_tfjs_wasm ${r.vs_tfjs_wasm}`);
});
