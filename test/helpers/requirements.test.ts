// requireOrSkip: runs with the dependency, skips without it on a developer's machine, fails without it on CI.
import assert from "node:assert/strict";
import { test } from "node:test";
import { requireOrSkip } from "./requirements.js";

function fakeContext(): { skip: (reason?: string) => void; skipped: (string | undefined)[] } {
  const skipped: (string | undefined)[] = [];
  return { skip: (reason?: string) => void skipped.push(reason), skipped };
}

test("an available dependency neither skips nor fails, on CI or not", () => {
  for (const env of [{}, { CI: "true" }]) {
    const t = fakeContext();
    assert.equal(requireOrSkip(t, true, "torch", env), true);
    assert.deepEqual(t.skipped, []);
  }
});

test("a missing dependency skips the test off CI (CI unset or not \"true\")", () => {
  for (const env of [{}, { CI: "false" }, { CI: "" }]) {
    const t = fakeContext();
    assert.equal(requireOrSkip(t, false, "python3 cannot import torch", env), false);
    assert.deepEqual(t.skipped, ["python3 cannot import torch"]);
  }
});

test("a missing dependency fails the test on CI (CI=true), naming it", () => {
  const t = fakeContext();
  assert.throws(() => requireOrSkip(t, false, "dataset-fashion-mnist is not installed", { CI: "true" }), /required on CI \(CI=true\): dataset-fashion-mnist is not installed/);
  assert.deepEqual(t.skipped, []);
});
