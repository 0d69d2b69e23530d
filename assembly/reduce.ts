// Reductions, softmax, fused losses and layout kernels (transpose, strided copy) with WASM SIMD.
// Specification: src/backend/reference/reduce.ts. Pointers are byte offsets; labels/argmax are i32.

const NEG_INF: f32 = -Infinity;
// Below this exp underflows past the smallest normal float; such terms are 0 in a softmax sum.
const EXP_LOWEST: f32 = -87.33654;
// NOTE: the exp helper is only used on shifted logits (≤ 0); the cap keeps 2^n finite above them.
const EXP_HIGHEST: f32 = 88.0;

// Adding 1.5·2^23 rounds a float of magnitude < 2^22 to an integer held in the low mantissa bits.
const ROUNDING_MAGIC: f32 = 12582912.0;

// exp(x) on 4 lanes, Cephes expf: x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-6
// polynomial, 2^n built in the exponent bits. About 2 ulp; NaN propagates; 0 below EXP_LOWEST.
// pmin/pmax and the rounding trick keep it to single x86 instructions (min/max/floor/trunc_sat
// with full NaN semantics expand to several). A private copy: kernel modules cannot call each other.
// @ts-ignore: decorator
@inline function expLanes(x: v128): v128 {
  // pmax(x, lo) = x < lo ? lo : x, so a NaN x passes through both clamps.
  const clamped = f32x4.pmin(f32x4.pmax(x, f32x4.splat(EXP_LOWEST)), f32x4.splat(EXP_HIGHEST));
  const shifted = f32x4.add(f32x4.mul(clamped, f32x4.splat(1.44269504088896341)), f32x4.splat(ROUNDING_MAGIC));
  const n = f32x4.sub(shifted, f32x4.splat(ROUNDING_MAGIC)); // round(x / ln 2)
  // ln 2 split in two so that n·ln2_hi is exact.
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // The low bits of `shifted` hold n (two's complement); (n + 127) << 23 is the float 2^n.
  const pow2n = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, pow2n), f32x4.lt(x, f32x4.splat(EXP_LOWEST)));
}

// @ts-ignore: decorator
@inline function expScalar(x: f32): f32 {
  return f32x4.extract_lane(expLanes(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline function laneSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Sum of n contiguous floats, 16 lanes at a time. */
function sumContiguous(n: i32, x: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
  }
  for (; i + 4 <= n; i += 4) a0 = f32x4.add(a0, v128.load(x + (<usize>i << 2)));
  let s = laneSum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; i < n; i++) s += load<f32>(x + (<usize>i << 2));
  return s;
}

/** Maximum of n contiguous floats; NaN if any is NaN; -Infinity if n = 0. */
function maxContiguous(n: i32, x: usize): f32 {
  // pmax is one x86 instruction but drops NaNs, so NaNs are tracked in a separate mask.
  let a0 = f32x4.splat(NEG_INF), a1 = f32x4.splat(NEG_INF);
  let nan = v128.splat<i32>(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    const v0 = v128.load(p), v1 = v128.load(p, 16);
    a0 = f32x4.pmax(a0, v0);
    a1 = f32x4.pmax(a1, v1);
    nan = v128.or(nan, v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)));
  }
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    a0 = f32x4.pmax(a0, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  if (v128.any_true(nan)) return NaN;
  const a = f32x4.pmax(a0, a1);
  // Mathf.max (f32.max) propagates NaN, so the scalar tail needs no mask.
  let m = Mathf.max(Mathf.max(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1)), Mathf.max(f32x4.extract_lane(a, 2), f32x4.extract_lane(a, 3)));
  for (; i < n; i++) m = Mathf.max(m, load<f32>(x + (<usize>i << 2)));
  return m;
}

export function reduceSum(outer: i32, len: i32, inner: i32, x: usize, out: usize): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<f32>(out + (<usize>o << 2), sumContiguous(len, x + (<usize>o * <usize>len << 2)));
    return;
  }
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const dst = out + <usize>o * rowBytes;
    const src = x + <usize>o * <usize>len * rowBytes;
    if (len == 0) {
      memory.fill(dst, 0, rowBytes);
      continue;
    }
    memory.copy(dst, src, rowBytes);
    for (let l = 1; l < len; l++) {
      const row = src + <usize>l * rowBytes;
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const off = <usize>i << 2;
        v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(row + off)));
      }
      for (; i < inner; i++) {
        const off = <usize>i << 2;
        store<f32>(dst + off, load<f32>(dst + off) + load<f32>(row + off));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function beats(value: f32, index: i32, best: f32, bestIndex: i32): bool {
  if (best != best) return value != value && index < bestIndex;
  return value != value || value > best || (value == best && index < bestIndex);
}

/** Lanes where `v` replaces `best` as the running maximum: larger, or NaN over a number. */
// @ts-ignore: decorator
@inline function takeMask(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), v128.and(f32x4.ne(v, v), f32x4.eq(best, best)));
}

export function reduceMax(outer: i32, len: i32, inner: i32, x: usize, out: usize, argmax: usize): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) {
      const row = x + (<usize>o * <usize>len << 2);
      // Lane k tracks the first maximum among elements l ≡ k (mod 4); the lanes are merged after.
      let best = f32x4.splat(NEG_INF);
      let bestIndex = i32x4(0, 1, 2, 3);
      let index = i32x4(0, 1, 2, 3);
      const four = i32x4.splat(4);
      let l = 0;
      if (len >= 4) {
        best = v128.load(row);
        index = i32x4.add(index, four);
        for (l = 4; l + 4 <= len; l += 4) {
          const v = v128.load(row + (<usize>l << 2));
          const take = takeMask(v, best);
          best = v128.bitselect(v, best, take);
          bestIndex = v128.bitselect(index, bestIndex, take);
          index = i32x4.add(index, four);
        }
      }
      let m: f32 = load<f32>(row);
      let mi = 0;
      if (len >= 4) {
        m = f32x4.extract_lane(best, 0);
        mi = i32x4.extract_lane(bestIndex, 0);
        let v = f32x4.extract_lane(best, 1), vi = i32x4.extract_lane(bestIndex, 1);
        if (beats(v, vi, m, mi)) { m = v; mi = vi; }
        v = f32x4.extract_lane(best, 2); vi = i32x4.extract_lane(bestIndex, 2);
        if (beats(v, vi, m, mi)) { m = v; mi = vi; }
        v = f32x4.extract_lane(best, 3); vi = i32x4.extract_lane(bestIndex, 3);
        if (beats(v, vi, m, mi)) { m = v; mi = vi; }
      } else {
        l = 1;
      }
      for (; l < len; l++) {
        const v = load<f32>(row + (<usize>l << 2));
        if (beats(v, l, m, mi)) { m = v; mi = l; }
      }
      store<f32>(out + (<usize>o << 2), m);
      store<i32>(argmax + (<usize>o << 2), mi);
    }
    return;
  }
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const dst = out + <usize>o * rowBytes;
    const idx = argmax + <usize>o * rowBytes;
    const src = x + <usize>o * <usize>len * rowBytes;
    memory.copy(dst, src, rowBytes);
    memory.fill(idx, 0, rowBytes);
    for (let l = 1; l < len; l++) {
      const row = src + <usize>l * rowBytes;
      const vl = i32x4.splat(l);
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const off = <usize>i << 2;
        const v = v128.load(row + off), best = v128.load(dst + off);
        const take = takeMask(v, best);
        v128.store(dst + off, v128.bitselect(v, best, take));
        v128.store(idx + off, v128.bitselect(vl, v128.load(idx + off), take));
      }
      for (; i < inner; i++) {
        const off = <usize>i << 2;
        const v = load<f32>(row + off), best = load<f32>(dst + off);
        if ((best == best) && (v != v || v > best)) {
          store<f32>(dst + off, v);
          store<i32>(idx + off, l);
        }
      }
    }
  }
}

export function broadcastAlong(outer: i32, len: i32, inner: i32, x: usize, out: usize): void {
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const src = x + <usize>o * rowBytes;
    const dst = out + <usize>o * <usize>len * rowBytes;
    if (inner == 1) {
      const value = load<f32>(src);
      const v = f32x4.splat(value);
      let l = 0;
      for (; l + 4 <= len; l += 4) v128.store(dst + (<usize>l << 2), v);
      for (; l < len; l++) store<f32>(dst + (<usize>l << 2), value);
    } else {
      for (let l = 0; l < len; l++) memory.copy(dst + <usize>l * rowBytes, src, rowBytes);
    }
  }
}

export function reduceMaxBackward(outer: i32, len: i32, inner: i32, gradOut: usize, argmax: usize, gradIn: usize): void {
  memory.fill(gradIn, 0, <usize>outer * <usize>len * <usize>inner << 2);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = <usize>o * <usize>inner + <usize>i;
      const l = <usize>load<i32>(argmax + (at << 2));
      store<f32>(gradIn + ((<usize>o * <usize>len + l) * <usize>inner + <usize>i << 2), load<f32>(gradOut + (at << 2)));
    }
  }
}

/** out = exp(x − m) over a row; returns the sum of out. */
function expShiftedRow(cols: i32, x: usize, m: f32, out: usize): f32 {
  const vm = f32x4.splat(m);
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  let j = 0;
  // Two independent polynomial chains per iteration keep both SIMD pipes busy.
  for (; j + 8 <= cols; j += 8) {
    const off = <usize>j << 2;
    const e0 = expLanes(f32x4.sub(v128.load(x + off), vm));
    const e1 = expLanes(f32x4.sub(v128.load(x + off, 16), vm));
    v128.store(out + off, e0);
    v128.store(out + off, e1, 16);
    acc0 = f32x4.add(acc0, e0);
    acc1 = f32x4.add(acc1, e1);
  }
  for (; j + 4 <= cols; j += 4) {
    const off = <usize>j << 2;
    const e = expLanes(f32x4.sub(v128.load(x + off), vm));
    v128.store(out + off, e);
    acc0 = f32x4.add(acc0, e);
  }
  let s = laneSum(f32x4.add(acc0, acc1));
  for (; j < cols; j++) {
    const off = <usize>j << 2;
    const e = expScalar(load<f32>(x + off) - m);
    store<f32>(out + off, e);
    s += e;
  }
  return s;
}

/** x *= alpha over n floats. */
function scaleRow(n: i32, alpha: f32, x: usize): void {
  const va = f32x4.splat(alpha);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const off = <usize>j << 2;
    v128.store(x + off, f32x4.mul(v128.load(x + off), va));
  }
  for (; j < n; j++) {
    const off = <usize>j << 2;
    store<f32>(x + off, load<f32>(x + off) * alpha);
  }
}

export function softmaxRows(rows: i32, cols: i32, x: usize, out: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * rowBytes, dst = out + <usize>r * rowBytes;
    const s = expShiftedRow(cols, src, maxContiguous(cols, src), dst);
    scaleRow(cols, 1 / s, dst);
  }
}

export function softmaxRowsBackward(rows: i32, cols: i32, y: usize, dy: usize, dx: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const py = y + <usize>r * rowBytes, pg = dy + <usize>r * rowBytes, pd = dx + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(pg + off), v128.load(py + off)));
    }
    let dot = laneSum(acc);
    for (; j < cols; j++) dot += load<f32>(pg + (<usize>j << 2)) * load<f32>(py + (<usize>j << 2));
    const vdot = f32x4.splat(dot);
    for (j = 0; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(pd + off, f32x4.mul(v128.load(py + off), f32x4.sub(v128.load(pg + off), vdot)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(pd + off, load<f32>(py + off) * (load<f32>(pg + off) - dot));
    }
  }
}

/** Σ_j exp(x_j − m) over a row without storing the terms. */
function sumExpShifted(cols: i32, x: usize, m: f32): f32 {
  const vm = f32x4.splat(m);
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= cols; j += 8) {
    const p = x + (<usize>j << 2);
    acc0 = f32x4.add(acc0, expLanes(f32x4.sub(v128.load(p), vm)));
    acc1 = f32x4.add(acc1, expLanes(f32x4.sub(v128.load(p, 16), vm)));
  }
  for (; j + 4 <= cols; j += 4) acc0 = f32x4.add(acc0, expLanes(f32x4.sub(v128.load(x + (<usize>j << 2)), vm)));
  let s = laneSum(f32x4.add(acc0, acc1));
  for (; j < cols; j++) s += expScalar(load<f32>(x + (<usize>j << 2)) - m);
  return s;
}

export function logSoftmaxRows(rows: i32, cols: i32, x: usize, out: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * rowBytes, dst = out + <usize>r * rowBytes;
    const m = maxContiguous(cols, src);
    const logS = Mathf.log(sumExpShifted(cols, src, m));
    const vm = f32x4.splat(m), vl = f32x4.splat(logS);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(dst + off, f32x4.sub(f32x4.sub(v128.load(src + off), vm), vl));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(dst + off, load<f32>(src + off) - m - logS);
    }
  }
}

export function logSoftmaxRowsBackward(rows: i32, cols: i32, y: usize, dy: usize, dx: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const py = y + <usize>r * rowBytes, pg = dy + <usize>r * rowBytes, pd = dx + <usize>r * rowBytes;
    const s = sumContiguous(cols, pg);
    const vs = f32x4.splat(s);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(pd + off, f32x4.sub(v128.load(pg + off), f32x4.mul(expLanes(v128.load(py + off)), vs)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(pd + off, load<f32>(pg + off) - expScalar(load<f32>(py + off)) * s);
    }
  }
}

export function crossEntropyForward(
  rows: i32, classes: i32, logits: usize, labels: usize, smoothing: f32, probs: usize, losses: usize,
): void {
  const rowBytes = <usize>classes << 2;
  for (let r = 0; r < rows; r++) {
    const src = logits + <usize>r * rowBytes, dst = probs + <usize>r * rowBytes;
    const m = maxContiguous(classes, src);
    const s = expShiftedRow(classes, src, m, dst);
    scaleRow(classes, 1 / s, dst);
    const label = load<i32>(labels + (<usize>r << 2));
    // loss = log S − (1 − ε)·(x_y − m) − (ε/C)·Σ_c (x_c − m); see the reference for the derivation.
    let loss = Mathf.log(s) - (1 - smoothing) * (load<f32>(src + (<usize>label << 2)) - m);
    if (smoothing != 0) {
      const shiftedSum = sumContiguous(classes, src) - <f32>classes * m;
      loss -= (smoothing / <f32>classes) * shiftedSum;
    }
    store<f32>(losses + (<usize>r << 2), loss);
  }
}

export function crossEntropyBackward(
  rows: i32, classes: i32, probs: usize, labels: usize, smoothing: f32, scale: f32, dlogits: usize,
): void {
  const rowBytes = <usize>classes << 2;
  const uniform = smoothing / <f32>classes;
  const vu = f32x4.splat(uniform), vs = f32x4.splat(scale);
  for (let r = 0; r < rows; r++) {
    const src = probs + <usize>r * rowBytes, dst = dlogits + <usize>r * rowBytes;
    let c = 0;
    for (; c + 4 <= classes; c += 4) {
      const off = <usize>c << 2;
      v128.store(dst + off, f32x4.mul(vs, f32x4.sub(v128.load(src + off), vu)));
    }
    for (; c < classes; c++) {
      const off = <usize>c << 2;
      store<f32>(dst + off, scale * (load<f32>(src + off) - uniform));
    }
    const off = <usize>load<i32>(labels + (<usize>r << 2)) << 2;
    store<f32>(dst + off, scale * (load<f32>(src + off) - uniform - (1 - smoothing)));
  }
}

export function squaredError(n: i32, a: usize, b: usize, out: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const d = f32x4.sub(v128.load(a + off), v128.load(b + off));
    v128.store(out + off, f32x4.mul(d, d));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const d = load<f32>(a + off) - load<f32>(b + off);
    store<f32>(out + off, d * d);
  }
}

export function squaredErrorBackward(
  n: i32, scale: f32, a: usize, b: usize, gradOut: usize, gradOutStride: i32, gradA: usize,
): void {
  const vs = f32x4.splat(scale);
  let i = 0;
  if (gradOutStride == 0) {
    const vg = f32x4.mul(vs, f32x4.splat(load<f32>(gradOut)));
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      v128.store(gradA + off, f32x4.mul(vg, f32x4.sub(v128.load(a + off), v128.load(b + off))));
    }
  } else if (gradOutStride == 1) {
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      v128.store(gradA + off, f32x4.mul(f32x4.mul(vs, f32x4.sub(v128.load(a + off), v128.load(b + off))), v128.load(gradOut + off)));
    }
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const g = load<f32>(gradOut + (<usize>i * <usize>gradOutStride << 2));
    store<f32>(gradA + off, scale * (load<f32>(a + off) - load<f32>(b + off)) * g);
  }
}

// Tile edge for the cache-blocked transpose: a 32×32 float tile is 4 KiB read + 4 KiB written.
const TILE: i32 = 32;

/** One rows×cols matrix (row stride `cols`) into cols×rows (row stride `rows`), tile by tile. */
function transposeOne(rows: i32, cols: i32, x: usize, out: usize): void {
  const inStride = <usize>cols << 2, outStride = <usize>rows << 2;
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const iEnd = min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const jEnd = min(j0 + TILE, cols);
      let i = i0;
      for (; i + 4 <= iEnd; i += 4) {
        const src = x + <usize>i * inStride;
        let j = j0;
        for (; j + 4 <= jEnd; j += 4) {
          // 4×4 block: rows a, b, c, d of x become columns of out.
          const p = src + (<usize>j << 2);
          const a = v128.load(p), b = v128.load(p + inStride);
          const c = v128.load(p + 2 * inStride), d = v128.load(p + 3 * inStride);
          const ab01 = f32x4.shuffle(a, b, 0, 4, 1, 5), ab23 = f32x4.shuffle(a, b, 2, 6, 3, 7);
          const cd01 = f32x4.shuffle(c, d, 0, 4, 1, 5), cd23 = f32x4.shuffle(c, d, 2, 6, 3, 7);
          const q = out + <usize>j * outStride + (<usize>i << 2);
          v128.store(q, f32x4.shuffle(ab01, cd01, 0, 1, 4, 5));
          v128.store(q + outStride, f32x4.shuffle(ab01, cd01, 2, 3, 6, 7));
          v128.store(q + 2 * outStride, f32x4.shuffle(ab23, cd23, 0, 1, 4, 5));
          v128.store(q + 3 * outStride, f32x4.shuffle(ab23, cd23, 2, 3, 6, 7));
        }
        for (; j < jEnd; j++) {
          const p = src + (<usize>j << 2);
          v128.store(
            out + <usize>j * outStride + (<usize>i << 2),
            f32x4(load<f32>(p), load<f32>(p + inStride), load<f32>(p + 2 * inStride), load<f32>(p + 3 * inStride)),
          );
        }
      }
      for (; i < iEnd; i++) {
        for (let j = j0; j < jEnd; j++) {
          store<f32>(out + <usize>j * outStride + (<usize>i << 2), load<f32>(x + <usize>i * inStride + (<usize>j << 2)));
        }
      }
    }
  }
}

export function transpose2d(batch: i32, rows: i32, cols: i32, x: usize, out: usize): void {
  const matrixBytes = <usize>rows * <usize>cols << 2;
  // A single row or column has the same memory order in both layouts.
  if (rows <= 1 || cols <= 1) {
    memory.copy(out, x, <usize>batch * matrixBytes);
    return;
  }
  for (let b = 0; b < batch; b++) transposeOne(rows, cols, x + <usize>b * matrixBytes, out + <usize>b * matrixBytes);
}

export function copyStrided2d(rows: i32, cols: i32, src: usize, srcStride: i32, dst: usize, dstStride: i32): void {
  const bytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + (<usize>r * <usize>dstStride << 2), src + (<usize>r * <usize>srcStride << 2), bytes);
  }
}
