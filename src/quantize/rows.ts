// Symmetric per-row quantization (zero point 0): the int8/int4 codes, their scales, and fake quantization for training.
//
// A weight matrix is seen as rows (the outputs of a linear layer, the filters of a convolution);
// `offsets[r]..offsets[r + 1]` are row r's entries in `values` — `r * rowLength` for a dense weight,
// the CSR row pointers for a sparse one. Every row has one scale s = max|w| / qmax, so the largest
// weight of a row maps to ±qmax and nothing is clipped. The zero point is 0, so a zero quantizes to
// the code 0 and dequantizes to exactly 0: a pruned weight stays pruned. A row of zeros (a pruned
// neuron or filter) gets the scale 1, a valid positive number, never 0/0.

/** The widths of the supported integer codes. */
export const QUANT_BITS = [8, 4] as const;
export type QuantBits = (typeof QUANT_BITS)[number];

/** The smallest positive normal float32: a scale never goes below it, so w / s stays finite. */
const MIN_SCALE = 2 ** -126;

/** One scale per output row (per output channel of a convolution), or one for the whole weight. */
export const QUANT_GRANULARITIES = ["per-row", "per-tensor"] as const;
export type QuantGranularity = (typeof QUANT_GRANULARITIES)[number];

export function isQuantGranularity(value: unknown): value is QuantGranularity {
  return value === "per-row" || value === "per-tensor";
}

export function isQuantBits(bits: unknown): bits is QuantBits {
  return bits === 8 || bits === 4;
}

/** The largest code magnitude: 127 for int8, 7 for int4 (symmetric: -qmax..qmax, the extra negative code unused). */
export function qmax(bits: QuantBits): number {
  return bits === 8 ? 127 : 7;
}

/** Row offsets of a dense [rows, rowLength] weight stored row-major. */
export function denseRowOffsets(rows: number, rowLength: number): Int32Array {
  const offsets = new Int32Array(rows + 1);
  for (let r = 0; r <= rows; r++) offsets[r] = r * rowLength;
  return offsets;
}

/** Round half to even, as torch.round and C's nearbyint do: symmetric around zero. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The scale of a row whose largest magnitude is `maxAbs`: a positive, finite float32. */
export function rowScale(maxAbs: number, bits: QuantBits): number {
  if (!(maxAbs > 0)) return 1;
  return Math.max(Math.fround(maxAbs / qmax(bits)), MIN_SCALE);
}

/** The code of `value` at `scale`, clamped into ±qmax (the clamp only matters for a float32-rounded scale). */
export function quantizeValue(value: number, scale: number, bits: QuantBits): number {
  const q = roundHalfEven(value / scale);
  const m = qmax(bits);
  return q > m ? m : q < -m ? -m : q;
}

function checkOffsets(offsets: ArrayLike<number>, length: number): void {
  if (offsets.length < 1 || offsets[0] !== 0 || offsets[offsets.length - 1] !== length) {
    throw new RangeError(`quantize: row offsets must run from 0 to the ${length} values, got ${offsets[0]}..${offsets[offsets.length - 1]}`);
  }
}

/** One scale per row: max|w| / qmax, or 1 for a row without a non-zero. */
export function rowScales(values: ArrayLike<number>, offsets: ArrayLike<number>, bits: QuantBits): Float32Array {
  checkOffsets(offsets, values.length);
  const rows = offsets.length - 1;
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let i = offsets[r]; i < offsets[r + 1]; i++) {
      const a = Math.abs(values[i]);
      if (a > maxAbs) maxAbs = a;
    }
    scales[r] = rowScale(maxAbs, bits);
  }
  return scales;
}

/** Integer codes (as Int8Array, for int4 too) and per-row scales of `values`. */
export function quantizeRows(values: ArrayLike<number>, offsets: ArrayLike<number>, bits: QuantBits): { codes: Int8Array; scales: Float32Array } {
  const scales = rowScales(values, offsets, bits);
  const codes = new Int8Array(values.length);
  for (let r = 0; r < scales.length; r++) {
    const s = scales[r];
    for (let i = offsets[r]; i < offsets[r + 1]; i++) codes[i] = quantizeValue(values[i], s, bits);
  }
  return { codes, scales };
}

/** Float32 values code × scale of each row, into `out` (allocated when not given). */
export function dequantizeRows(codes: ArrayLike<number>, scales: ArrayLike<number>, offsets: ArrayLike<number>, out = new Float32Array(codes.length)): Float32Array {
  checkOffsets(offsets, codes.length);
  if (scales.length !== offsets.length - 1) throw new RangeError(`dequantize: ${scales.length} scales for ${offsets.length - 1} rows`);
  for (let r = 0; r < scales.length; r++) {
    const s = scales[r];
    for (let i = offsets[r]; i < offsets[r + 1]; i++) out[i] = codes[i] * s;
  }
  return out;
}

/**
 * Quantize-then-dequantize in one pass, into `out` (may be `values` itself): the weights the forward
 * pass of quantization-aware training sees. Equal, value for value, to dequantizeRows(quantizeRows(·)).
 */
export function fakeQuantizeRows(values: Float32Array, offsets: ArrayLike<number>, bits: QuantBits, out: Float32Array = values): Float32Array {
  const scales = rowScales(values, offsets, bits);
  for (let r = 0; r < scales.length; r++) {
    const s = scales[r];
    // `+ 0` turns -0 into 0, as the integer code does.
    for (let i = offsets[r]; i < offsets[r + 1]; i++) out[i] = quantizeValue(values[i], s, bits) * s + 0;
  }
  return out;
}

/** int4 codes packed two per byte, the first in the low nibble (two's complement); an odd tail leaves the high nibble 0. */
export function packInt4(codes: ArrayLike<number>): Uint8Array {
  const packed = new Uint8Array(Math.ceil(codes.length / 2));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (!(Number.isInteger(c) && c >= -8 && c <= 7)) throw new RangeError(`packInt4: code ${c} at index ${i} is not an int4 (-8..7)`);
    packed[i >> 1] |= (c & 0xf) << ((i & 1) * 4);
  }
  return packed;
}

/** The `length` int4 codes of a packed array (inverse of packInt4). */
export function unpackInt4(packed: Uint8Array, length: number): Int8Array {
  if (packed.length !== Math.ceil(length / 2)) throw new RangeError(`unpackInt4: ${packed.length} bytes hold ${2 * packed.length} codes, expected ${length}`);
  const codes = new Int8Array(length);
  for (let i = 0; i < length; i++) {
    const nibble = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
    codes[i] = nibble >= 8 ? nibble - 16 : nibble;
  }
  return codes;
}
