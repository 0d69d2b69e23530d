// Reads the numbers of a safetensors tensor view (little-endian, any alignment) and decodes the narrow encodings of a compact file: float16, packed int4.
import type { TensorView } from "./safetensors-view.js";

/** float16 (IEEE binary16) bits → the number they encode (exact: every half fits a float32). */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The values of an F32 or F16 tensor as float32. */
export function readFloats(t: TensorView): Float32Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  if (t.dtype === "F32") {
    const out = new Float32Array(t.bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (t.dtype === "F16") {
    const out = new Float32Array(t.bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = float16ToNumber(view.getUint16(2 * i, true));
    return out;
  }
  throw new RangeError(`readFloats: ${t.name} is ${t.dtype}, not a float tensor`);
}

/** The values of a U8, U16, U32 or I8 tensor. */
export function readIntegers(t: TensorView): Float64Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  switch (t.dtype) {
    case "U8": return Float64Array.from(t.bytes);
    case "I8": return Float64Array.from(new Int8Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length));
    case "U16": return Float64Array.from({ length: t.bytes.length / 2 }, (_, i) => view.getUint16(2 * i, true));
    case "U32": return Float64Array.from({ length: t.bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
    default: throw new RangeError(`readIntegers: ${t.name} is ${t.dtype}, not an integer tensor`);
  }
}

/**
 * The `count` int4 codes packed two per byte, the first in the low nibble (two's complement). The
 * high nibble of an odd count's last byte must be 0: returns its index as `badTail` otherwise.
 */
export function unpackInt4Codes(packed: Uint8Array, count: number): { codes: Int8Array; badTail: boolean } {
  const codes = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const nibble = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
    codes[i] = nibble >= 8 ? nibble - 16 : nibble;
  }
  const badTail = count % 2 === 1 && packed[packed.length - 1] >> 4 !== 0;
  return { codes, badTail };
}
