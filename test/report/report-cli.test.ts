// `sparsetrain report` on the command line: a real tiny run as main writes it today, a sweep folder, --json, and bad input (not a run, missing, truncated, corrupt, bad --reference) failing with one line and no stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { parseTable } from "./html-tables.js";
import { writeSyntheticRun } from "./synthetic-runs.js";

const cli = join(repoRoot(), "dist", "src", "cli", "main.js");
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, cwd });

/** A failed command: exit code 1, one `sparsetrain:` line on stderr, no stack trace. */
function assertCleanFailure(r: ReturnType<typeof run>, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^sparsetrain: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

test("train --report, and report of a real tiny training run and of several runs, --json summary", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "report-cli-"));
  const recipe = join(dir, "tiny-rigl.yaml");
  writeFileSync(recipe, [
    "name: tiny-rigl",
    "data: {limit: {train: 600, test: 200}, batchSize: 64, validation: 0.1}",
    "model: {preset: mlp, widths: [32, 16]}",
    "optimizer: {name: sgd, lr: 0.1, momentum: 0.9}",
    "train: {epochs: 2}",
    "sparsity: {method: rigl, density: 0.1, distribution: erk, updateEvery: 3, endFraction: 0.75, dropFraction: 0.3}",
    "output: {checkpointEvery: 0}",
  ].join("\n"));
  const runDir = join(dir, "run");
  // train --report writes the report at the end and says where (and in its --json line).
  const train = run(dir, "train", recipe, "--quiet", "--run-dir", runDir, "--report", "--json");
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /report: wrote .*run\/report\.html/);
  assert.equal(JSON.parse(train.stdout.trim().split("\n").at(-1)!).report, join(runDir, "report.html"));
  // The run logs of today's trainer hold layer counts, updates and masks: those charts are drawn too.
  for (const chart of ["layer-density", "updates", "masks-1", "inputs-1"]) assert.ok(existsSync(join(runDir, "report-charts", `${chart}.svg`)), `train --report drew ${chart}`);
  const lines = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

  const report = run(dir, "report", runDir);
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /report: wrote .*run\/report\.html/);
  const html = readFileSync(join(runDir, "report.html"), "utf8");
  // Whatever the log's version, its epoch lines are in the table and the final line gives the test numbers.
  const epochLines = lines.filter((l) => l.kind === "epoch" || (l.kind === undefined && l.final === undefined && typeof l.epoch === "number"));
  const final = lines.find((l) => l.kind === "final" || l.final === true)!;
  assert.deepEqual(parseTable(html, "epochs-1").rows.map((r) => [r[0].value, r[2].value, r[5].value]), epochLines.map((l) => [l.epoch, l.trainLoss, l.valAccuracy]));
  assert.equal(parseTable(html, "final-1").rows[0][1].value, final.test_accuracy);
  const runs = parseTable(html, "runs").rows;
  assert.equal(runs[0][1].text, "rigl", "the method comes from the log or the checkpoint's recipe");
  assert.ok(runs[0][3].value! > 0.5, `sparsity ${runs[0][3].value}`);
  for (const chart of ["loss", "accuracy", "learning-rate", "confusion-1"]) assert.ok(existsSync(join(runDir, "report-charts", `${chart}.png`)), `${chart}.png`);

  // Several runs: the report goes to the current folder, with the comparison chart; --json prints one line.
  const other = writeSyntheticRun(dir, { name: "dense-run", method: null, density: 1 });
  const several = run(dir, "report", runDir, other.dir, "--json", "--reference", join(repoRoot(), "docs", "published", "snfs-lenet-300-100.json"));
  assert.equal(several.status, 0, several.stderr);
  const outLines = several.stdout.trim().split("\n");
  assert.equal(outLines.length, 1, several.stdout);
  const summary = JSON.parse(outLines[0]) as { report: string; files: string[]; runs: string[]; warnings: string[] };
  assert.equal(summary.report, "report.html");
  assert.ok(existsSync(join(dir, "report.html")));
  assert.deepEqual(summary.runs, [runDir, other.dir]);
  assert.deepEqual(summary.warnings, []);
  assert.ok(summary.files.includes(join("report-charts", "accuracy-vs-sparsity.png")), summary.files.join(", "));
  const reference = parseTable(readFileSync(join(dir, "report.html"), "utf8"), "reference").rows;
  assert.deepEqual(reference.map((r) => [r[1].text, r[3].value]), [["dense", 0.9869], ["set", 0.9774], ["dsr", 0.9814], ["snfs", 0.982]]);
});

test("a sweep folder stands for its finished runs, labelled by their overrides", () => {
  const dir = mkdtempSync(join(tmpdir(), "report-sweep-"));
  const sweep = join(dir, "sweep");
  writeSyntheticRun(sweep, { name: "a", method: "set", density: 0.05 });
  writeSyntheticRun(sweep, { name: "b", method: "set", density: 0.2, seed: 2 });
  mkdirSync(join(sweep, "c"));
  writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ version: 1, recipe: "x.yaml", recipeHash: "0", grid: [{ key: "sparsity.density", values: [0.05, 0.2, 0.5] }], set: [], runs: [
    { dir: "a", overrides: ["sparsity.density=0.05"], status: "done" },
    { dir: "b", overrides: ["sparsity.density=0.2"], status: "done" },
    { dir: "c", overrides: ["sparsity.density=0.5"], status: "pending" },
  ] }));
  const r = run(dir, "report", sweep, "--json");
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { report: string; runs: string[]; warnings: string[] };
  assert.equal(summary.report, join(sweep, "report.html"));
  assert.deepEqual(summary.runs, [join(sweep, "a"), join(sweep, "b")]);
  assert.match(summary.warnings.join("\n"), /1 run\(s\) not finished \(c: pending\)/);
  assert.match(r.stderr, /warning: .*not finished/);
  const runs = parseTable(readFileSync(summary.report, "utf8"), "runs").rows;
  assert.deepEqual(runs.map((row) => row[2].text), ["sparsity.density=0.05", "sparsity.density=0.2"]);
  assert.ok(existsSync(join(sweep, "report-charts", "accuracy-vs-sparsity.svg")));
});

test("bad input: not a run, missing folder, corrupt middle line, bad --reference: one-line errors, exit 1", () => {
  const dir = mkdtempSync(join(tmpdir(), "report-bad-"));
  mkdirSync(join(dir, "empty"));
  assertCleanFailure(run(dir, "report", join(dir, "empty")), /empty is not a run folder: no metrics\.jsonl \(expected a folder written by sparsetrain train\)/);
  assertCleanFailure(run(dir, "report", join(dir, "nowhere")), /nowhere: no such folder/);

  const good = writeSyntheticRun(dir, { name: "good", method: "rigl", density: 0.1, updates: true, epochs: 3 });
  const corrupt = writeSyntheticRun(dir, { name: "corrupt", method: "rigl", density: 0.1, epochs: 3 });
  const text = readFileSync(join(corrupt.dir, "metrics.jsonl"), "utf8").split("\n");
  text[2] = text[2].slice(0, 40);
  writeFileSync(join(corrupt.dir, "metrics.jsonl"), text.join("\n"));
  assertCleanFailure(run(dir, "report", corrupt.dir), /corrupt\/metrics\.jsonl:3: not a JSON line/);
  const badField = writeSyntheticRun(dir, { name: "bad-field", method: "rigl", density: 0.1, epochs: 2 });
  const lines = readFileSync(join(badField.dir, "metrics.jsonl"), "utf8").split("\n");
  lines[1] = lines[1].replace(/"trainLoss":[0-9.]+/, "\"trainLoss\":\"low\"");
  writeFileSync(join(badField.dir, "metrics.jsonl"), lines.join("\n"));
  assertCleanFailure(run(dir, "report", badField.dir), /bad-field\/metrics\.jsonl:2: "trainLoss" must be a number, found "low"/);

  const ref = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return run(dir, "report", good.dir, "--reference", join(dir, name));
  };
  assertCleanFailure(run(dir, "report", good.dir, "--reference", join(dir, "none.json")), /none\.json: cannot read the reference file \(ENOENT\)/);
  assertCleanFailure(ref("notjson.json", "{source: x"), /notjson\.json: not JSON/);
  assertCleanFailure(ref("nosource.json", JSON.stringify({ points: [{ method: "set", sparsity: 0.9, accuracy: 0.9 }] })), /nosource\.json: "source" must name/);
  assertCleanFailure(ref("percent.json", JSON.stringify({ source: "x", points: [{ method: "set", sparsity: 0.98, accuracy: 97.74 }] })), /percent\.json: points\[0\]\.accuracy must be a fraction in \[0, 1\] .*found 97\.74/);
  // A bad input writes nothing.
  assert.equal(existsSync(join(good.dir, "report.html")), false);
});

test("a truncated last line (a killed run) gives a warning; the report uses the complete lines", () => {
  const dir = mkdtempSync(join(tmpdir(), "report-truncated-"));
  const killed = writeSyntheticRun(dir, { name: "killed", method: "set", density: 0.1, epochs: 3 });
  const lines = readFileSync(join(killed.dir, "metrics.jsonl"), "utf8").trim().split("\n");
  // The final line half-written: no newline after it.
  writeFileSync(join(killed.dir, "metrics.jsonl"), `${lines.slice(0, -1).join("\n")}\n${lines.at(-1)!.slice(0, 30)}`);
  const r = run(dir, "report", killed.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^sparsetrain: warning: .*killed\/metrics\.jsonl:5: the last line is incomplete .*used the 4 complete line\(s\) before it\n$/);
  const html = readFileSync(join(killed.dir, "report.html"), "utf8");
  assert.equal(parseTable(html, "epochs-1").rows.length, 3);
  assert.match(html, /id="warnings"[\s\S]*the last line is incomplete/);
  assert.match(html, /The run has no final line/);
});
