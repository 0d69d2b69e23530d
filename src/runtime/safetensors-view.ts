// Splits safetensors bytes into a checked header (tensor entries, string metadata) and per-tensor byte views, without copying and without Node APIs.
//
// Layout: 8-byte little-endian header length N; N bytes of UTF-8 JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`; then the
// raw little-endian tensor data, offsets relative to its start. Every problem is thrown as an
// Error whose message starts with `source`.

export type ViewDtype = "F32" | "F16" | "I8" | "U8" | "U16" | "U32";
export const DTYPE_BYTES: Record<ViewDtype, number> = { F32: 4, F16: 2, I8: 1, U8: 1, U16: 2, U32: 4 };

/** The tensors of a file, handed out by name with dtype and shape checked; `fail` throws an error naming the file. */
export interface TensorSource {
  take(name: string, dtypes: readonly ViewDtype[], shape: readonly number[]): TensorView;
  fail(problem: string): never;
}

export interface TensorView {
  name: string;
  dtype: ViewDtype;
  shape: number[];
  /** The tensor's bytes inside the file (a view, not a copy). */
  bytes: Uint8Array;
}

export interface SafetensorsView {
  tensors: Map<string, TensorView>;
  metadata: Record<string, string>;
  /** The data section (everything after the header). */
  data: Uint8Array;
}

/** A model file's header is small (a layout and a few hundred tensor entries); refuse absurd ones before decoding them. */
const MAX_HEADER_BYTES = 16_000_000;
const METADATA_KEY = "__metadata__";

export class CompactFormatError extends Error {
  override name = "CompactFormatError";
}

/** Escapes control characters so that a message quoting file content stays one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function viewSafetensors(bytes: Uint8Array, source: string): SafetensorsView {
  const fail = (problem: string): never => {
    throw new CompactFormatError(`${source}: ${oneLine(problem)}`);
  };
  if (!(bytes instanceof Uint8Array)) fail(`expected the file's bytes as a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length that starts a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(4, true), low = view.getUint32(0, true);
  const headerLength = high * 2 ** 32 + low;
  if (headerLength > bytes.length - 8) fail(`header length ${headerLength} is larger than the file (${bytes.length - 8} bytes after the 8-byte length); the file is truncated or not safetensors`);
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail("the header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    fail("the header is not valid JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return fail("the header must be a JSON object");
  const data = bytes.subarray(8 + headerLength);
  const metadata = readMetadata((header as Record<string, unknown>)[METADATA_KEY], fail);
  const tensors = new Map<string, TensorView>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    tensors.set(name, readEntry(name, entry, data, fail));
  }
  checkCoverage([...tensors.values()], data, fail);
  return { tensors, metadata, data };
}

function readMetadata(value: unknown, fail: (problem: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(`"${METADATA_KEY}" must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") fail(`"${METADATA_KEY}"."${key}" must be a string, got ${JSON.stringify(v)}`);
  }
  return { ...(value as Record<string, string>) };
}

function readEntry(name: string, entry: unknown, data: Uint8Array, fail: (problem: string) => never): TensorView {
  const where = `tensor "${name}"`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return fail(`${where}: expected an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    return fail(`${where}: dtype ${JSON.stringify(dtype)} is not one of ${Object.keys(DTYPE_BYTES).join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${where}: shape ${JSON.stringify(shape)} must be a list of integers >= 0`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    return fail(`${where}: data_offsets ${JSON.stringify(offsets)} must be [begin, end] with integers >= 0`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > data.length) fail(`${where}: data_offsets [${begin}, ${end}] are out of range (the data section has ${data.length} bytes)`);
  const width = DTYPE_BYTES[dtype as ViewDtype];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * width;
  if (expected !== end - begin) {
    fail(`${where}: shape [${shape.join(", ")}] × ${width} bytes (${dtype}) = ${expected} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype: dtype as ViewDtype, shape: shape as number[], bytes: data.subarray(begin, end) };
}

/** The tensors must tile the data section exactly: no overlap, no gap, nothing after the last. */
function checkCoverage(tensors: TensorView[], data: Uint8Array, fail: (problem: string) => never): void {
  const start = (t: TensorView) => t.bytes.byteOffset - data.byteOffset;
  const sorted = tensors.filter((t) => t.bytes.length > 0).sort((a, b) => start(a) - start(b));
  let covered = 0;
  let previous = "";
  for (const t of sorted) {
    const begin = start(t);
    if (begin < covered) fail(`tensors "${previous}" and "${t.name}" overlap at byte ${begin} of the data`);
    if (begin > covered) fail(`bytes [${covered}, ${begin}) of the data belong to no tensor`);
    covered = begin + t.bytes.length;
    previous = t.name;
  }
  if (covered !== data.length) fail(`bytes [${covered}, ${data.length}) of the data belong to no tensor`);
}
