// The per-layer rows `sparsetrain info` prints for a checkpoint (shape, storage, stored, non-zero, density, bytes; quantized: bits and scales), shared with `sparsetrain report`.
import { parameterStats } from "../nn/layer-stats.js";
import type { LoadedCheckpoint } from "./checkpoint.js";
import type { StoredTensor } from "./safetensors.js";

/** How a quantized weight is stored, for `info`. */
export interface LayerQuantization {
  bits: number;
  granularity: string;
  scales: number;
  scale_min: number;
  scale_max: number;
}

export interface LayerInfo {
  name: string;
  kind: string;
  shape: number[];
  storage: "dense" | "masked" | "csr";
  stored: number;
  nonzero: number;
  density: number;
  bytes: number;
  /** Present for the quantized weights of a quantized checkpoint. */
  quantization?: LayerQuantization;
}

/** Bytes a parameter takes in the file: its values or codes, CSR indices, mask and scales. */
export function layerBytes(tensors: Map<string, { values: { byteLength: number } }>, name: string): number {
  let bytes = 0;
  for (const [n, t] of tensors) {
    if (n === name || n.startsWith(`${name}.`) || n === `${name}_mask` || n === `${name}_scale`) bytes += t.values.byteLength;
  }
  return bytes;
}

/** Smallest and largest of `values` (a loop: spreading a long array into Math.min overflows the stack). */
export function range(values: ArrayLike<number>): [number, number] {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  return [min, max];
}

/** One row per parameter of a loaded checkpoint, `tensors` being the file's raw tensors (for bytes). */
export function checkpointLayerInfo(checkpoint: LoadedCheckpoint, tensors: Map<string, StoredTensor>): LayerInfo[] {
  const quantization = checkpoint.quantization;
  const quantized = new Map(quantization?.layers.map((l) => [l.name, l]));
  return checkpoint.model.net.parameters().map((p) => {
    // The same counts the run logs record (src/nn/layer-stats.ts), so a report's tables agree with `info`.
    const { name, layer, shape, storage, stored, nonzero, density } = parameterStats(p);
    const q = quantized.get(p.name);
    const [scaleMin, scaleMax] = q ? range(q.scales) : [0, 0];
    return {
      name, kind: layer, shape, storage, stored, nonzero, density, bytes: layerBytes(tensors, p.name),
      ...(q && quantization ? { quantization: { bits: quantization.bits, granularity: quantization.granularity, scales: q.scales.length, scale_min: scaleMin, scale_max: scaleMax } } : {}),
    };
  });
}

/** The table `info` prints: a header row, then one row of strings per layer (values and scales columns when quantized). */
export function layerInfoTable(layers: LayerInfo[], quantized: boolean): string[][] {
  const rows = [["name", "layer", "shape", "storage", "stored", "non-zero", "density", "bytes", ...(quantized ? ["values", "scales"] : [])]];
  for (const l of layers) {
    const q = l.quantization;
    const values = q ? [`int${q.bits}`, `${q.scales} in [${q.scale_min.toPrecision(4)}, ${q.scale_max.toPrecision(4)}]`] : ["float32", ""];
    rows.push([l.name, l.kind, `[${l.shape.join(", ")}]`, l.storage, String(l.stored), String(l.nonzero), `${(100 * l.density).toFixed(2)}%`, String(l.bytes), ...(quantized ? values : [])]);
  }
  return rows;
}
