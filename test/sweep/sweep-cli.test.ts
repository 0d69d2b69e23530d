// `sparsetrain sweep` on tiny MNIST runs: bad grids fail before any run, sweep.json records summaries, reruns skip finished runs, failures are isolated.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { SweepFile } from "../../src/sweep/sweep-file.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 180_000 });

/** A static-sparse MLP on 256 MNIST examples, 3 steps (about half a second per run). */
function tinyRecipe(): { dir: string; recipe: string } {
  const dir = mkdtempSync(join(tmpdir(), "sweep-"));
  const recipe = join(dir, "tiny.yaml");
  writeFileSync(recipe, [
    "name: tiny",
    "data: {limit: {train: 256, test: 64}, batchSize: 64}",
    "model: {preset: mlp, widths: [16]}",
    "train: {steps: 3}",
    "sparsity: {method: static, density: 0.5}",
  ].join("\n"));
  return { dir, recipe };
}

const readSweep = (out: string) => JSON.parse(readFileSync(join(out, "sweep.json"), "utf8")) as SweepFile;
const jsonLines = (stdout: string) => stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);

test("a bad grid fails naming the --grid key or value and what is allowed, before any folder is made", () => {
  const { dir, recipe } = tinyRecipe();
  const out = join(dir, "out");
  const cases: [string[], RegExp][] = [
    [["--grid", "sparsity.densty=0.1,0.2"], /--grid sparsity\.densty=0\.1: sparsity\.densty: unknown key "densty" \(did you mean "density"\?\); allowed here: method, density/],
    [["--grid", "sparsty.density=0.1"], /--grid sparsty\.density=0\.1: sparsty: unknown key "sparsty" \(did you mean "sparsity"\?\); allowed here: name, /],
    [["--grid", "sparsity.density=0.1,2"], /^sparsetrain: --grid sparsity\.density=2: sparsity\.density: expected a density in \(0, 1\], got 2$/m],
    [["--grid", "optimizer.name=sgd,adamx"], /--grid optimizer\.name=adamx: optimizer\.name: expected one of sgd \| adam \| adamw, got "adamx"/],
    [["--grid", "sparsity.density=0.1", "--grid", "sparsity.density=0.2"], /--grid sparsity\.density: sparsity\.density is already varied by another --grid/],
    [["--grid", "sparsity.density=0.1", "--set", "sparsity.density=0.2"], /--set sparsity\.density=0\.2 sets the same field/],
    [["--grid", "sparsity.density="], /--grid sparsity\.density=: no values/],
    [["--grid", "sparsity.density=0.1,0.1"], /value "0\.1" repeats "0\.1"/],
    [["--grid", "sparsity.density=0.1", "--parallel", "0"], /--parallel must be a positive integer \(runs at a time\), got "0"/],
    [[], /expected at least one --grid/],
    [["--grid", "sparsity.density=0.1", "--reference", join(dir, "missing.json")], /missing\.json/],
  ];
  for (const [args, expected] of cases) {
    const result = run("sweep", recipe, "--out", out, ...args);
    assert.equal(result.status, 1, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, expected, args.join(" "));
    assert.equal(existsSync(out), false, `${args.join(" ")} created ${out}`);
  }
});

test("a sweep writes sweep.json with every run's summary; --parallel 2 gives the same results as --parallel 1", () => {
  const { dir, recipe } = tinyRecipe();
  const outputs = ["1", "2"].map((parallel) => {
    const out = join(dir, `p${parallel}`);
    const result = run("sweep", recipe, "--grid", "sparsity.density=0.1,0.5", "--grid", "model.widths=[16],[8,8]", "--out", out, "--parallel", parallel, "--json");
    assert.equal(result.status, 0, result.stderr);
    return { out, lines: jsonLines(result.stdout), file: readSweep(out), stderr: result.stderr };
  });
  const [serial, parallel] = outputs;
  assert.deepEqual(serial.file.grid, [{ key: "sparsity.density", values: [0.1, 0.5] }, { key: "model.widths", values: [[16], [8, 8]] }]);
  assert.deepEqual(serial.file.runs.map((r) => [r.dir, r.overrides, r.status]), [
    ["density=0.1,widths=16", ["sparsity.density=0.1", "model.widths=[16]"], "done"],
    ["density=0.1,widths=8-8", ["sparsity.density=0.1", "model.widths=[8,8]"], "done"],
    ["density=0.5,widths=16", ["sparsity.density=0.5", "model.widths=[16]"], "done"],
    ["density=0.5,widths=8-8", ["sparsity.density=0.5", "model.widths=[8,8]"], "done"],
  ]);
  for (const entry of serial.file.runs) {
    const runDir = join(serial.out, entry.dir);
    // The summary is the train --json line of that run: its numbers are the final metrics line's.
    const final = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).at(-1);
    assert.equal(final.final, true);
    assert.equal(entry.summary!.test_accuracy, final.test_accuracy);
    assert.ok(existsSync(join(runDir, "final.safetensors")) && existsSync(join(runDir, "train.log")));
  }
  // The overrides reached the runs: density sets the sparsity, widths the parameter count.
  const sparsities = serial.file.runs.map((r) => r.summary!.sparsity as number);
  assert.ok(sparsities[0] > 0.85 && sparsities[2] < 0.55, `sparsities ${sparsities}`);
  assert.equal(serial.file.runs[0].summary!.params_total, 784 * 16 + 16 + 16 * 10 + 10);
  assert.equal(serial.file.runs[1].summary!.params_total, 784 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10);
  assert.deepEqual(serial.lines.map((l) => [l.run, l.status, l.skipped, l.test_accuracy, l.sparsity]),
    serial.file.runs.map((r) => [r.dir, "done", false, r.summary!.test_accuracy, r.summary!.sparsity]));
  assert.match(serial.stderr, /^\[2\/4\] density=0\.1,widths=8-8: done, test \d+\.\d\d%, [\d.]+ s$/m);
  // The comparison report is written at the end, beside sweep.json, with its accuracy-vs-sparsity chart.
  const html = readFileSync(join(serial.out, "report.html"), "utf8");
  for (const entry of serial.file.runs) assert.ok(html.includes(entry.dir), `report lacks run ${entry.dir}`);
  assert.ok(existsSync(join(serial.out, "report-charts", "accuracy-vs-sparsity.svg")) && existsSync(join(serial.out, "report-charts", "accuracy-vs-sparsity.png")));
  assert.match(serial.stderr, /report: wrote .*report\.html/);
  // Determinism: each run is seeded by its recipe alone, whatever else runs beside it.
  const accuracies = (file: SweepFile) => file.runs.map((r) => [r.dir, r.summary!.test_accuracy, r.summary!.test_loss]);
  assert.deepEqual(accuracies(parallel.file), accuracies(serial.file));
});

test("a sweep killed midway, rerun, trains only the runs that had not finished", async () => {
  const { dir, recipe } = tinyRecipe();
  const out = join(dir, "out");
  const args = ["sweep", recipe, "--grid", "train.steps=2,300,301", "--out", out, "--json"];
  const child = spawn(process.execPath, [cli, ...args], { stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Kill as soon as sweep.json says the first run is done: the second is then training.
  for (let waited = 0; ; waited += 25) {
    assert.ok(waited < 60_000, "the first run did not finish within a minute");
    const file = existsSync(join(out, "sweep.json")) ? readSweep(out) : null;
    if (file?.runs[0].status === "done") break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGTERM");
  assert.equal(await exited, 143);
  const killed = readSweep(out);
  const finishedBefore = killed.runs.filter((r) => r.status === "done").map((r) => r.dir);
  assert.ok(finishedBefore.includes("steps=2") && finishedBefore.length < 3, `finished before the kill: ${finishedBefore}`);
  const mtimes = new Map(finishedBefore.map((d) => [d, statSync(join(out, d, "final.safetensors")).mtimeMs]));

  const rerun = run(...args);
  assert.equal(rerun.status, 0, rerun.stderr);
  const lines = jsonLines(rerun.stdout);
  assert.deepEqual(lines.filter((l) => l.skipped).map((l) => l.run), finishedBefore);
  assert.deepEqual(lines.filter((l) => !l.skipped).map((l) => l.run), ["steps=2", "steps=300", "steps=301"].filter((d) => !finishedBefore.includes(d)));
  assert.match(rerun.stderr, /\(1 finished earlier, skipped\)|\(2 finished earlier, skipped\)/);
  for (const [d, mtime] of mtimes) assert.equal(statSync(join(out, d, "final.safetensors")).mtimeMs, mtime, `${d} was trained again`);
  const file = readSweep(out);
  assert.deepEqual(file.runs.map((r) => r.status), ["done", "done", "done"]);
  assert.deepEqual(file.runs.map((r) => r.summary!.steps), [2, 300, 301]);
});

test("a run whose final line and checkpoint are gone is trained again from the start; the others are skipped", () => {
  const { dir, recipe } = tinyRecipe();
  const out = join(dir, "out");
  const args = ["sweep", recipe, "--grid", "seed=1,2,3", "--out", out, "--json"];
  assert.equal(run(...args).status, 0);
  const before = readSweep(out);
  const broken = join(out, "seed=2");
  // What a kill between the last epoch and the final checkpoint leaves: no final line, no final.safetensors, a torn line.
  const lines = readFileSync(join(broken, "metrics.jsonl"), "utf8").trim().split("\n").slice(0, -1);
  writeFileSync(join(broken, "metrics.jsonl"), `${lines.join("\n")}\n{"kind":"epo`);
  rmSync(join(broken, "final.safetensors"));
  writeFileSync(join(broken, "stale.txt"), "from the killed run");
  // A sweep killed after seed=3 ended but before it recorded the summary: rebuilt from metrics.jsonl.
  const recorded = readSweep(out);
  recorded.runs[2] = { dir: "seed=3", overrides: ["seed=3"], status: "pending" };
  writeFileSync(join(out, "sweep.json"), JSON.stringify(recorded));
  const rerun = run(...args);
  assert.equal(rerun.status, 0, rerun.stderr);
  // Runs found finished are reported first, then the runs trained, as each ends.
  assert.deepEqual(jsonLines(rerun.stdout).map((l) => [l.run, l.skipped]), [["seed=1", true], ["seed=3", true], ["seed=2", false]]);
  assert.equal(existsSync(join(broken, "stale.txt")), false, "an unfinished run folder starts empty");
  assert.deepEqual(readSweep(out).runs.map((r) => r.summary!.test_accuracy), before.runs.map((r) => r.summary!.test_accuracy));
  assert.equal(readSweep(out).runs[2].summary!.step, 3);

  // The same folder with another sweep is refused, saying why; nothing is run or changed.
  const other = run("sweep", recipe, "--grid", "seed=1,2", "--out", out);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /sweep\.json: the earlier run seed=3 \(seed=3\) is not in this grid; give every earlier --grid value again/);
  const changed = run("sweep", recipe, "--grid", "seed=1,2,3", "--set", "train.steps=4", "--out", out);
  assert.match(changed.stderr, /this folder holds a sweep with --set \[\], not \["train\.steps=4"\]/);
  writeFileSync(recipe, readFileSync(recipe, "utf8").replace("steps: 3", "steps: 5"));
  const edited = run("sweep", recipe, "--grid", "seed=1,2,3", "--out", out);
  assert.match(edited.stderr, /this folder holds a sweep of recipe .*tiny\.yaml as it was then; .*tiny\.yaml differs from it/);
  // Extending the grid with a new value runs only the new run.
  writeFileSync(recipe, readFileSync(recipe, "utf8").replace("steps: 5", "steps: 3"));
  const extended = run(...args.map((a) => (a === "seed=1,2,3" ? "seed=1,2,3,4" : a)));
  assert.equal(extended.status, 0, extended.stderr);
  assert.deepEqual(jsonLines(extended.stdout).filter((l) => !l.skipped).map((l) => l.run), ["seed=4"]);
});

test("a run that fails at run time is marked failed with its log; the others finish and the sweep exits non-zero", () => {
  const { dir, recipe } = tinyRecipe();
  const out = join(dir, "out");
  const missing = join(dir, "missing.safetensors");
  const result = run("sweep", recipe, "--grid", `model.initFrom=${missing},null`, "--out", out, "--json");
  assert.equal(result.status, 1);
  const file = readSweep(out);
  assert.deepEqual(file.runs.map((r) => [r.dir, r.status]), [["initFrom=" + missing.replace(/[^A-Za-z0-9._+-]/g, "_"), "failed"], ["initFrom=null", "done"]]);
  const failed = file.runs[0];
  assert.equal(failed.log, join(failed.dir, "train.log"));
  assert.match(readFileSync(join(out, failed.log!), "utf8"), /missing\.safetensors/);
  assert.match(failed.error!, /^exit code 1: .*missing\.safetensors/);
  assert.match(result.stderr, /\[1\/2\] initFrom=.*: failed \(exit code 1: .*\); log .*train\.log/);
  assert.match(result.stderr, /sparsetrain: 1 of 2 runs failed; logs: .*train\.log/);
  assert.deepEqual(jsonLines(result.stdout).map((l) => l.status), ["failed", "done"]);
});
