// Puts the tensors and layout of a compact model into safetensors bytes: widest dtype first (every tensor aligned), metadata with format, version, layout and CRC-32.
import { COMPACT_FORMAT, COMPACT_VERSION } from "../runtime/compact-model.js";
import { crc32Hex } from "../runtime/crc32.js";
import { DTYPE_BYTES, type ViewDtype } from "../runtime/safetensors-view.js";

export type CompactTensorValues = Float32Array | Uint16Array | Uint32Array | Uint8Array | Int8Array;

export interface CompactTensor {
  name: string;
  dtype: ViewDtype;
  shape: number[];
  values: CompactTensorValues;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("compact export: this code copies typed arrays as raw bytes and needs a little-endian machine");
}

/** The file's bytes: 8-byte header length, JSON header padded with spaces to a multiple of 8, data; `version` goes into the metadata. */
export function encodeCompactContainer(tensors: CompactTensor[], layout: unknown, version = COMPACT_VERSION): Uint8Array {
  const ordered = [...tensors].sort((a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype]);
  const entries: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const t of ordered) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.values.length !== count || t.values.BYTES_PER_ELEMENT !== DTYPE_BYTES[t.dtype]) {
      throw new Error(`compact export: tensor "${t.name}" holds ${t.values.length} values of ${t.values.BYTES_PER_ELEMENT} bytes, shape [${t.shape}] ${t.dtype} needs ${count} of ${DTYPE_BYTES[t.dtype]}`);
    }
    if (Object.hasOwn(entries, t.name)) throw new Error(`compact export: tensor "${t.name}" appears twice`);
    const bytes = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    entries[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  const model = JSON.stringify(layout);
  const metadata = { format: COMPACT_FORMAT, version: String(version), model, crc32: crc32Hex(new TextEncoder().encode(model), data) };
  const json = new TextEncoder().encode(JSON.stringify({ __metadata__: metadata, ...entries }));
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  out.set(data, 8 + headerBytes);
  return out;
}
