// A reader that closes our standard output early (`sparsetrain info ckpt | head -1`) ends the command quietly with exit 0.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { writeSmallCheckpoint } from "../fuzz/safetensors-bytes.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

/** Runs the CLI with its stdout pipe closed by the reader before the child writes anything; resolves with the exit code and stderr. */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    // Closing our end of the pipe at once: the child is still starting, so its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test("info with a closed stdout exits 0 without an EPIPE error (table and --json)", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "epipe-")), "small.safetensors");
  writeSmallCheckpoint(path);
  for (const args of [["info", path], ["info", path, "--json"], ["--help"]]) {
    const { code, stderr } = await runWithClosedStdout(args);
    assert.equal(stderr, "", `${args.join(" ")}: stderr`);
    assert.equal(code, 0, `${args.join(" ")}: exit code`);
  }
});
