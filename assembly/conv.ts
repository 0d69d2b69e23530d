// Convolution (im2col/col2im), pooling and batch-norm kernels over NCHW data. Specification: src/backend/reference/conv.ts.
//
// Pooling and im2col work on four neighbouring output columns at once: SIMD lanes hold outputs
// ow..ow+3, whose inputs sit `stride` floats apart. Windows touching the padding take a scalar path.

@inline function outSize(size: i32, k: i32, stride: i32, pad: i32): i32 {
  return (size + 2 * pad - k) / stride + 1;
}

@inline function f32At(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** Lanes src[0], src[stride], src[2·stride], src[3·stride]; never reads past src[3·stride]. */
@inline function loadStrided(src: usize, stride: i32): v128 {
  if (stride == 1) return v128.load(src);
  // Elements 0..3 and 3..6: lanes 0, 2 of the first and 5, 7 (elements 4, 6) of the second.
  if (stride == 2) return v128.shuffle<f32>(v128.load(src), v128.load(src + 12), 0, 2, 5, 7);
  const step = <usize>stride << 2;
  let v = f32x4.splat(load<f32>(src));
  v = f32x4.replace_lane(v, 1, load<f32>(src + step));
  v = f32x4.replace_lane(v, 2, load<f32>(src + 2 * step));
  return f32x4.replace_lane(v, 3, load<f32>(src + 3 * step));
}

@inline function zeroFloats(dst: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(f32At(dst, i), f32x4.splat(0));
  for (; i < count; i++) store<f32>(f32At(dst, i), 0);
}

/** First output column whose window starts inside the image: ⌈pad / stride⌉ (0 if pad ≤ 0), at most `outSize`. */
@inline function firstInside(pad: i32, stride: i32, outSize: i32): i32 {
  if (pad <= 0) return 0;
  return min(outSize, (pad + stride - 1) / stride);
}

/** One past the last output column whose window (offset `k` from its start) ends inside the image. */
@inline function endInside(size: i32, pad: i32, k: i32, stride: i32, start: i32, outSize: i32): i32 {
  if (size + pad - k < 0) return start;
  return max(start, min(outSize, (size + pad - k) / stride + 1));
}

export function im2col(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, col: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  const cols = n * ho * wo;
  for (let ci = 0; ci < c; ci++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = f32At(col, ((ci * kh + ki) * kw + kj) * cols);
        // Output columns whose input column ow·sw − pw + kj is inside the image: [owStart, owEnd).
        const owStart = firstInside(pw - kj, sw, wo);
        const owEnd = endInside(w, pw - kj, 1, sw, owStart, wo);
        const len = owEnd - owStart;
        for (let ni = 0; ni < n; ni++) {
          for (let oh = 0; oh < ho; oh++) {
            const ih = oh * sh - ph + ki;
            const dst = f32At(row, (ni * ho + oh) * wo);
            if (ih < 0 || ih >= h) {
              zeroFloats(dst, wo);
              continue;
            }
            zeroFloats(dst, owStart);
            zeroFloats(f32At(dst, owEnd), wo - owEnd);
            const src = f32At(x, ((ni * c + ci) * h + ih) * w + owStart * sw - pw + kj);
            const out = f32At(dst, owStart);
            let i = 0;
            for (; i + 4 <= len; i += 4) v128.store(f32At(out, i), loadStrided(f32At(src, i * sw), sw));
            for (; i < len; i++) store<f32>(f32At(out, i), load<f32>(f32At(src, i * sw)));
          }
        }
      }
    }
  }
}

export function col2im(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, col: usize, dx: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  const cols = n * ho * wo;
  memory.fill(dx, 0, <usize>(n * c * h * w) << 2);
  for (let ci = 0; ci < c; ci++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = f32At(col, ((ci * kh + ki) * kw + kj) * cols);
        const owStart = firstInside(pw - kj, sw, wo);
        const owEnd = endInside(w, pw - kj, 1, sw, owStart, wo);
        const len = owEnd - owStart;
        for (let ni = 0; ni < n; ni++) {
          for (let oh = 0; oh < ho; oh++) {
            const ih = oh * sh - ph + ki;
            if (ih < 0 || ih >= h) continue;
            const src = f32At(row, (ni * ho + oh) * wo + owStart);
            const dst = f32At(dx, ((ni * c + ci) * h + ih) * w + owStart * sw - pw + kj);
            if (sw == 1) {
              let i = 0;
              for (; i + 4 <= len; i += 4) {
                const o = <usize>i << 2;
                v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
              }
              for (; i < len; i++) {
                const o = <usize>i << 2;
                store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
              }
            } else {
              for (let i = 0; i < len; i++) {
                const d = f32At(dst, i * sw);
                store<f32>(d, load<f32>(d) + load<f32>(f32At(src, i)));
              }
            }
          }
        }
      }
    }
  }
}

export function swapLeadingAxes(rows: i32, cols: i32, inner: i32, x: usize, out: usize): void {
  const bytes = <usize>inner << 2;
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      memory.copy(out + <usize>(b * rows + a) * bytes, x + <usize>(a * cols + b) * bytes, bytes);
    }
  }
}

/** Max over one window clipped to the image, first winner kept, NaN wins (as the reference). */
@inline function maxWindow(ix: usize, h: i32, w: i32, h0: i32, w0: i32, kh: i32, kw: i32, out: usize, argmax: usize): void {
  let best: f32 = -Infinity;
  let at = -1;
  for (let ih = max(h0, 0); ih < min(h0 + kh, h); ih++) {
    for (let iw = max(w0, 0); iw < min(w0 + kw, w); iw++) {
      const v = load<f32>(f32At(ix, ih * w + iw));
      if (at < 0 || v > best || (v != v && best == best)) {
        best = v;
        at = ih * w + iw;
      }
    }
  }
  store<f32>(out, best);
  store<i32>(argmax, at);
}

export function maxPool2dForward(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, out: usize, argmax: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  const owLo = firstInside(pw, sw, wo), owHi = endInside(w, pw, kw, sw, owLo, wo);
  const laneOffsets = i32x4(0, sw, 2 * sw, 3 * sw);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = f32At(x, plane * h * w), io = f32At(out, plane * ho * wo), ia = f32At(argmax, plane * ho * wo);
    for (let oh = 0; oh < ho; oh++) {
      const h0 = oh * sh - ph;
      const rowInside = h0 >= 0 && h0 + kh <= h;
      const ro = f32At(io, oh * wo), ra = f32At(ia, oh * wo);
      let ow = 0;
      while (ow < wo) {
        if (!rowInside || ow < owLo || ow + 4 > owHi) {
          maxWindow(ix, h, w, h0, ow * sw - pw, kh, kw, f32At(ro, ow), f32At(ra, ow));
          ow++;
          continue;
        }
        // Four windows fully inside: the same update as maxWindow, lane-wise. A lane takes v when
        // !(v <= best) (larger, or v is NaN) unless best is already NaN.
        const start = h0 * w + ow * sw - pw;
        let best = loadStrided(f32At(ix, start), sw);
        let at = i32x4.add(i32x4.splat(start), laneOffsets);
        for (let ki = 0; ki < kh; ki++) {
          for (let kj = 0; kj < kw; kj++) {
            const offset = start + ki * w + kj;
            const v = loadStrided(f32At(ix, offset), sw);
            const take = v128.andnot(f32x4.eq(best, best), f32x4.le(v, best));
            best = v128.bitselect(v, best, take);
            at = v128.bitselect(i32x4.add(i32x4.splat(offset), laneOffsets), at, take);
          }
        }
        v128.store(f32At(ro, ow), best);
        v128.store(f32At(ra, ow), at);
        ow += 4;
      }
    }
  }
}

export function maxPool2dBackward(n: i32, c: i32, h: i32, w: i32, ho: i32, wo: i32, dout: usize, argmax: usize, dx: usize): void {
  memory.fill(dx, 0, <usize>(n * c * h * w) << 2);
  for (let plane = 0; plane < n * c; plane++) {
    const id = f32At(dout, plane * ho * wo), ia = f32At(argmax, plane * ho * wo), ix = f32At(dx, plane * h * w);
    for (let o = 0; o < ho * wo; o++) {
      const at = load<i32>(f32At(ia, o));
      if (at >= 0) {
        const d = f32At(ix, at);
        store<f32>(d, load<f32>(d) + load<f32>(f32At(id, o)));
      }
    }
  }
}

/** Window size counted by PyTorch's count_include_pad: clipped to the padded input, not beyond. */
@inline function windowCount(h0: i32, w0: i32, kh: i32, kw: i32, h: i32, w: i32, ph: i32, pw: i32): i32 {
  return (min(h0 + kh, h + ph) - h0) * (min(w0 + kw, w + pw) - w0);
}

export function avgPool2dForward(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, out: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  const owLo = firstInside(pw, sw, wo), owHi = endInside(w, pw, kw, sw, owLo, wo);
  const area = f32x4.splat(<f32>(kh * kw));
  for (let plane = 0; plane < n * c; plane++) {
    const ix = f32At(x, plane * h * w), io = f32At(out, plane * ho * wo);
    for (let oh = 0; oh < ho; oh++) {
      const h0 = oh * sh - ph;
      const rowInside = h0 >= 0 && h0 + kh <= h;
      const ro = f32At(io, oh * wo);
      let ow = 0;
      while (ow < wo) {
        if (rowInside && ow >= owLo && ow + 4 <= owHi) {
          // Four windows fully inside the image: their count is kh·kw.
          const start = h0 * w + ow * sw - pw;
          let sum = f32x4.splat(0);
          for (let ki = 0; ki < kh; ki++) {
            for (let kj = 0; kj < kw; kj++) sum = f32x4.add(sum, loadStrided(f32At(ix, start + ki * w + kj), sw));
          }
          v128.store(f32At(ro, ow), f32x4.div(sum, area));
          ow += 4;
          continue;
        }
        const w0 = ow * sw - pw;
        let s: f32 = 0;
        for (let ih = max(h0, 0); ih < min(h0 + kh, h); ih++) {
          for (let iw = max(w0, 0); iw < min(w0 + kw, w); iw++) s += load<f32>(f32At(ix, ih * w + iw));
        }
        store<f32>(f32At(ro, ow), s / <f32>windowCount(h0, w0, kh, kw, h, w, ph, pw));
        ow++;
      }
    }
  }
}

export function avgPool2dBackward(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dout: usize, dx: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  memory.fill(dx, 0, <usize>(n * c * h * w) << 2);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = f32At(dx, plane * h * w), io = f32At(dout, plane * ho * wo);
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const h0 = oh * sh - ph, w0 = ow * sw - pw;
        const g = load<f32>(f32At(io, oh * wo + ow)) / <f32>windowCount(h0, w0, kh, kw, h, w, ph, pw);
        for (let ih = max(h0, 0); ih < min(h0 + kh, h); ih++) {
          for (let iw = max(w0, 0); iw < min(w0 + kw, w); iw++) {
            const d = f32At(ix, ih * w + iw);
            store<f32>(d, load<f32>(d) + g);
          }
        }
      }
    }
  }
}

@inline function sumLanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

export function batchNormStats(n: i32, c: i32, hw: i32, x: usize, mean: usize, variance: usize): void {
  const count = <f64>(n * hw);
  for (let ci = 0; ci < c; ci++) {
    // Sums in float64 lanes (promoted pairs): the channel may hold millions of values.
    let s2 = f64x2.splat(0);
    let s: f64 = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = f32At(x, (ni * c + ci) * hw);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const v = v128.load(f32At(base, i));
        s2 = f64x2.add(s2, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))));
      }
      for (; i < hw; i++) s += <f64>load<f32>(f32At(base, i));
    }
    const m = (s + sumLanes(s2)) / count;
    const m2 = f64x2.splat(m);
    let v2 = f64x2.splat(0);
    let v: f64 = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = f32At(x, (ni * c + ci) * hw);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const x4 = v128.load(f32At(base, i));
        const lo = f64x2.sub(f64x2.promote_low_f32x4(x4), m2), hi = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(x4, x4, 2, 3, 0, 1)), m2);
        v2 = f64x2.add(v2, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
      }
      for (; i < hw; i++) {
        const d = <f64>load<f32>(f32At(base, i)) - m;
        v += d * d;
      }
    }
    store<f32>(f32At(mean, ci), <f32>m);
    store<f32>(f32At(variance, ci), <f32>((v + sumLanes(v2)) / count));
  }
}

export function batchNormForward(n: i32, c: i32, hw: i32, x: usize, mean: usize, invstd: usize, gamma: usize, beta: usize, out: usize): void {
  for (let ni = 0; ni < n; ni++) {
    for (let ci = 0; ci < c; ci++) {
      // (x − μ)·scale + β rather than x·scale + (β − μ·scale): no cancellation when |μ| ≫ σ.
      const m = load<f32>(f32At(mean, ci)), b = load<f32>(f32At(beta, ci));
      const scale = load<f32>(f32At(gamma, ci)) * load<f32>(f32At(invstd, ci));
      const m4 = f32x4.splat(m), scale4 = f32x4.splat(scale), b4 = f32x4.splat(b);
      const src = f32At(x, (ni * c + ci) * hw), dst = f32At(out, (ni * c + ci) * hw);
      let i = 0;
      for (; i + 4 <= hw; i += 4) v128.store(f32At(dst, i), f32x4.add(f32x4.mul(f32x4.sub(v128.load(f32At(src, i)), m4), scale4), b4));
      for (; i < hw; i++) store<f32>(f32At(dst, i), (load<f32>(f32At(src, i)) - m) * scale + b);
    }
  }
}

export function batchNormBackward(
  n: i32, c: i32, hw: i32, training: i32, x: usize, mean: usize, invstd: usize,
  gamma: usize, dy: usize, dx: usize, dgamma: usize, dbeta: usize,
): void {
  const count = <f64>(n * hw);
  for (let ci = 0; ci < c; ci++) {
    const m = load<f32>(f32At(mean, ci)), is = load<f32>(f32At(invstd, ci)), g = load<f32>(f32At(gamma, ci));
    const m4 = f32x4.splat(m), is4 = f32x4.splat(is);
    // Σ dy and Σ dy·x̂ in float64 lanes (promoted pairs), as the reference.
    let dy2 = f64x2.splat(0), dyXhat2 = f64x2.splat(0);
    let sumDy: f64 = 0, sumDyXhat: f64 = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ci) * hw;
      const px = f32At(x, base), pdy = f32At(dy, base);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const d = v128.load(f32At(pdy, i));
        const p = f32x4.mul(d, f32x4.mul(f32x4.sub(v128.load(f32At(px, i)), m4), is4));
        dy2 = f64x2.add(dy2, f64x2.add(f64x2.promote_low_f32x4(d), f64x2.promote_low_f32x4(i32x4.shuffle(d, d, 2, 3, 0, 1))));
        dyXhat2 = f64x2.add(dyXhat2, f64x2.add(f64x2.promote_low_f32x4(p), f64x2.promote_low_f32x4(i32x4.shuffle(p, p, 2, 3, 0, 1))));
      }
      for (; i < hw; i++) {
        const d = <f64>load<f32>(f32At(pdy, i));
        sumDy += d;
        sumDyXhat += d * <f64>((load<f32>(f32At(px, i)) - m) * is);
      }
    }
    sumDy += sumLanes(dy2);
    sumDyXhat += sumLanes(dyXhat2);
    store<f32>(f32At(dgamma, ci), <f32>sumDyXhat);
    store<f32>(f32At(dbeta, ci), <f32>sumDy);
    const meanDy = training ? <f32>(sumDy / count) : <f32>0;
    const meanDyXhat = training ? <f32>(sumDyXhat / count) : <f32>0;
    const gis = g * is;
    const meanDy4 = f32x4.splat(meanDy), meanDyXhat4 = f32x4.splat(meanDyXhat), gis4 = f32x4.splat(gis);
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ci) * hw;
      const px = f32At(x, base), pdy = f32At(dy, base), pdx = f32At(dx, base);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const xhat = f32x4.mul(f32x4.sub(v128.load(f32At(px, i)), m4), is4);
        const centered = f32x4.sub(f32x4.sub(v128.load(f32At(pdy, i)), meanDy4), f32x4.mul(xhat, meanDyXhat4));
        v128.store(f32At(pdx, i), f32x4.mul(gis4, centered));
      }
      for (; i < hw; i++) {
        const xhat = (load<f32>(f32At(px, i)) - m) * is;
        store<f32>(f32At(pdx, i), gis * (load<f32>(f32At(pdy, i)) - meanDy - xhat * meanDyXhat));
      }
    }
  }
}
