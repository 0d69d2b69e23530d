// atomicWrite: replaces whole files, and a failed write keeps the old content and leaves nothing behind.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { atomicWrite } from "../../src/io/atomic-write.js";

test("writes new files and replaces existing ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "atomic-"));
  const path = join(dir, "a.txt");
  atomicWrite(path, "first");
  atomicWrite(path, Uint8Array.from([104, 105]));
  assert.equal(readFileSync(path, "utf8"), "hi");
  assert.deepEqual(readdirSync(dir), ["a.txt"]);
});

test("a failure names the path, keeps the old content and removes the temporary file", () => {
  const dir = mkdtempSync(join(tmpdir(), "atomic-"));
  // Renaming a file over a non-empty folder fails after the temporary file was written.
  const target = join(dir, "occupied");
  mkdirSync(target);
  atomicWrite(join(target, "inside"), "x");
  assert.throws(() => atomicWrite(target, "data"), (e: Error) => e.message.startsWith(`${target}: could not write`) && e.message.includes("unchanged"));
  assert.deepEqual(readdirSync(dir), ["occupied"]);
  assert.equal(readFileSync(join(target, "inside"), "utf8"), "x");
  assert.throws(() => atomicWrite(join(dir, "missing-folder", "f"), "x"), /missing-folder\/f: could not write/);
});
