// A run folder stays clean across kills and resumes: one metrics line per epoch, no orphaned temporary files, nothing of others removed.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { atomicWrite, removeOrphanedTemporaries } from "../../src/io/atomic-write.js";
import { validateRecipe } from "../../src/recipe/load.js";
import { runRecipe } from "../../src/train/run.js";

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid!;
}

test("orphaned temporary files of dead (or our own reused) pids are removed; live writers' and other files are kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "orphans-"));
  const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    const names = {
      dead: `.epoch-2.safetensors.${deadPid()}.1700000000000.0.tmp`,
      own: `.final.safetensors.${process.pid}.1700000000000.3.tmp`,
      live: `.epoch-3.safetensors.${live.pid}.1700000000000.1.tmp`,
      unrelated: [".notes.tmp", "epoch-2.safetensors.1.2.3.tmp", ".epoch-2.safetensors.x.1.2.tmp", "epoch-2.safetensors"],
    };
    for (const name of [names.dead, names.own, names.live, ...names.unrelated]) writeFileSync(join(dir, name), "partial");
    // A folder with a matching name is not a file we wrote.
    const folder = `.folder.${deadPid()}.1.2.tmp`;
    mkdirSync(join(dir, folder));
    assert.deepEqual(removeOrphanedTemporaries(dir).sort(), [names.dead, names.own].sort());
    assert.deepEqual(readdirSync(dir).sort(), [names.live, ...names.unrelated, folder].sort());
    // What atomicWrite leaves behind after a kill matches the pattern.
    atomicWrite(join(dir, "x.safetensors"), "ok");
    assert.ok(existsSync(join(dir, "x.safetensors")));
  } finally {
    live.kill("SIGKILL");
  }
});

const recipe = () => validateRecipe({
  name: "run-folder-test",
  seed: 2,
  data: { dataset: "mnist", validation: 0.1, limit: { train: 300, test: 100 }, batchSize: 50 },
  model: { preset: "mlp", widths: [16] },
  optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 },
  train: { epochs: 3 },
  output: { checkpointEvery: 1 },
});

type LogLine = { kind: string; epoch?: number; final?: boolean; step: number; resumed?: string };
const allLines = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as LogLine);
/** The epoch and final lines (docs/run-log-format.md: start and update lines are the other kinds). */
const logLines = (dir: string) => allLines(dir).filter((l) => l.kind === "epoch" || l.kind === "final");

test("resuming in the same run folder keeps one metrics line per epoch and removes the orphaned temporary files there", () => {
  const dir = mkdtempSync(join(tmpdir(), "run-folder-"));
  const straight = runRecipe(recipe(), "run-folder-test.yaml", { runDir: dir });
  const before = logLines(dir);
  assert.deepEqual(before.map((l) => l.epoch ?? "final"), [1, 2, 3, "final"]);
  // A kill during a write of epoch 2, and a line torn by a kill during an append.
  const orphan = `.epoch-2.safetensors.${deadPid()}.1700000000000.0.tmp`;
  writeFileSync(join(dir, orphan), "partial");
  writeFileSync(join(dir, "metrics.jsonl"), readFileSync(join(dir, "metrics.jsonl"), "utf8") + '{"epoch":4,"st');

  const logged: string[] = [];
  const resumed = runRecipe(recipe(), "run-folder-test.yaml", { runDir: dir, resume: join(dir, "epoch-1.safetensors"), log: (l) => logged.push(l) });
  assert.equal(resumed.test_loss, straight.test_loss);
  const after = logLines(dir);
  assert.deepEqual(after.map((l) => l.epoch ?? "final"), [1, 2, 3, "final"]);
  assert.deepEqual(after.map((l) => l.step), before.map((l) => l.step));
  // Epoch 1 is the line of the first run, untouched; 2 and 3 were redone after a start line naming the checkpoint.
  assert.deepEqual(after[0], before[0]);
  assert.deepEqual(allLines(dir).filter((l) => l.kind === "start").map((l) => [l.step, l.resumed]), [[0, undefined], [after[0].step, join(dir, "epoch-1.safetensors")]]);
  assert.ok(!existsSync(join(dir, orphan)), "the orphaned temporary file is still there");
  assert.ok(logged.some((l) => l.includes(orphan)), `no log line names the removed file: ${logged.join("\n")}`);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(".tmp")), []);
});
