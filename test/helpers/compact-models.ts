// Small models for compact-file tests (MLP with CSR, mask and batch norm; LeNet-5 sparse or dense), their logits, fake quantization, and byte edits that re-stamp the CRC.
import { noGrad } from "../../src/autograd/engine.js";
import { BatchNorm } from "../../src/nn/batch-norm.js";
import { Conv2d } from "../../src/nn/conv2d.js";
import { Linear } from "../../src/nn/linear.js";
import { buildModel, type Model, type ModelSpec } from "../../src/nn/presets.js";
import { SparseLinear } from "../../src/nn/sparse-linear.js";
import type { Normalizer } from "../../src/data/normalize.js";
import { denseRowOffsets, fakeQuantizeRows, type QuantBits } from "../../src/quantize/rows.js";
import { crc32Hex } from "../../src/runtime/crc32.js";
import { Rng } from "../../src/tensor/rng.js";
import { tensor, tidy } from "../../src/tensor/tensor.js";
import { joinSafetensors, splitSafetensors } from "../fuzz/safetensors-bytes.js";

/** MLP 16 → 12 → 8 → 3: layer 0 CSR (30%), layer 3 dense with a mask, batch norm after both hidden layers. */
export const mlpSpec: ModelSpec = { preset: "mlp", inputShape: [1, 4, 4], classes: 3, widths: [12, 8], batchNorm: true, dropout: 0.1, activation: "relu", sparse: { "0": 0.3 }, seed: 7 };
export const lenetSparseSpec: ModelSpec = { preset: "lenet-5", inputShape: [1, 16, 16], classes: 4, sparse: { "0": 0.5, "2": 0.2, "5": 0.1 }, seed: 11 };
export const lenetDenseSpec: ModelSpec = { preset: "lenet-5", inputShape: [1, 16, 16], classes: 4, seed: 12 };
export const mnistScalar: Normalizer = { kind: "standardize", shift: [33.3], factor: [1 / 78.6] };

/** The MLP with a mask on its second Linear and batch-norm statistics far from the identity (one γ negative). */
export function mlpModel(spec: ModelSpec = mlpSpec): Model {
  const model = buildModel(spec);
  const rng = new Rng(99, "test/bn");
  for (const layer of model.net.layers) {
    if (layer instanceof Linear) {
      layer.setMask(tensor(Float32Array.from({ length: layer.weight.size }, (_, i) => (i % 3 === 1 ? 0 : 1)), layer.weight.shape));
    }
    if (layer instanceof BatchNorm) {
      for (let c = 0; c < layer.channels; c++) {
        layer.weight.data[c] = c === 1 ? -0.7 : 0.5 + rng.uniform();
        layer.bias.data[c] = rng.uniform() - 0.5;
        layer.runningMean.data[c] = rng.uniform() - 0.5;
        layer.runningVar.data[c] = 0.2 + rng.uniform();
      }
    }
  }
  // The last Linear stays unmasked: a plain dense layer.
  const linears = model.net.layers.filter((l) => l instanceof Linear) as Linear[];
  linears[linears.length - 1].setMask(null);
  return model;
}

/** Raw pixels 0..255 (integers, as IDX files hold them). */
export function rawInputs(count: number, size: number, seed = 1): Float32Array {
  const rng = new Rng(seed, "test/raw");
  return Float32Array.from({ length: count * size }, () => Math.floor(rng.uniform() * 256));
}

/** (x − shift)·factor, as applyNormalizer does. */
export function normalized(raw: Float32Array, normalizer: Normalizer, size: number): Float32Array {
  const { shift, factor } = normalizer;
  return raw.map((v, i) => (v - shift[shift.length === 1 ? 0 : i % size]) * factor[factor.length === 1 ? 0 : i % size]);
}

/** The model's logits in eval mode. */
export function modelLogits(model: Model, inputs: Float32Array, count: number): Float32Array {
  model.net.eval();
  return noGrad(() => tidy(() => model.net.forward(tensor(inputs, [count, ...model.inputShape])).toArray()));
}

/** Replaces every weight of `model` by its fake-quantized value (per-row codes × scale), in place. */
export function fakeQuantizeModel(model: Model, bits: QuantBits): void {
  for (const layer of model.net.layers) {
    if (layer instanceof SparseLinear) fakeQuantizeRows(layer.weight.values.data, layer.weight.rowPtr, bits);
    else if (layer instanceof Conv2d && layer.sparseWeight) fakeQuantizeRows(layer.sparseWeight.values.data, layer.sparseWeight.rowPtr, bits);
    else if (layer instanceof Linear || layer instanceof Conv2d) {
      const w = layer.weight!;
      fakeQuantizeRows(w.data, denseRowOffsets(w.shape[0], w.size / w.shape[0]), bits);
    }
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function argmaxRows(logits: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    out.push(best);
  }
  return out;
}

type Header = Record<string, unknown> & { __metadata__: Record<string, string> };

/** Re-computes the CRC-32 of edited bytes, so that a test reaches the checks behind the checksum. */
export function restampChecksum(bytes: Uint8Array): Uint8Array {
  const { headerText, data } = splitSafetensors(bytes);
  const header = JSON.parse(headerText) as Header;
  const model = header.__metadata__?.model;
  if (typeof model !== "string") return bytes;
  header.__metadata__.crc32 = crc32Hex(new TextEncoder().encode(model), data);
  return joinSafetensors(JSON.stringify(header), data);
}

/** Edits the header (and its layout, parsed) of a compact file, then re-stamps the checksum. */
export function editCompact(bytes: Uint8Array, edit: (header: Header, layout: Record<string, any>, data: Uint8Array) => void): Uint8Array {
  const { headerText, data } = splitSafetensors(bytes);
  const header = JSON.parse(headerText) as Header;
  const layout = JSON.parse(header.__metadata__.model) as Record<string, any>;
  edit(header, layout, data);
  header.__metadata__.model = JSON.stringify(layout);
  return restampChecksum(joinSafetensors(JSON.stringify(header), data));
}

/** Offset of a tensor's bytes inside the data section. */
export function tensorOffset(bytes: Uint8Array, name: string): number {
  const header = JSON.parse(splitSafetensors(bytes).headerText) as Record<string, { data_offsets: [number, number] }>;
  return header[name].data_offsets[0];
}
