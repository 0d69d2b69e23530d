// `sparsetrain bench train` on the command line: a --threads entry that is not allowed is named on one line, the other contenders are still measured, and the exit code is 0.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

test("--threads with entries that are not allowed: each named, the valid ones and TensorFlow.js measured, exit 0", () => {
  const run = spawnSync(process.execPath, [cli, "bench", "train", "--json", "--no-torch", "--steps", "1", "--reps", "1", "--data", "random", "--threads", "abc,0,1"], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(rows.map((r) => `${r.engine}x${r.threads}`))], ["tfjs-wasmx1", "sparsetrainx1"]);
  assert.match(run.stderr, /^bench train: --threads must be positive integers \(e\.g\. 1,2\), got "abc"; our engine skipped at that count$/m);
  assert.match(run.stderr, /^bench train: --threads must be positive integers, got 0; our engine skipped at that count$/m);
});
