// The runtime in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): a page served from 127.0.0.1 loads the esbuild bundle and exported models and returns logits equal bit for bit to Node's.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { build } from "esbuild";
import { exportCompactModel } from "../../src/export/compact-writer.js";
import { buildModel } from "../../src/nn/presets.js";
import { loadModel, type InferenceVariant } from "../../src/runtime/index.js";
import { lenetSparseSpec, mlpModel, mnistScalar, rawInputs } from "../helpers/compact-models.js";
import { repoRoot } from "../helpers/paths.js";
import { requireOrSkip } from "../helpers/requirements.js";

// Node 20 runs relaxed SIMD only behind this V8 flag (set before the runtime compiles its module);
// Chromium has it by default. Both kernel builds are compared, each against itself.
setFlagsFromString("--experimental-wasm-relaxed-simd");

const CHROMIUM = "/usr/bin/chromium";
const VARIANTS: readonly InferenceVariant[] = ["relaxed", "simd"];
// Batch 1 to 3 run the row-gather program, 4 and up the batch-in-lanes one ("auto").
const BATCHES = [1, 2, 3, 5, 17];

/** The exported models the page runs: a sparse MLP (CSR + masked + dense, batch norm folded) and a sparse LeNet-5, float32 and int8. */
function exportedModels(): Map<string, Uint8Array> {
  const models = new Map<string, Uint8Array>();
  for (const values of ["float32", "int8"] as const) {
    models.set(`mlp-${values}`, exportCompactModel(mlpModel(), { normalizer: mnistScalar, values }));
    models.set(`lenet-${values}`, exportCompactModel(buildModel(lenetSparseSpec), { normalizer: mnistScalar, values }));
  }
  return models;
}

// The page exposes one function: fetch a model, load it with the given kernels, predict, return the logits' bytes (base64, so nothing is rounded on the way).
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>sparsetrain runtime</title></head>
<body><script type="module">
import { loadModel } from "/runtime.js";
const toBase64 = (bytes) => { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); };
window.runtimePredict = async (name, kernels, inputs, batch) => {
  const response = await fetch("/models/" + name + ".bin");
  if (!response.ok) throw new Error("GET " + name + ": " + response.status);
  const model = await loadModel(await response.arrayBuffer(), { kernels, source: name });
  try {
    const logits = model.predict(Float32Array.from(inputs), batch);
    return { kernels: model.kernels, logits: toBase64(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)) };
  } finally { model.dispose(); }
};
window.runtimeReady = true;
</script></body></html>`;

/** Serves the page, the runtime bundle and the models from 127.0.0.1 on a free port. */
async function serve(bundle: Uint8Array, models: Map<string, Uint8Array>): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const model = /^\/models\/([\w-]+)\.bin$/.exec(path);
    const send = (type: string, body: string | Uint8Array) => response.writeHead(200, { "content-type": type }).end(body);
    if (path === "/") send("text/html; charset=utf-8", PAGE);
    else if (path === "/runtime.js") send("text/javascript", bundle);
    else if (model !== null && models.has(model[1])) send("application/octet-stream", models.get(model[1])!);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function importPlaywright(): Promise<typeof import("playwright-core") | null> {
  try {
    return await import("playwright-core");
  } catch {
    return null;
  }
}

test("browser: headless Chromium runs the bundled runtime on exported models, logits equal to Node's bit for bit", { timeout: 180_000 }, async (t) => {
  const playwright = await importPlaywright();
  if (!requireOrSkip(t, existsSync(CHROMIUM), `${CHROMIUM} not found (Debian package chromium)`)) return;
  if (!requireOrSkip(t, playwright !== null, "playwright-core is not installed (npm ci)")) return;

  const result = await build({
    entryPoints: [join(repoRoot(), "dist", "src", "runtime", "index.js")], bundle: true, minify: true, format: "esm",
    platform: "browser", target: "es2022", write: false, logLevel: "silent",
  });
  const models = exportedModels();
  const { server, origin } = await serve(result.outputFiles[0].contents, models);
  const browser = await playwright!.chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    // Nothing may leave 127.0.0.1: every request is recorded, and any other origin is refused.
    await page.route("**/*", (route) => (route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort("blockedbyclient")));
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { runtimeReady?: boolean }).runtimeReady === true);

    let compared = 0;
    for (const [name, bytes] of models) {
      for (const kernels of VARIANTS) {
        const model = await loadModel(bytes, { kernels, source: name });
        for (const batch of BATCHES) {
          const inputs = rawInputs(batch, model.inputSize, batch + 10);
          const expected = model.predict(inputs, batch);
          const got = await page.evaluate(
            ([n, k, x, b]) => (window as unknown as { runtimePredict(n: string, k: string, x: number[], b: number): Promise<{ kernels: string; logits: string }> }).runtimePredict(n, k, x, b),
            [name, kernels, Array.from(inputs), batch] as const,
          );
          const where = `${name}, ${kernels} kernels, batch ${batch}`;
          assert.equal(got.kernels, kernels, where);
          const browserLogits = new Float32Array(new Uint8Array(Buffer.from(got.logits, "base64")).buffer);
          assert.equal(browserLogits.length, expected.length, `${where}: logit count`);
          const expectedBits = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
          const browserBits = new Uint32Array(browserLogits.buffer);
          for (let i = 0; i < expected.length; i++) {
            assert.equal(browserBits[i], expectedBits[i], `${where}: logit ${i} is ${browserLogits[i]} in Chromium, ${expected[i]} in Node`);
          }
          compared++;
        }
        model.dispose();
      }
    }
    assert.equal(compared, models.size * VARIANTS.length * BATCHES.length);
    assert.deepEqual(consoleErrors, [], "console errors in the page");
    const foreign = requests.filter((url) => !url.startsWith(`${origin}/`));
    assert.deepEqual(foreign, [], "requests that left 127.0.0.1");
    assert.ok(requests.includes(`${origin}/runtime.js`), `the page loaded the runtime bundle (requests: ${requests.join(", ")})`);
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
