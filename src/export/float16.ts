// Rounds numbers to IEEE binary16 (float16) bits, to nearest with ties to even, for the float16 values of a compact file.

/** Round half to even of a non-negative number. */
function roundHalfEvenPositive(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The float16 bits nearest to `x` (±Infinity beyond 65504 + half an ulp, NaN as a quiet NaN). */
export function numberToFloat16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 is the midpoint between 65504 and 2^16: ties to even go up
  if (a < 2 ** -14) return sign | roundHalfEvenPositive(a / 2 ** -24); // subnormal (1024 carries into the smallest normal)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEvenPositive((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}
