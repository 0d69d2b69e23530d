// The digit example's page logic: mouse strokes on a 280×280 canvas, scaled into MNIST's 28×28 layout (white on black, digit in a centred 20×20 box), classified by the sparsetrain runtime.
import { loadModel } from "/runtime/index.js";

const pad = document.getElementById("pad");
const small = document.getElementById("small");
const answer = document.getElementById("answer");
const bars = document.getElementById("bars");
const about = document.getElementById("about");
const padContext = pad.getContext("2d", { willReadFrequently: true });
const smallContext = small.getContext("2d", { willReadFrequently: true });

// MNIST digits fill a 20×20 box in 28×28 pixels with strokes 2–3 pixels wide: a 26-pixel stroke on a digit about 200 pixels tall keeps that ratio.
const SIDE = 28;
const BOX = 20;
padContext.lineWidth = 26;
padContext.lineCap = "round";
padContext.lineJoin = "round";
padContext.strokeStyle = "#fff";

function clearPad() {
  padContext.fillStyle = "#000";
  padContext.fillRect(0, 0, pad.width, pad.height);
  smallContext.fillStyle = "#000";
  smallContext.fillRect(0, 0, SIDE, SIDE);
  answer.textContent = "?";
  bars.replaceChildren();
}

/** The drawing as 784 raw pixel values 0–255 (MNIST's scale), or null when nothing is drawn. */
function mnistPixels() {
  const { data, width, height } = padContext.getImageData(0, 0, pad.width, pad.height);
  let left = width, right = -1, top = height, bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[4 * (y * width + x)] === 0) continue;
      left = Math.min(left, x); right = Math.max(right, x);
      top = Math.min(top, y); bottom = Math.max(bottom, y);
    }
  }
  if (right < 0) return null;
  // As MNIST was made: the longer side of the bounding box becomes 20 pixels, then the centre of
  // mass moves to the middle of the 28×28 image.
  const boxWidth = right - left + 1, boxHeight = bottom - top + 1;
  const scale = BOX / Math.max(boxWidth, boxHeight);
  const drawAt = (x, y) => {
    smallContext.fillStyle = "#000";
    smallContext.fillRect(0, 0, SIDE, SIDE);
    smallContext.imageSmoothingEnabled = true;
    smallContext.imageSmoothingQuality = "high";
    smallContext.drawImage(pad, left, top, boxWidth, boxHeight, x, y, boxWidth * scale, boxHeight * scale);
    const pixels = smallContext.getImageData(0, 0, SIDE, SIDE).data;
    return Float32Array.from({ length: SIDE * SIDE }, (_, i) => pixels[4 * i]);
  };
  const x0 = (SIDE - boxWidth * scale) / 2, y0 = (SIDE - boxHeight * scale) / 2;
  const centred = drawAt(x0, y0);
  let mass = 0, massX = 0, massY = 0;
  centred.forEach((v, i) => { mass += v; massX += v * (i % SIDE); massY += v * Math.floor(i / SIDE); });
  return drawAt(Math.round(x0 + (SIDE - 1) / 2 - massX / mass), Math.round(y0 + (SIDE - 1) / 2 - massY / mass));
}

function showLogits(model, logits) {
  const largest = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - largest));
  const total = exps.reduce((a, b) => a + b, 0);
  const best = logits.indexOf(largest);
  answer.textContent = model.classNames?.[best] ?? String(best);
  bars.replaceChildren(...exps.map((e, c) => {
    const row = document.createElement("div");
    row.className = c === best ? "bar best" : "bar";
    const label = document.createElement("span");
    label.textContent = `${model.classNames?.[c] ?? c}: ${(100 * e / total).toFixed(1)}%`;
    const bar = document.createElement("span");
    bar.style.width = `${Math.max(1, Math.round(120 * e / total))}px`;
    row.append(label, bar);
    return row;
  }));
}

async function main() {
  clearPad();
  const response = await fetch("model.bin");
  if (!response.ok) throw new Error(`model.bin: HTTP ${response.status} (export one first, see examples/digit/README.md)`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const model = await loadModel(bytes, { source: "model.bin" });
  about.textContent = `model.bin: ${bytes.length.toLocaleString("en")} bytes, ${model.inputSize} raw pixels in, ${model.classes} classes out; ${model.kernels === "relaxed" ? "relaxed-SIMD" : "SIMD"} WebAssembly kernels. Draw a digit.`;

  let last = null;
  const classify = () => {
    const pixels = mnistPixels();
    if (pixels !== null) showLogits(model, model.predict(pixels, 1));
  };
  const point = (event) => {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  };
  pad.addEventListener("pointerdown", (event) => {
    pad.setPointerCapture(event.pointerId);
    last = point(event);
    padContext.beginPath();
    padContext.moveTo(...last);
    padContext.lineTo(...last);
    padContext.stroke();
  });
  pad.addEventListener("pointermove", (event) => {
    if (last === null) return;
    const next = point(event);
    padContext.beginPath();
    padContext.moveTo(...last);
    padContext.lineTo(...next);
    padContext.stroke();
    last = next;
  });
  const end = () => { if (last !== null) { last = null; classify(); } };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  document.getElementById("clear").addEventListener("click", clearPad);
  document.body.dataset.ready = "true";
}

main().catch((error) => { about.textContent = String(error); console.error(error); });
