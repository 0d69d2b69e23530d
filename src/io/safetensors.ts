// Reads and writes safetensors files (the format safetensors.torch.load_file opens), validating every header field.
//
// Layout: 8-byte little-endian header length N; N bytes of UTF-8 JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, padded with
// spaces to a multiple of 8; then the raw little-endian tensor data, offsets relative to its start.
import { readFileSync } from "node:fs";
import { atomicWrite } from "./atomic-write.js";
import { findDuplicateKey } from "./json-duplicate-keys.js";

export type SafetensorsDtype = "F32" | "I32" | "I64" | "U8" | "I8";
export type TensorValues = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  values: TensorValues;
}

/** A tensor to write; `dtype` defaults from the array type. "I64" may be given with an Int32Array (torch CSR indices are int64). */
export interface TensorToWrite {
  dtype?: SafetensorsDtype;
  shape: readonly number[];
  values: TensorValues;
}

export interface SafetensorsContent {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

const bytesPerValue: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, I64: 8, U8: 1, I8: 1 };
const metadataKey = "__metadata__";
/** The reference implementation refuses larger headers; so do we, before allocating for one. */
const maxHeaderBytes = 100_000_000;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("safetensors: this code copies typed arrays as raw bytes and needs a little-endian machine");
}

/** Encodes tensors (in insertion order within each dtype, widest dtype first so every tensor is aligned) and string metadata. */
export function encodeSafetensors(tensors: Iterable<[string, TensorToWrite]> | Record<string, TensorToWrite>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = Symbol.iterator in tensors ? [...tensors] : Object.entries(tensors);
  const prepared = entries.map(([name, tensor]) => prepareTensor(name, tensor));
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") throw new TypeError(`safetensors: metadata "${key}" must be a string, got ${typeof value}`);
  }
  prepared.sort((a, b) => bytesPerValue[b.dtype] - bytesPerValue[a.dtype]);

  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[metadataKey] = metadata;
  let offset = 0;
  for (const t of prepared) {
    if (Object.hasOwn(header, t.name)) throw new Error(`safetensors: tensor name "${t.name}" appears twice`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let at = 8 + headerBytes;
  for (const t of prepared) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

function prepareTensor(name: string, tensor: TensorToWrite): { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array } {
  if (name === "" || name === metadataKey) throw new Error(`safetensors: invalid tensor name "${name}"`);
  const shape = [...tensor.shape];
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new RangeError(`safetensors: tensor "${name}" has invalid shape [${shape.join(", ")}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (tensor.values.length !== count) {
    throw new RangeError(`safetensors: tensor "${name}" of shape [${shape.join(", ")}] needs ${count} values, got ${tensor.values.length}`);
  }
  const natural = dtypeOf(tensor.values);
  const dtype = tensor.dtype ?? natural;
  let values = tensor.values;
  if (dtype === "I64" && values instanceof Int32Array) values = BigInt64Array.from(values, (v) => BigInt(v));
  else if (dtype !== natural) throw new TypeError(`safetensors: tensor "${name}" is ${values.constructor.name}, which cannot be written as ${dtype}`);
  return { name, dtype, shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function dtypeOf(values: TensorValues): SafetensorsDtype {
  if (values instanceof Float32Array) return "F32";
  if (values instanceof Int32Array) return "I32";
  if (values instanceof BigInt64Array) return "I64";
  if (values instanceof Int8Array) return "I8";
  return "U8";
}

/** Decodes and validates safetensors bytes; `fileName` names the source in every error. Values are copies. */
export function decodeSafetensors(bytes: Uint8Array, fileName: string): SafetensorsContent {
  const fail = (problem: string): never => {
    throw new Error(`${fileName}: ${oneLine(problem)}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length that starts a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    fail(`header length ${declared} is larger than the file (${bytes.length - 8} bytes after the 8-byte length); the file is truncated or not safetensors`);
  }
  const headerLength = Number(declared);
  if (headerLength > maxHeaderBytes) fail(`header length ${headerLength} exceeds the ${maxHeaderBytes}-byte limit`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail("the header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    // A header cut short (a wrong header length) is the usual cause; say so rather than quote the parser.
    const message = (error as Error).message;
    return fail(/Unexpected end of JSON/.test(message) ? "the header is not valid JSON: it ends before the JSON does (is the 8-byte header length right?)" : `the header is not valid JSON (${message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return fail("the header must be a JSON object");
  // JSON.parse keeps the last of two equal keys; a second tensor of the same name would vanish unseen.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) fail(`the header names ${duplicate} twice`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = readMetadata((header as Record<string, unknown>)[metadataKey], fail);
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === metadataKey) continue;
    const { dtype, shape, begin, end } = readEntry(name, entry, dataLength, fail);
    spans.push({ name, begin, end });
    tensors.set(name, { dtype, shape, values: copyValues(bytes, dataStart + begin, end - begin, dtype) });
  }
  checkCoverage(spans, dataLength, fail);
  return { tensors, metadata };
}

function readMetadata(value: unknown, fail: (problem: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(`"${metadataKey}" must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") fail(`"${metadataKey}"."${key}" must be a string, got ${JSON.stringify(v)}`);
  }
  return { ...(value as Record<string, string>) };
}

function readEntry(name: string, entry: unknown, dataLength: number, fail: (problem: string) => never) {
  const where = `tensor "${name}"`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return fail(`${where}: expected an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(bytesPerValue, dtype)) {
    return fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(bytesPerValue).join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${where}: shape ${JSON.stringify(shape)} must be a list of integers >= 0`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    return fail(`${where}: data_offsets ${JSON.stringify(offsets)} must be [begin, end] with integers >= 0`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) fail(`${where}: data_offsets [${begin}, ${end}] are out of range (the data section has ${dataLength} bytes)`);
  const width = bytesPerValue[dtype as SafetensorsDtype];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * width;
  if (expected !== end - begin) {
    fail(`${where}: shape [${shape.join(", ")}] × ${width} bytes (${dtype}) = ${expected} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/** The tensors must tile the data section exactly: no overlap, no gap, nothing after the last. */
function checkCoverage(spans: { name: string; begin: number; end: number }[], dataLength: number, fail: (problem: string) => never): void {
  const sorted = spans.filter((s) => s.end > s.begin).sort((a, b) => a.begin - b.begin);
  let covered = 0;
  let previous = "";
  for (const span of sorted) {
    if (span.begin < covered) fail(`tensors "${previous}" and "${span.name}" overlap (bytes [${span.begin}, ${Math.min(covered, span.end)}) of the data)`);
    if (span.begin > covered) fail(`bytes [${covered}, ${span.begin}) of the data belong to no tensor`);
    covered = span.end;
    previous = span.name;
  }
  if (covered !== dataLength) fail(`bytes [${covered}, ${dataLength}) of the data belong to no tensor`);
}

function copyValues(bytes: Uint8Array, start: number, length: number, dtype: SafetensorsDtype): TensorValues {
  // slice() copies into a fresh, aligned buffer, whatever the alignment inside the file.
  const buffer = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length);
  switch (dtype) {
    case "F32": return new Float32Array(buffer);
    case "I32": return new Int32Array(buffer);
    case "I64": return new BigInt64Array(buffer);
    case "U8": return new Uint8Array(buffer);
    case "I8": return new Int8Array(buffer);
  }
}

/** Writes a safetensors file atomically (temporary file, fsync, rename). */
export function writeSafetensors(path: string, tensors: Iterable<[string, TensorToWrite]> | Record<string, TensorToWrite>, metadata: Record<string, string> = {}): void {
  atomicWrite(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates the safetensors file at `path`. */
export function readSafetensors(path: string): SafetensorsContent {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`${path}: cannot read checkpoint (${(error as Error).message})`);
  }
  return decodeSafetensors(bytes, path);
}

/** Escapes control characters (a newline in a tensor name or a quoted header) so that an error stays one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Narrows int64 values (e.g. torch CSR indices) to int32, failing with `what` named if one does not fit. */
export function int64ToInt32(values: BigInt64Array | Int32Array, what: string): Int32Array {
  if (values instanceof Int32Array) return values;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < -2147483648n || v > 2147483647n) throw new RangeError(`${what}: value ${v} at index ${i} does not fit in int32`);
    out[i] = Number(v);
  }
  return out;
}
