// Activation kernels in WebAssembly SIMD: forward, backward, and fused bias + activation.
// Specification: src/backend/reference/activation.ts.
//
// Transcendentals use Cephes-style float32 polynomials on four lanes (no FMA in Node 20's wasm).
// Errors measured against float64 on 2·10^6 points (see the kernel tests for the tolerances):
//   exp     range reduction x = n·ln2 + r (ln2 split in two), degree-5 polynomial, 2^n applied in two
//           halves so subnormal results and overflow to +∞ come out right; ≤ 1 ulp on [−87, 88.7].
//   log     frexp, mantissa in [√½, √2), degree-8 polynomial; subnormal inputs pre-scaled by 2^23; ≤ 1 ulp.
//   tanh    odd degree-11 polynomial for |x| < 0.625, else (1 − e)/(1 + e) with e = exp(−2|x|); ≤ 1.5 ulp.
//   sigmoid 1/(1 + e) or e/(1 + e) with e = exp(−|x|), so tiny results keep their precision; ≤ 2.5 ulp.
//   gelu    x·Φ(x) with Φ from erfc (Numerical Recipes' erfcc, relative error ≤ 1.1e-7); x²/2 is
//           split into an exact high part and a small low part so e^(−x²/2) stays accurate for
//           large |x|; ≤ 7 ulp (4e-7 relative). geluTanh uses x·σ(2u), whose float32 conditioning is |2u|·ulp.
// Each function is written once for four lanes; the last 1–3 elements go through the same lane code.

// Activation codes, as in the reference.
const IDENTITY = 0;
const RELU = 1;
const LEAKY_RELU = 2;
const TANH = 3;
const SIGMOID = 4;

// How a bias enters the fused row loops.
const NO_BIAS = 0;
const ROW_BIAS = 1; // one value for the whole row (feature-major)
const COLUMN_BIAS = 2; // one value per column (batch-major)

// 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer held in the low mantissa bits.
const ROUNDING_MAGIC: f32 = 12582912.0;
const ROUNDING_MAGIC_BITS: i32 = 0x4b400000;

@inline function splat(c: f32): v128 {
  return f32x4.splat(c);
}

// ---- lane math ----

/** e^x on four lanes (Cephes expf). */
@inline function expLanes(x: v128): v128 {
  // Below −104 the result rounds to 0; above 88.8 it is +∞ (2^128 overflows in the second half).
  // pmin/pmax are single instructions; with x first they pass NaN through.
  const xc = f32x4.pmax(f32x4.pmin(x, splat(88.8)), splat(-104.0));
  // n = round(x·log2 e) by the 1.5·2^23 trick: the sum's low mantissa bits hold n in two's complement.
  const shifted = f32x4.add(f32x4.mul(xc, splat(1.44269504088896341)), splat(ROUNDING_MAGIC));
  const nf = f32x4.sub(shifted, splat(ROUNDING_MAGIC));
  // ln 2 = 0.693359375 − 2.12194440e-4: the first part has 9 bits, so n·C1 is exact.
  let r = f32x4.sub(xc, f32x4.mul(nf, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(nf, splat(-2.12194440e-4)));
  const r2 = f32x4.mul(r, r);
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), splat(1.0));
  // 2^n = 2^(n>>1) · 2^(n − n>>1): both halves are normal floats for n ∈ [−150, 128].
  const n = i32x4.sub(shifted, i32x4.splat(ROUNDING_MAGIC_BITS));
  const half = i32x4.shr_s(n, 1);
  const scale1 = i32x4.shl(i32x4.add(half, i32x4.splat(127)), 23);
  const scale2 = i32x4.shl(i32x4.add(i32x4.sub(n, half), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, scale1), scale2);
}

/** ln x on four lanes (Cephes logf); −∞ at ±0, NaN below 0 and for NaN, +∞ at +∞. */
@inline function logLanes(x: v128): v128 {
  // Subnormals: scale by 2^23 into the normal range and correct the exponent.
  const subnormal = f32x4.lt(x, splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, splat(8388608.0)), x, subnormal);
  let e = i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(subnormal, i32x4.splat(23)));
  // frexp: mantissa m ∈ [0.5, 1); then fold to [√½, √2) around 1.
  const m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, splat(0.707106781186547524));
  e = i32x4.add(e, small); // true lanes are −1
  const ef = f32x4.convert_i32x4_s(e);
  const t = f32x4.sub(f32x4.add(m, v128.and(m, small)), splat(1.0));
  const z = f32x4.mul(t, t);
  let p = splat(7.0376836292e-2);
  p = f32x4.add(f32x4.mul(p, t), splat(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, t), splat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, t), z);
  y = f32x4.add(y, f32x4.mul(ef, splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, splat(0.5)));
  let result = f32x4.add(f32x4.add(t, y), f32x4.mul(ef, splat(0.693359375)));
  result = v128.bitselect(splat(-Infinity), result, f32x4.eq(x, splat(0.0)));
  result = v128.bitselect(x, result, f32x4.eq(x, splat(Infinity)));
  return v128.bitselect(result, splat(NaN), f32x4.ge(x, splat(0.0)));
}

/** tanh x on four lanes. */
@inline function tanhLanes(x: v128): v128 {
  const z = f32x4.mul(x, x);
  let p = splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), splat(-3.33332819422e-1));
  const nearZero = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const ax = f32x4.abs(x);
  const e = expLanes(f32x4.mul(ax, splat(-2.0)));
  const far = f32x4.div(f32x4.sub(splat(1.0), e), f32x4.add(splat(1.0), e));
  const signed = v128.or(far, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(nearZero, signed, f32x4.lt(ax, splat(0.625)));
}

/** σ(x) = 1/(1 + e^(−x)) on four lanes. */
@inline function sigmoidLanes(x: v128): v128 {
  const e = expLanes(f32x4.neg(f32x4.abs(x)));
  // x ≥ 0: 1/(1 + e); x < 0 (and NaN): e/(1 + e).
  const numerator = v128.bitselect(splat(1.0), e, f32x4.ge(x, splat(0.0)));
  return f32x4.div(numerator, f32x4.add(splat(1.0), e));
}

/** The parts of exact GELU shared by forward and backward: Φ(x) and e^(−x²/2). */
@inline function normalCdfLanes(x: v128, wantDensity: bool): v128 {
  const xc = f32x4.pmax(f32x4.pmin(x, splat(20.0)), splat(-20.0)); // Φ is 0 or 1 in float32 beyond
  // x²/2 = xh²/2 + (x − xh)(x + xh)/2 with xh = x rounded to 12 bits, so xh² is exact.
  const xh = v128.and(xc, i32x4.splat(0xfffff000));
  const high = f32x4.mul(f32x4.mul(xh, xh), splat(0.5));
  const low = f32x4.mul(f32x4.mul(f32x4.sub(xc, xh), f32x4.add(xc, xh)), splat(0.5));
  const z = f32x4.mul(f32x4.abs(xc), splat(0.707106781186547524));
  const t = f32x4.div(splat(1.0), f32x4.add(splat(1.0), f32x4.mul(z, splat(0.5))));
  // erfc(z) = t·exp(−z² + P(t)) (Numerical Recipes erfcc).
  let p = splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), splat(1.00002368));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.26551223));
  const expHigh = expLanes(f32x4.neg(high));
  if (wantDensity) {
    // φ(x) = e^(−x²/2)/√(2π)
    return f32x4.mul(f32x4.mul(expHigh, expLanes(f32x4.neg(low))), splat(0.398942280401432678));
  }
  const halfErfc = f32x4.mul(f32x4.mul(t, expHigh), f32x4.mul(expLanes(f32x4.sub(p, low)), splat(0.5)));
  return v128.bitselect(f32x4.sub(splat(1.0), halfErfc), halfErfc, f32x4.ge(x, splat(0.0)));
}

/** 2u = 2·√(2/π)·(x + 0.044715·x³), the sigmoid argument of GELU's tanh form. */
@inline function geluTanhArgument(x: v128): v128 {
  const cubic = f32x4.mul(f32x4.mul(f32x4.mul(x, x), x), splat(0.044715));
  return f32x4.mul(f32x4.add(x, cubic), splat(1.5957691216057308));
}

/** act(x) for a fused activation code (a constant at every call site). */
@inline function activateLanes(act: i32, slope: v128, x: v128): v128 {
  if (act == RELU) return f32x4.pmax(x, splat(0.0)); // NaN passes through; −0 may stay −0
  if (act == LEAKY_RELU) return v128.bitselect(x, f32x4.mul(x, slope), f32x4.gt(x, splat(0.0)));
  if (act == TANH) return tanhLanes(x);
  if (act == SIGMOID) return sigmoidLanes(x);
  return x;
}

/** dout·act'(pre) written with the output y = act(pre). */
@inline function backwardFromOutputLanes(act: i32, slope: v128, y: v128, dout: v128): v128 {
  if (act == RELU) return v128.and(dout, f32x4.gt(y, splat(0.0)));
  if (act == LEAKY_RELU) return v128.bitselect(dout, f32x4.mul(dout, slope), f32x4.gt(y, splat(0.0)));
  // 1 − y² as (1 − y)(1 + y): no cancellation where y ≈ ±1.
  if (act == TANH) return f32x4.mul(dout, f32x4.mul(f32x4.sub(splat(1.0), y), f32x4.add(splat(1.0), y)));
  if (act == SIGMOID) return f32x4.mul(dout, f32x4.mul(y, f32x4.sub(splat(1.0), y)));
  return dout;
}

// ---- partial vectors for the last 1–3 elements ----

@inline function loadTail(p: usize, count: i32): v128 {
  let v = f32x4.splat(load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

@inline function storeTail(p: usize, v: v128, count: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

@inline function horizontalSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// ---- row loops (act and biasMode are constants at every call site) ----

/** out[k] = act(x[k] + bias) for k < n; bias per biasMode (none, one value, or bias[k]). */
@inline function activateRow(act: i32, biasMode: i32, n: i32, slope: f32, x: usize, bias: usize, out: usize): void {
  const vs = splat(slope);
  const rowBias = biasMode == ROW_BIAS ? v128.load32_splat(bias) : splat(0.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let v = v128.load(x + o);
    if (biasMode == ROW_BIAS) v = f32x4.add(v, rowBias);
    if (biasMode == COLUMN_BIAS) v = f32x4.add(v, v128.load(bias + o));
    v128.store(out + o, activateLanes(act, vs, v));
  }
  if (i < n) {
    const o = <usize>i << 2;
    let v = loadTail(x + o, n - i);
    if (biasMode == ROW_BIAS) v = f32x4.add(v, rowBias);
    if (biasMode == COLUMN_BIAS) v = f32x4.add(v, loadTail(bias + o, n - i));
    storeTail(out + o, activateLanes(act, vs, v), n - i);
  }
}

/** dx[k] = dout[k]·act'(from y[k]); returns Σ_k dx[k] when sum is set. */
@inline function backwardRow(act: i32, sum: bool, n: i32, slope: f32, y: usize, dout: usize, dx: usize): f32 {
  const vs = splat(slope);
  let acc = splat(0.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = backwardFromOutputLanes(act, vs, v128.load(y + o), v128.load(dout + o));
    v128.store(dx + o, g);
    if (sum) acc = f32x4.add(acc, g);
  }
  let total = sum ? horizontalSum(acc) : <f32>0;
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = f32x4.extract_lane(backwardFromOutputLanes(act, vs, f32x4.splat(load<f32>(y + o)), f32x4.splat(load<f32>(dout + o))), 0);
    store<f32>(dx + o, g);
    if (sum) total += g;
  }
  return total;
}

/** dbias[k] += dx[k] = dout[k]·act'(from y[k]) for k < n. */
@inline function backwardRowAccumulate(act: i32, n: i32, slope: f32, y: usize, dout: usize, dx: usize, dbias: usize): void {
  const vs = splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = backwardFromOutputLanes(act, vs, v128.load(y + o), v128.load(dout + o));
    v128.store(dx + o, g);
    v128.store(dbias + o, f32x4.add(v128.load(dbias + o), g));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = f32x4.extract_lane(backwardFromOutputLanes(act, vs, f32x4.splat(load<f32>(y + o)), f32x4.splat(load<f32>(dout + o))), 0);
    store<f32>(dx + o, g);
    store<f32>(dbias + o, load<f32>(dbias + o) + g);
  }
}

// ---- elementwise activations ----

export function relu(n: i32, x: usize, out: usize): void {
  activateRow(RELU, NO_BIAS, n, 0, x, 0, out);
}

export function reluBackward(n: i32, x: usize, dy: usize, dx: usize): void {
  backwardRow(RELU, false, n, 0, x, dy, dx);
}

export function leakyRelu(n: i32, slope: f32, x: usize, out: usize): void {
  activateRow(LEAKY_RELU, NO_BIAS, n, slope, x, 0, out);
}

export function leakyReluBackward(n: i32, slope: f32, x: usize, dy: usize, dx: usize): void {
  backwardRow(LEAKY_RELU, false, n, slope, x, dy, dx);
}

export function tanh(n: i32, x: usize, out: usize): void {
  activateRow(TANH, NO_BIAS, n, 0, x, 0, out);
}

export function tanhBackward(n: i32, y: usize, dy: usize, dx: usize): void {
  backwardRow(TANH, false, n, 0, y, dy, dx);
}

export function sigmoid(n: i32, x: usize, out: usize): void {
  activateRow(SIGMOID, NO_BIAS, n, 0, x, 0, out);
}

export function sigmoidBackward(n: i32, y: usize, dy: usize, dx: usize): void {
  backwardRow(SIGMOID, false, n, 0, y, dy, dx);
}

// Unary and binary lane maps for the functions outside the fused set.
const EXP = 10;
const LOG = 11;
const GELU = 12;
const GELU_TANH = 13;

@inline function unaryLanes(f: i32, x: v128): v128 {
  if (f == EXP) return expLanes(x);
  if (f == LOG) return logLanes(x);
  if (f == GELU) return f32x4.mul(x, normalCdfLanes(x, false));
  return f32x4.mul(x, sigmoidLanes(geluTanhArgument(x)));
}

/** dy · f'(x) for the GELU forms. */
@inline function derivativeLanes(f: i32, x: v128, dy: v128): v128 {
  if (f == GELU) {
    const slope = f32x4.add(normalCdfLanes(x, false), f32x4.mul(x, normalCdfLanes(x, true)));
    return f32x4.mul(dy, slope);
  }
  const s = sigmoidLanes(geluTanhArgument(x));
  const du = f32x4.mul(f32x4.add(splat(1.0), f32x4.mul(f32x4.mul(x, x), splat(3.0 * 0.044715))), splat(1.5957691216057308));
  const slope = f32x4.add(s, f32x4.mul(f32x4.mul(x, f32x4.mul(s, f32x4.sub(splat(1.0), s))), du));
  return f32x4.mul(dy, slope);
}

@inline function unaryMap(f: i32, n: i32, x: usize, out: usize): void {
  let i = 0;
  // Two independent vectors per iteration: the polynomial chains are latency-bound.
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    const a = unaryLanes(f, v128.load(x + o));
    const b = unaryLanes(f, v128.load(x + o, 16));
    v128.store(out + o, a);
    v128.store(out + o, b, 16);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unaryLanes(f, v128.load(x + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(out + o, unaryLanes(f, loadTail(x + o, n - i)), n - i);
  }
}

@inline function derivativeMap(f: i32, n: i32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, derivativeLanes(f, v128.load(x + o), v128.load(dy + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(dx + o, derivativeLanes(f, loadTail(x + o, n - i), loadTail(dy + o, n - i)), n - i);
  }
}

export function exp(n: i32, x: usize, out: usize): void {
  unaryMap(EXP, n, x, out);
}

export function log(n: i32, x: usize, out: usize): void {
  unaryMap(LOG, n, x, out);
}

export function gelu(n: i32, x: usize, out: usize): void {
  unaryMap(GELU, n, x, out);
}

export function geluBackward(n: i32, x: usize, dy: usize, dx: usize): void {
  derivativeMap(GELU, n, x, dy, dx);
}

export function geluTanh(n: i32, x: usize, out: usize): void {
  unaryMap(GELU_TANH, n, x, out);
}

export function geluTanhBackward(n: i32, x: usize, dy: usize, dx: usize): void {
  derivativeMap(GELU_TANH, n, x, dy, dx);
}

// ---- fused bias + activation ----

@inline function rowsForward(act: i32, m: i32, b: i32, slope: f32, x: usize, bias: usize, out: usize): void {
  for (let i = 0; i < m; i++) {
    const offset = <usize>i * <usize>b << 2;
    activateRow(act, ROW_BIAS, b, slope, x + offset, bias + (<usize>i << 2), out + offset);
  }
}

export function biasActivationRows(m: i32, b: i32, act: i32, slope: f32, x: usize, bias: usize, out: usize): void {
  if (act == RELU) rowsForward(RELU, m, b, slope, x, bias, out);
  else if (act == LEAKY_RELU) rowsForward(LEAKY_RELU, m, b, slope, x, bias, out);
  else if (act == TANH) rowsForward(TANH, m, b, slope, x, bias, out);
  else if (act == SIGMOID) rowsForward(SIGMOID, m, b, slope, x, bias, out);
  else rowsForward(IDENTITY, m, b, slope, x, bias, out);
}

@inline function colsForward(act: i32, m: i32, n: i32, slope: f32, x: usize, bias: usize, out: usize): void {
  for (let i = 0; i < m; i++) {
    const offset = <usize>i * <usize>n << 2;
    activateRow(act, COLUMN_BIAS, n, slope, x + offset, bias, out + offset);
  }
}

export function biasActivationCols(m: i32, n: i32, act: i32, slope: f32, x: usize, bias: usize, out: usize): void {
  if (act == RELU) colsForward(RELU, m, n, slope, x, bias, out);
  else if (act == LEAKY_RELU) colsForward(LEAKY_RELU, m, n, slope, x, bias, out);
  else if (act == TANH) colsForward(TANH, m, n, slope, x, bias, out);
  else if (act == SIGMOID) colsForward(SIGMOID, m, n, slope, x, bias, out);
  else colsForward(IDENTITY, m, n, slope, x, bias, out);
}

@inline function rowsBackward(act: i32, m: i32, b: i32, slope: f32, out: usize, dout: usize, dx: usize, dbias: usize): void {
  for (let i = 0; i < m; i++) {
    const offset = <usize>i * <usize>b << 2;
    if (dbias == 0) {
      backwardRow(act, false, b, slope, out + offset, dout + offset, dx + offset);
    } else {
      store<f32>(dbias + (<usize>i << 2), backwardRow(act, true, b, slope, out + offset, dout + offset, dx + offset));
    }
  }
}

export function biasActivationRowsBackward(
  m: i32, b: i32, act: i32, slope: f32, out: usize, dout: usize, dx: usize, dbias: usize,
): void {
  if (act == RELU) rowsBackward(RELU, m, b, slope, out, dout, dx, dbias);
  else if (act == LEAKY_RELU) rowsBackward(LEAKY_RELU, m, b, slope, out, dout, dx, dbias);
  else if (act == TANH) rowsBackward(TANH, m, b, slope, out, dout, dx, dbias);
  else if (act == SIGMOID) rowsBackward(SIGMOID, m, b, slope, out, dout, dx, dbias);
  else rowsBackward(IDENTITY, m, b, slope, out, dout, dx, dbias);
}

@inline function colsBackward(act: i32, m: i32, n: i32, slope: f32, out: usize, dout: usize, dx: usize, dbias: usize): void {
  if (dbias != 0) memory.fill(dbias, 0, <usize>n << 2);
  for (let i = 0; i < m; i++) {
    const offset = <usize>i * <usize>n << 2;
    if (dbias == 0) backwardRow(act, false, n, slope, out + offset, dout + offset, dx + offset);
    else backwardRowAccumulate(act, n, slope, out + offset, dout + offset, dx + offset, dbias);
  }
}

export function biasActivationColsBackward(
  m: i32, n: i32, act: i32, slope: f32, out: usize, dout: usize, dx: usize, dbias: usize,
): void {
  if (act == RELU) colsBackward(RELU, m, n, slope, out, dout, dx, dbias);
  else if (act == LEAKY_RELU) colsBackward(LEAKY_RELU, m, n, slope, out, dout, dx, dbias);
  else if (act == TANH) colsBackward(TANH, m, n, slope, out, dout, dx, dbias);
  else if (act == SIGMOID) colsBackward(SIGMOID, m, n, slope, out, dout, dx, dbias);
  else colsBackward(IDENTITY, m, n, slope, out, dout, dx, dbias);
}
