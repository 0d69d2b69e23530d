// Reads IDX files (the MNIST container format), raw or gzip-compressed, validating the header against the data.
//
// Layout (LeCun's MNIST page): two zero bytes, a dtype byte, a dimension-count byte, one big-endian
// uint32 per dimension, then the values in row-major order, big-endian.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export type IdxDtype = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";
export type IdxValues = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  values: IdxValues;
}

const dtypesByCode: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: "uint8", bytes: 1 },
  0x09: { dtype: "int8", bytes: 1 },
  0x0b: { dtype: "int16", bytes: 2 },
  0x0c: { dtype: "int32", bytes: 4 },
  0x0d: { dtype: "float32", bytes: 4 },
  0x0e: { dtype: "float64", bytes: 8 },
};

const gzipMagic = [0x1f, 0x8b];

/** Reads and validates the IDX file at `path` (gzip detected by its magic bytes, not its name). */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`${path}: cannot read IDX file (${(error as Error).message})`);
  }
  return parseIdx(bytes, path);
}

/** Parses IDX bytes; `fileName` names the source in error messages. */
export function parseIdx(fileBytes: Uint8Array, fileName: string): IdxArray {
  const bytes = isGzip(fileBytes) ? gunzip(fileBytes, fileName) : fileBytes;
  if (bytes.length < 4) throw new Error(`${fileName}: not an IDX file (${bytes.length} bytes, shorter than the 4-byte magic number)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new Error(`${fileName}: not an IDX file (magic number ${magic} does not start with two zero bytes)`);
  }
  const type = dtypesByCode[bytes[2]];
  if (type === undefined) {
    throw new Error(`${fileName}: unknown IDX dtype code 0x${bytes[2].toString(16).padStart(2, "0")} (expected 08, 09, 0b, 0c, 0d or 0e)`);
  }
  const rank = bytes[3];
  if (rank === 0) throw new Error(`${fileName}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(`${fileName}: truncated IDX header (${rank} dimensions need ${headerBytes} header bytes, the file has ${bytes.length})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expectedBytes = count * type.bytes;
  const actualBytes = bytes.length - headerBytes;
  if (actualBytes !== expectedBytes) {
    throw new Error(
      `${fileName}: header says ${shape.join("×")}${type.bytes > 1 ? ` × ${type.bytes} bytes` : ""} = ${expectedBytes} bytes of data ` +
        `but the file has ${actualBytes} after the header`,
    );
  }
  return { dtype: type.dtype, shape, values: decodeValues(view, headerBytes, count, type.dtype) };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === gzipMagic[0] && bytes[1] === gzipMagic[1];
}

function gunzip(bytes: Uint8Array, fileName: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new Error(`${fileName}: corrupt gzip data (${(error as Error).message})`);
  }
}

/** Copies the big-endian values into a native typed array. */
function decodeValues(view: DataView, offset: number, count: number, dtype: IdxDtype): IdxValues {
  switch (dtype) {
    case "uint8":
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case "int8":
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case "int16": {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case "int32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case "float32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case "float64": {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Writes values as IDX bytes (used by tests and by tools that produce small datasets). */
export function encodeIdx(array: IdxArray): Uint8Array {
  const entry = Object.entries(dtypesByCode).find(([, t]) => t.dtype === array.dtype)!;
  const code = Number(entry[0]);
  const width = entry[1].bytes;
  const headerBytes = 4 + 4 * array.shape.length;
  const out = new Uint8Array(headerBytes + array.values.length * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = array.shape.length;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < array.values.length; i++) {
    const at = headerBytes + i * width;
    const v = array.values[i];
    switch (array.dtype) {
      case "uint8": view.setUint8(at, v); break;
      case "int8": view.setInt8(at, v); break;
      case "int16": view.setInt16(at, v, false); break;
      case "int32": view.setInt32(at, v, false); break;
      case "float32": view.setFloat32(at, v, false); break;
      case "float64": view.setFloat64(at, v, false); break;
    }
  }
  return out;
}
