// Seeded random numbers: xoshiro128** generators with independent streams derived from (seed, name).
//
// Streams are tied to a name and purpose (e.g. "layers.0.weight/init") as in RigL's TF2 code, so
// adding a layer or a method does not shift the random numbers any other part sees. The 128-bit
// state of a stream is a 128-bit hash of (seed, name), so distinct pairs give unrelated streams
// (a 32-bit derivation made `Rng(0, "alpha/x")` and `Rng(3, "blpha/x")` the same stream).

/** Domain tags: a stream made from a seed and one forked from a parent never share hash inputs. */
const SEEDED_STREAM = 0x52534431; // "RSD1"
const FORKED_STREAM = 0x52464b31; // "RFK1"

/**
 * A 128-bit hash over 32-bit words in 32-bit arithmetic: the HalfSipHash-2-4 construction (ARX
 * rounds on four 32-bit words, fixed key), extended to four output words. Its state is 128 bits,
 * so a million streams do not collide (a state drawn from one 32-bit word repeats ~116 times).
 */
class StreamHash {
  private v0 = 0x736f6d65;
  private v1 = 0x646f7261;
  private v2 = 0x6c796765;
  private v3 = 0x74656462;
  private words = 0;

  /** Absorbs one 32-bit word. */
  word(m: number): void {
    this.v3 ^= m;
    this.round();
    this.round();
    this.v0 ^= m;
    this.words++;
  }

  /** Absorbs `text` as its length in UTF-16 code units, then the units two per word (so texts never run together). */
  text(text: string): void {
    const n = text.length;
    this.word(n);
    for (let i = 0; i + 1 < n; i += 2) this.word(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
    if (n % 2 === 1) this.word(text.charCodeAt(n - 1));
  }

  /** Finalizes into four words (the word count is absorbed last, as SipHash appends the length). */
  digest(out: number[]): void {
    this.word(this.words);
    this.v2 ^= 0xee;
    for (let k = 0; k < 4; k++) {
      if (k > 0) this.v1 ^= 0xdd - k;
      this.round();
      this.round();
      this.round();
      this.round();
      out[k] = this.v1 ^ this.v3;
    }
  }

  private round(): void {
    let v0 = this.v0, v1 = this.v1, v2 = this.v2, v3 = this.v3;
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5) ^ v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13) ^ v2; v2 = rotl(v2, 16);
    this.v0 = v0; this.v1 = v1; this.v2 = v2; this.v3 = v3;
  }
}

/** Serializable generator state: four 32-bit words plus a cached normal deviate (or null). */
export interface RngState {
  s: [number, number, number, number];
  spareNormal: number | null;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /**
   * A generator for `seed` (any safe integer, negative too), optionally on the stream named `stream`.
   * The hash input is the tag, |seed| as two 32-bit words (low, then high with the sign in bit 31),
   * then the name (length-prefixed UTF-16 code units): distinct (seed, name) pairs, distinct inputs.
   */
  constructor(seed: number, stream = "") {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`Rng: seed must be a safe integer, got ${seed}`);
    const magnitude = Math.abs(seed);
    const hash = new StreamHash();
    hash.word(SEEDED_STREAM);
    hash.word(magnitude % 2 ** 32);
    hash.word(Math.floor(magnitude / 2 ** 32) | (seed < 0 ? 0x80000000 : 0));
    hash.text(stream);
    this.s0 = this.s1 = this.s2 = this.s3 = 0;
    this.seedFrom(hash);
  }

  /** An independent generator for a named purpose, derived from 128 bits of this one's state (it advances by four outputs). */
  fork(stream: string): Rng {
    const hash = new StreamHash();
    hash.word(FORKED_STREAM);
    for (let k = 0; k < 4; k++) hash.word(this.nextUint32());
    hash.text(stream);
    const child = new Rng(0);
    child.seedFrom(hash);
    return child;
  }

  private seedFrom(hash: StreamHash): void {
    const words = [0, 0, 0, 0];
    hash.digest(words);
    [this.s0, this.s1, this.s2, this.s3] = words;
    // xoshiro's one forbidden state; a hash hits it with probability 2^-128.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /**
   * Fills `out[from..to)` with `low + span * uniform()` in order: the same values as calling
   * `uniform()` once per entry, with the state kept in locals (several times faster on long runs).
   */
  fillUniform(out: Float32Array, low: number, span: number, from = 0, to = out.length): void {
    let s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    for (let i = from; i < to; i++) {
      const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      out[i] = low + span * ((result >>> 8) / 16777216);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the incomplete last block). */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 32)) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = Math.floor(2 ** 32 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [0, n) for n up to 2^53 (53 random bits, unbiased by rejection); `int` for n <= 2^32. */
  bigInt(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 53)) {
      throw new RangeError(`Rng.bigInt: n must be an integer in [1, 2^53], got ${n}`);
    }
    const limit = Math.floor(2 ** 53 / n) * n;
    for (;;) {
      const x = (this.nextUint32() >>> 11) * 2 ** 32 + this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal deviate (Marsaglia polar method; the spare is cached and part of the state). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const m = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * m;
        return u * m;
      }
    }
  }

  /** Shuffles `items` in place (Fisher–Yates). */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A copy of the state, for checkpoints. */
  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal };
  }

  /** Restores a state from `getState`. */
  setState(state: RngState): void {
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((v) => v | 0) as [number, number, number, number];
    this.spareNormal = state.spareNormal;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
