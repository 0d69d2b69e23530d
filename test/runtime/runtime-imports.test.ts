// The runtime folder imports nothing outside itself and no Node built-in: it must bundle small for a web page (DESIGN.md, "Shipping a model").
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";

test("src/runtime/ imports only from src/runtime/ (no node:, no packages, no ../)", () => {
  const dir = join(repoRoot(), "src", "runtime");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  assert.ok(files.includes("compact-reader.ts") && files.includes("reference-predict.ts"));
  for (const file of files) {
    const source = readFileSync(join(dir, file), "utf8");
    const specifiers = [...source.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]);
    for (const specifier of specifiers) assert.match(specifier, /^\.\/[\w-]+\.js$/, `${file} imports "${specifier}"`);
  }
});
