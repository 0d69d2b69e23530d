// Draws a digit on the example page in headless Chromium (Debian's /usr/bin/chromium via playwright-core), checks the model's answer, and saves docs/digit-example.png.
//
//   node examples/digit/screenshot.mjs [--digit 3] [--model examples/digit/model.bin] [--out docs/digit-example.png]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { serveDigitExample } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));

// Strokes per digit, in the 280×280 pad's pixels: each a list of points the mouse passes through.
const arc = (cx, cy, rx, ry, from, to, steps = 14) =>
  Array.from({ length: steps + 1 }, (_, i) => {
    const angle = ((from + ((to - from) * i) / steps) * Math.PI) / 180;
    return [cx + rx * Math.cos(angle), cy + ry * Math.sin(angle)];
  });
const STROKES = {
  2: [[...arc(140, 95, 50, 45, 200, 380), [95, 210], [200, 210]]],
  3: [[...arc(135, 90, 48, 40, 210, 450)], [...arc(135, 175, 55, 48, 270, 500)]],
  7: [[[85, 60], [195, 60], [125, 225]]],
};

const { values } = parseArgs({ options: { digit: { type: "string", default: "3" }, model: { type: "string" }, out: { type: "string", default: join(here, "..", "..", "docs", "digit-example.png") } } });
const strokes = STROKES[values.digit];
if (strokes === undefined) throw new Error(`--digit must be one of ${Object.keys(STROKES).join(", ")}`);

const { server, url } = await serveDigitExample({ port: 0, model: values.model });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
try {
  const page = await browser.newPage({ viewport: { width: 540, height: 390 } });
  const problems = [];
  page.on("console", (message) => { if (message.type() === "error") problems.push(message.text()); });
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("request", (request) => { if (!request.url().startsWith(url)) problems.push(`request outside 127.0.0.1: ${request.url()}`); });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  const pad = await page.locator("#pad").boundingBox();
  for (const stroke of strokes) {
    await page.mouse.move(pad.x + stroke[0][0], pad.y + stroke[0][1]);
    await page.mouse.down();
    for (const [x, y] of stroke.slice(1)) await page.mouse.move(pad.x + x, pad.y + y, { steps: 4 });
    await page.mouse.up();
  }
  const answer = await page.locator("#answer").textContent();
  if (problems.length > 0) throw new Error(`the page reported: ${problems.join("; ")}`);
  await page.screenshot({ path: values.out });
  console.log(`drew a ${values.digit}, the model answered ${answer}; wrote ${values.out}`);
  if (answer !== values.digit) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
