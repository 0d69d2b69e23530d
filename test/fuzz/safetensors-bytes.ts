// Takes safetensors bytes apart (header JSON, data section) and puts edited parts back together, for tests that corrupt checkpoints on purpose.
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { buildModel, type ModelSpec } from "../../src/nn/presets.js";
import { Linear } from "../../src/nn/linear.js";
import { full, tensor } from "../../src/tensor/tensor.js";
import { Sgd } from "../../src/optim/sgd.js";
import { saveQuantizedCheckpoint } from "../../src/quantize/checkpoint-write.js";
import { quantizeModel, type QuantizeOptions } from "../../src/quantize/quantize-model.js";

export interface SafetensorsParts {
  /** The header as text (without the padding spaces), so tests can edit it byte for byte. */
  headerText: string;
  data: Uint8Array;
}

export function splitSafetensors(bytes: Uint8Array): SafetensorsParts {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  return { headerText: new TextDecoder().decode(bytes.subarray(8, 8 + length)).trimEnd(), data: new Uint8Array(bytes.subarray(8 + length)) }; // a copy, even of a Buffer (whose slice() is a view)
}

export function joinSafetensors(headerText: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.set(data, 8 + padded);
  return out;
}

export type HeaderObject = Record<string, Record<string, unknown>> & { __metadata__: Record<string, string> };

/** Rewrites the header through `edit` (which may change it in place or return a new one), keeping the data section. */
export function editHeader(bytes: Uint8Array, edit: (header: HeaderObject) => HeaderObject | void): Uint8Array {
  const { headerText, data } = splitSafetensors(bytes);
  const header = JSON.parse(headerText) as HeaderObject;
  return joinSafetensors(JSON.stringify(edit(header) ?? header), data);
}

/** Rewrites one JSON-valued metadata entry (e.g. "model") through `edit`. */
export function editMetadataJson(bytes: Uint8Array, key: string, edit: (value: Record<string, unknown>) => unknown): Uint8Array {
  return editHeader(bytes, (h) => {
    const value = JSON.parse(h.__metadata__[key]) as Record<string, unknown>;
    const edited = edit(value);
    h.__metadata__[key] = JSON.stringify(edited === undefined ? value : edited);
  });
}

/** Overwrites values of a tensor in the data section (F32 or I64), found through the header's offsets. */
export function setTensorValues(bytes: Uint8Array, name: string, values: Record<number, number>): Uint8Array {
  const { headerText, data } = splitSafetensors(bytes);
  const entry = (JSON.parse(headerText) as HeaderObject)[name] as { dtype: string; data_offsets: [number, number] };
  const copy = new Uint8Array(data);
  const view = new DataView(copy.buffer);
  for (const [index, v] of Object.entries(values)) {
    const at = entry.data_offsets[0] + Number(index) * (entry.dtype === "I64" ? 8 : 4);
    if (entry.dtype === "I64") view.setBigInt64(at, BigInt(v), true);
    else if (entry.dtype === "F32") view.setFloat32(at, v, true);
    else view.setInt32(at, v, true);
  }
  return joinSafetensors(headerText, copy);
}

/**
 * A small checkpoint touching every stored kind: a CSR Linear, batch norm, dropout, a masked
 * dense Linear, a normalizer, metrics, and (optionally) a state file with SGD momentum, or quantized weights.
 */
export const smallSpec: ModelSpec = {
  preset: "mlp", inputShape: [1, 4, 4], classes: 3, widths: [8, 6], batchNorm: true, dropout: 0.1, activation: "tanh", sparse: { "0": 0.5 }, seed: 5,
};

export function writeSmallCheckpoint(path: string, options: { state?: boolean; spec?: ModelSpec; step?: number; epoch?: number; quantize?: QuantizeOptions } = {}): void {
  const model = buildModel(options.spec ?? smallSpec);
  const masked = model.net.layers.find((l, i) => i > 0 && l instanceof Linear) as Linear | undefined;
  if (masked !== undefined) {
    const mask = tensor(Float32Array.from({ length: masked.weight.size }, (_, i) => (i % 3 === 0 ? 0 : 1)), masked.weight.shape);
    masked.setMask(mask);
  }
  const step = options.step ?? 12, epoch = options.epoch ?? 2;
  const info = { step, epoch, seed: 5, normalizer: { kind: "standardize" as const, shift: [0.1], factor: [3] }, metrics: { test_accuracy: 0.5 }, recipe: { data: { dataset: "mnist" } } };
  if (options.quantize) {
    saveQuantizedCheckpoint(path, model, quantizeModel(model, options.quantize), info);
    return;
  }
  if (!options.state) {
    saveCheckpoint(path, model, info);
    return;
  }
  // One real update, so that the state file holds momentum buffers.
  const parameters = model.net.parameters().map((p) => p.tensor);
  const optimizer = new Sgd([{ params: parameters }], { lr: 0.1, momentum: 0.9 });
  for (const p of parameters) p.grad = full(p.shape, 0.01);
  optimizer.step();
  const trainer = { epoch, step, bestMetric: null, epochsWithoutImprovement: 0, modelRng: model.net.rng.getState() };
  saveCheckpoint(path, model, info, { optimizer, trainer });
}
