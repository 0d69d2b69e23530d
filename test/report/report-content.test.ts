// The report's tables hold the numbers of metrics.jsonl and of `sparsetrain info` for final.safetensors; every chart is written as SVG and as a non-blank PNG.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeReport } from "../../src/report/index.js";
import { repoRoot } from "../helpers/paths.js";
import { parseTable } from "./html-tables.js";
import { decodePng } from "./png-pixels.js";
import { writeSyntheticRun } from "./synthetic-runs.js";

const cli = join(repoRoot(), "dist", "src", "cli", "main.js");

test("report tables: epochs, test and runs equal metrics.jsonl; final layers equal `sparsetrain info` of final.safetensors", async () => {
  const root = mkdtempSync(join(tmpdir(), "report-tables-"));
  const run = writeSyntheticRun(root, { name: "set-run", method: "set", density: 0.05, updates: true, epochs: 3 });
  const result = await writeReport([run.dir]);
  assert.equal(result.html, join(run.dir, "report.html"), "one run: the report goes into its folder");
  const html = readFileSync(result.html, "utf8");

  const epochLines = run.lines.filter((l) => l.kind === "epoch");
  const epochs = parseTable(html, "epochs-1");
  assert.deepEqual(epochs.header, ["epoch", "step", "train loss", "train accuracy", "validation loss", "validation accuracy", "learning rate", "sparsity", "seconds"]);
  assert.equal(epochs.rows.length, epochLines.length);
  const fields = ["epoch", "step", "trainLoss", "trainAccuracy", "valLoss", "valAccuracy", "lr", "sparsity", "seconds"];
  epochs.rows.forEach((row, i) => fields.forEach((field, c) => assert.equal(row[c].value, epochLines[i][field], `epoch ${i + 1} ${field}`)));
  // The shown text is the value rounded, as a person reads it.
  assert.equal(epochs.rows[0][3].text, `${(100 * (epochLines[0].trainAccuracy as number)).toFixed(2)}%`);

  const final = run.lines.find((l) => l.kind === "final")!;
  const test = parseTable(html, "final-1").rows[0];
  assert.deepEqual(test.map((c) => c.value), [final.step, final.test_accuracy, final.test_loss, final.params_total, final.params_nonzero, final.sparsity, final.seconds]);
  const runs = parseTable(html, "runs").rows;
  // The runs table (and the comparison's x axis) give weight sparsity: the final line's weight layers, biases left out.
  const finalLayers = final.layers as { shape: number[]; nonzero: number }[];
  const weightSparsity = 1 - finalLayers.reduce((a, l) => a + l.nonzero, 0) / finalLayers.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(parseTable(html, "runs").header[3], "weight sparsity");
  assert.deepEqual(runs.map((r) => [r[0].text, r[1].text, r[3].value, r[4].value, r[5].value]), [["set-run", "set", weightSparsity, final.test_accuracy, final.seconds]]);

  // `info` prints its table with columns at least two spaces apart; the report's layer table is the same strings.
  const info = spawnSync(process.execPath, [cli, "info", join(run.dir, "final.safetensors")], { encoding: "utf8" });
  assert.equal(info.status, 0, info.stderr);
  const infoRows = info.stdout.trim().split("\n").filter((line) => /^\S+\s{2,}/.test(line) && !line.startsWith("metrics:")).map((line) => line.trim().split(/\s{2,}/));
  const layers = parseTable(html, "layers-1");
  assert.deepEqual([layers.header, ...layers.rows.map((r) => r.map((c) => c.text).filter((t) => t !== ""))], infoRows.map((r) => r.filter((t) => t !== "")));
  const infoJson = JSON.parse(spawnSync(process.execPath, [cli, "info", join(run.dir, "final.safetensors"), "--json"], { encoding: "utf8" }).stdout) as { layers: { stored: number; nonzero: number; density: number; bytes: number }[] };
  assert.deepEqual(layers.rows.map((r) => [r[4].value, r[5].value, r[6].value, r[7].value]), infoJson.layers.map((l) => [l.stored, l.nonzero, l.density, l.bytes]));
  assert.ok(layers.rows.some((r) => r[3].text === "csr"), "the sparse first layer is listed as CSR");
});

test("report charts: each chart is an SVG file and a PNG of twice its size that is not blank", async () => {
  const root = mkdtempSync(join(tmpdir(), "report-png-"));
  const run = writeSyntheticRun(root, { name: "rigl-run", method: "rigl", density: 0.1, updates: true, epochs: 2 });
  const out = join(root, "out", "mine.html");
  const result = await writeReport([run.dir], { out });
  assert.equal(result.html, out);
  const svgs = result.files.filter((f) => f.endsWith(".svg"));
  assert.ok(svgs.length >= 7, `charts: ${svgs.join(", ")}`);
  for (const svgPath of svgs) {
    assert.ok(svgPath.startsWith(join(root, "out", "mine-charts")), svgPath);
    const pngPath = svgPath.replace(/\.svg$/, ".png");
    assert.ok(existsSync(pngPath), `${pngPath} is missing`);
    const svg = readFileSync(svgPath, "utf8");
    const [, width, height] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const png = decodePng(readFileSync(pngPath));
    assert.deepEqual([png.width, png.height], [2 * width, 2 * height], `${pngPath}: size`);
    let inked = 0, colored = 0;
    for (let i = 0; i < png.rgba.length; i += 4) {
      const [r, g, b] = [png.rgba[i], png.rgba[i + 1], png.rgba[i + 2]];
      if (r < 200 || g < 200 || b < 200) inked++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
    }
    const pixels = png.width * png.height;
    assert.ok(inked > pixels * 0.01, `${pngPath}: only ${inked} of ${pixels} pixels are not near white`);
    // The data marks are drawn in colour, not only the grey axes and black text.
    assert.ok(colored > 0, `${pngPath}: no coloured pixels`);
  }
});
