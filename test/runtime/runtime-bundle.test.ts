// `sparsetrain/runtime` bundles for a web page: esbuild (minified, platform browser) resolves it through package.json "exports", the bundle with its WebAssembly stays under 100 KB, and it runs.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { exportCompactModel } from "../../src/export/compact-writer.js";
import { readCompactModel } from "../../src/runtime/compact-reader.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { lenetSparseSpec, rawInputs } from "../helpers/compact-models.js";
import { buildModel } from "../../src/nn/presets.js";
import { repoRoot } from "../helpers/paths.js";

/** The budget for the minified runtime bundle, WebAssembly included. */
const BUNDLE_LIMIT_BYTES = 100 * 1024;

test("sparsetrain/runtime bundles minified under 100 KB with its WebAssembly, and the bundle runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sparsetrain-bundle-"));
  try {
    // A project that depends on sparsetrain: node_modules/sparsetrain is this repository.
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(repoRoot(), join(dir, "node_modules", "sparsetrain"), "dir");
    writeFileSync(join(dir, "entry.js"), 'export { loadModel } from "sparsetrain/runtime";\n');
    const result = await build({
      absWorkingDir: dir, entryPoints: ["entry.js"], bundle: true, minify: true, format: "esm", platform: "browser",
      target: "es2022", write: false, metafile: true, logLevel: "silent",
    });
    const bundle = result.outputFiles[0].contents;
    const bundled = Object.keys(result.metafile.inputs);
    assert.ok(bundled.some((p) => p.endsWith("dist/src/runtime/inference-wasm.js")), `the WebAssembly is in the bundle (inputs: ${bundled.join(", ")})`);
    assert.ok(bundled.every((p) => p === "entry.js" || /dist\/src\/runtime\/[\w-]+\.js$/.test(p)), `only src/runtime/ is bundled: ${bundled.join(", ")}`);
    console.log(`sparsetrain/runtime bundle: ${bundle.length} bytes minified (${(bundle.length / 1024).toFixed(1)} KB), ${gzipSync(bundle).length} gzipped, both WebAssembly builds included`);
    assert.ok(bundle.length < BUNDLE_LIMIT_BYTES, `bundle is ${bundle.length} bytes, over the ${BUNDLE_LIMIT_BYTES}-byte budget`);

    const file = join(dir, "bundle.mjs");
    writeFileSync(file, bundle);
    const { loadModel } = (await import(pathToFileURL(file).href)) as typeof import("../../src/runtime/index.js");
    const bytes = exportCompactModel(buildModel(lenetSparseSpec));
    const model = await loadModel(bytes);
    const inputs = rawInputs(2, model.inputSize);
    const expected = referencePredict(readCompactModel(bytes), inputs, 2);
    const logits = model.predict(inputs, 2);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(logits[i] - expected[i]) <= 1e-5 * Math.max(1, Math.abs(expected[i])), `logit ${i}: ${logits[i]} vs ${expected[i]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
