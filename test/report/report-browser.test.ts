// The report of a short run opens in headless Chromium with no request leaving the page and no console error, and every chart has drawn marks.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { writeReport } from "../../src/report/index.js";
import { repoRoot } from "../helpers/paths.js";
import { requireOrSkip } from "../helpers/requirements.js";
import { writeSyntheticRun } from "./synthetic-runs.js";

const CHROMIUM = "/usr/bin/chromium";

test("report: opens in headless Chromium offline, no request but the file, no console error, marks in every chart", { timeout: 120_000 }, async (t) => {
  let playwright: typeof import("playwright-core") | null = null;
  try {
    playwright = await import("playwright-core");
  } catch {
    playwright = null;
  }
  if (!requireOrSkip(t, existsSync(CHROMIUM), `${CHROMIUM} not found (Debian package chromium)`)) return;
  if (!requireOrSkip(t, playwright !== null, "playwright-core is not installed (npm ci)")) return;

  const root = mkdtempSync(join(tmpdir(), "report-browser-"));
  writeSyntheticRun(root, { name: "rigl-run", method: "rigl", density: 0.1, updates: true });
  writeSyntheticRun(root, { name: "l0-run", method: "l0", density: 1, regularization: true, seed: 2 });
  const out = join(root, "report.html");
  const result = await writeReport([join(root, "rigl-run"), join(root, "l0-run")], { out, reference: join(repoRoot(), "docs", "published", "snfs-lenet-300-100.json") });
  const expectedCharts = ["accuracy-vs-sparsity", "loss", "accuracy", "learning-rate", "regularization", "layer-density", "updates", "confusion-1", "masks-1", "inputs-1", "confusion-2", "masks-2", "inputs-2"];
  assert.deepEqual(result.files.filter((f) => f.endsWith(".svg")).map((f) => f.replace(/^.*\//, "").replace(/\.svg$/, "")).sort(), [...expectedCharts].sort());

  const browser = await playwright!.chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await browser.newPage();
    const url = pathToFileURL(out).href;
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    // Every request but the file itself is refused and recorded: the page must need nothing else.
    await page.route("**/*", (route) => (route.request().url() === url ? route.continue() : route.abort("blockedbyclient")));
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.goto(url, { waitUntil: "load" });
    const marks: Record<string, { marks: number; width: number; height: number }> = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("figure[data-chart]")].map((f) => {
      const svg = f.querySelector("svg");
      const box = svg?.getBoundingClientRect();
      return [f.getAttribute("data-chart"), { marks: f.querySelectorAll("svg g.role-mark > *").length, width: box?.width ?? 0, height: box?.height ?? 0 }];
    })));
    assert.deepEqual(Object.keys(marks).sort(), [...expectedCharts].sort(), "one figure per chart");
    for (const [name, m] of Object.entries(marks)) {
      assert.ok(m.marks > 0, `chart ${name} drew no marks`);
      assert.ok(m.width > 50 && m.height > 50, `chart ${name} is ${m.width}×${m.height} on the page`);
    }
    // The mask pictures draw one rect per grid cell: 16×64 + 8×16 + 10×8 cells in each of 3 phases.
    assert.equal(marks["masks-1"].marks, 3 * (16 * 64 + 8 * 16 + 10 * 8));
    assert.equal(marks["inputs-1"].marks, 3 * 28 * 28);
    assert.deepEqual(consoleErrors, [], "console errors in the page");
    assert.deepEqual(requests, [url], "requests other than the report file");
  } finally {
    await browser.close();
  }
});
