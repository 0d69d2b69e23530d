// `sparsetrain prune` end to end: exact counts, the printed sparsity equals the checkpoint's (via `info --json`), bad input fails clearly and never touches the input.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { saveCheckpoint, statePath } from "../../src/io/checkpoint.js";
import { buildModel } from "../../src/nn/presets.js";
import { prunedCount } from "../../src/sparse/selectors.js";
import { writeSmallCheckpoint } from "../fuzz/safetensors-bytes.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });

function checkpoint(preset: "lenet-300-100" | "lenet-5"): string {
  const dir = mkdtempSync(join(tmpdir(), "prune-cli-"));
  const path = join(dir, `${preset}.safetensors`);
  saveCheckpoint(path, buildModel({ preset, inputShape: [1, 28, 28], classes: 10, seed: 7 }), { step: 0, epoch: 0, seed: 7 });
  return path;
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);

test("prune --amount 0.9 (per layer): exact counts, CSR storage, and the printed sparsity is the checkpoint's", () => {
  const input = checkpoint("lenet-300-100");
  const out = join(dirname(input), "pruned.safetensors");
  const r = run("prune", input, "--amount", "0.9", "--out", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /layers\.0\.weight .* csr +density +10\.00%/);
  const printed = lastJson(r.stdout);
  const info = run("info", out, "--json");
  assert.equal(info.status, 0, info.stderr);
  const stored = JSON.parse(info.stdout);
  assert.equal(stored.sparsity, printed.sparsity);
  assert.equal(stored.params_nonzero, printed.params_nonzero);
  for (const [name, n] of [["layers.0.weight", 784 * 300], ["layers.2.weight", 300 * 100], ["layers.4.weight", 100 * 10]] as const) {
    const layer = stored.layers.find((l: { name: string }) => l.name === name);
    assert.equal(layer.storage, "csr");
    assert.equal(layer.stored, n - prunedCount(0.9, n));
  }
});

test("prune --scope global and --structure neurons shrink the checkpoint; 2:4 keeps half", () => {
  const input = checkpoint("lenet-300-100");
  const global = join(dirname(input), "global.safetensors");
  const g = run("prune", input, "--amount", "0.8", "--scope", "global", "--out", global, "--json");
  assert.equal(g.status, 0, g.stderr);
  const total = 784 * 300 + 300 * 100 + 100 * 10;
  const weightsAlive = lastJson(g.stdout).layers.reduce((s: number, l: { nonzero: number }) => s + l.nonzero, 0);
  assert.equal(weightsAlive, total - prunedCount(0.8, total));

  const neurons = join(dirname(input), "neurons.safetensors");
  const n = run("prune", input, "--amount", "0.5", "--structure", "neurons", "--norm", "1", "--out", neurons);
  assert.equal(n.status, 0, n.stderr);
  const shapes = JSON.parse(run("info", neurons, "--json").stdout).layers.map((l: { shape: number[] }) => l.shape);
  assert.deepEqual(shapes, [[150, 784], [150], [50, 150], [50], [10, 50], [10]]);

  const nm = join(dirname(input), "nm.safetensors");
  const s = run("prune", input, "--nm", "2:4", "--exclude", "layers.4", "--out", nm, "--json");
  assert.equal(s.status, 0, s.stderr);
  const layers = lastJson(s.stdout).layers as { name: string; nonzero: number; size: number }[];
  assert.deepEqual(layers.map((l) => l.nonzero / l.size), [0.5, 0.5, 1]);
});

test("bad input: an error naming the option and what is allowed, non-zero exit, no output, input untouched", () => {
  const input = checkpoint("lenet-5");
  const original = readFileSync(input);
  const out = join(dirname(input), "out.safetensors");
  const cases: [string[], RegExp][] = [
    [["--amount", "1.5"], /--amount must be in \[0, 1\], got 1\.5/],
    [["--nm", "2:4"], /--nm 2:4: M = 4 does not divide the 25 inputs per output of layers\.0\.weight/],
    [["--amount", "0.5", "--structure", "neurons", "--include", "layers.0"], /--structure neurons applies to Linear weights, but layers\.0\.weight is Conv2d \(structures of Conv2d: filters, channels\)/],
    [["--amount", "0.5", "--exclude", "layers.9"], /--exclude: "layers\.9" matches no prunable weight/],
    [["--amount", "0.5", "--structure", "rows"], /--structure must be one of neurons, inputs, filters, channels/],
    [["--amount", "0.5", "--criterion", "taylor"], /--criterion taylor needs gradients/],
  ];
  for (const [args, message] of cases) {
    const r = run("prune", input, ...args, "--out", out);
    assert.notEqual(r.status, 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(out), `${args.join(" ")} wrote ${out}`);
  }
  const same = run("prune", input, "--amount", "0.5", "--out", input);
  assert.notEqual(same.status, 0);
  assert.match(same.stderr, /--out must differ from the input checkpoint/);
  assert.deepEqual(readFileSync(input), original);
});

test("--out naming the input (by path, symbolic link or hard link) or the input's .state.safetensors is refused; nothing is overwritten", () => {
  const dir = mkdtempSync(join(tmpdir(), "prune-state-"));
  const input = join(dir, "input.safetensors");
  writeSmallCheckpoint(input, { state: true });
  const state = statePath(input);
  const originals = [readFileSync(input), readFileSync(state)];
  symlinkSync(state, join(dir, "state-link.safetensors"));
  linkSync(state, join(dir, "state-hard.safetensors"));
  symlinkSync(input, join(dir, "input-link.safetensors"));
  linkSync(input, join(dir, "input-hard.safetensors"));
  const cases: [string, RegExp][] = [
    [input, /--out must differ from the input checkpoint/],
    [join(dir, "input-link.safetensors"), /--out must differ from the input checkpoint/],
    [join(dir, "input-hard.safetensors"), /--out must differ from the input checkpoint/],
    [state, /is the state file of the input checkpoint/],
    [join(dir, ".", "input.state.safetensors"), /is the state file of the input checkpoint/],
    [join(dir, "state-link.safetensors"), /is the state file of the input checkpoint/],
    [join(dir, "state-hard.safetensors"), /is the state file of the input checkpoint/],
  ];
  for (const [out, message] of cases) {
    const r = run("prune", input, "--amount", "0.5", "--out", out);
    assert.notEqual(r.status, 0, `--out ${out} should fail`);
    assert.match(r.stderr, message, `--out ${out}`);
  }
  assert.deepEqual([readFileSync(input), readFileSync(state)], originals);
  // A different file in the same folder is fine.
  const fine = run("prune", input, "--amount", "0.5", "--out", join(dir, "pruned.safetensors"));
  assert.equal(fine.status, 0, fine.stderr);
});
