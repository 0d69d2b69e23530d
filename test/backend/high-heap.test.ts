// Heap addresses above 2^31: a training step on tensors placed there matches the same step low in the heap (pointers are unsigned).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { setKernelBackend, variantProblem } from "../../src/backend/kernels.js";
import { requireOrSkip } from "../helpers/requirements.js";
import { threeSteps } from "../helpers/small-sparse-net.js";

// The high run needs a fresh heap (no free blocks low down to reuse), so it runs in a child process
// that first reserves 2 GiB (pages reserved, not touched) and then trains the same net.
function highRun(backend: string): { losses: number[]; address: number } {
  const helpers = pathToFileURL(new URL("../helpers/", import.meta.url).pathname).href;
  const backendModule = new URL("../../src/backend/", import.meta.url).href;
  const script = `
    const { alloc } = await import("${backendModule}heap.js");
    const { setKernelBackend } = await import("${backendModule}kernels.js");
    setKernelBackend("${backend}");
    alloc(2 ** 31 + 2 ** 24);
    const { threeSteps } = await import("${helpers}small-sparse-net.js");
    process.stdout.write(JSON.stringify(threeSteps()));`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

for (const backend of ["reference", "relaxed", "simd"] as const) {
  test(`${backend} kernels: a step on tensors above 2 GiB in the heap equals the same step low in the heap`, (t) => {
    const problem = backend === "reference" ? null : variantProblem(backend);
    if (!requireOrSkip(t, problem === null, `no ${backend} kernels: ${problem}`)) return;
    setKernelBackend(backend);
    const low = threeSteps();
    assert.ok(low.address < 2 ** 31);
    const high = highRun(backend);
    assert.ok(high.address >= 2 ** 31, `the child's net should live above 2 GiB, at ${high.address}`);
    assert.deepEqual(high.losses, low.losses);
  });
}
