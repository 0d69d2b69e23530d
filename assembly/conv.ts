// Convolution (im2col/col2im), pooling and batch-norm kernels over NCHW data. Specification: src/backend/reference/conv.ts.

@inline function outSize(size: i32, k: i32, stride: i32, pad: i32): i32 {
  return (size + 2 * pad - k) / stride + 1;
}

@inline function f32At(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
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
        // Output columns whose input column is inside the image: ow in [owStart, owEnd).
        let owStart = 0;
        while (owStart < wo && owStart * sw - pw + kj < 0) owStart++;
        let owEnd = wo;
        while (owEnd > owStart && (owEnd - 1) * sw - pw + kj >= w) owEnd--;
        for (let ni = 0; ni < n; ni++) {
          for (let oh = 0; oh < ho; oh++) {
            const ih = oh * sh - ph + ki;
            const dst = row + (<usize>((ni * ho + oh) * wo) << 2);
            if (ih < 0 || ih >= h) {
              memory.fill(dst, 0, <usize>wo << 2);
              continue;
            }
            if (owStart > 0) memory.fill(dst, 0, <usize>owStart << 2);
            if (owEnd < wo) memory.fill(dst + (<usize>owEnd << 2), 0, <usize>(wo - owEnd) << 2);
            const src = f32At(x, ((ni * c + ci) * h + ih) * w + owStart * sw - pw + kj);
            if (sw == 1) {
              memory.copy(dst + (<usize>owStart << 2), src, <usize>(owEnd - owStart) << 2);
            } else {
              for (let ow = owStart; ow < owEnd; ow++) store<f32>(dst + (<usize>ow << 2), load<f32>(src + (<usize>((ow - owStart) * sw) << 2)));
            }
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
        let owStart = 0;
        while (owStart < wo && owStart * sw - pw + kj < 0) owStart++;
        let owEnd = wo;
        while (owEnd > owStart && (owEnd - 1) * sw - pw + kj >= w) owEnd--;
        const len = owEnd - owStart;
        for (let ni = 0; ni < n; ni++) {
          for (let oh = 0; oh < ho; oh++) {
            const ih = oh * sh - ph + ki;
            if (ih < 0 || ih >= h) continue;
            const src = row + (<usize>((ni * ho + oh) * wo + owStart) << 2);
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
                const d = dst + (<usize>(i * sw) << 2);
                store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>i << 2)));
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

export function maxPool2dForward(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, out: usize, argmax: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = f32At(x, plane * h * w), io = f32At(out, plane * ho * wo), ia = f32At(argmax, plane * ho * wo);
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        let best: f32 = -Infinity;
        let at = -1;
        for (let ki = 0; ki < kh; ki++) {
          const ih = oh * sh - ph + ki;
          if (ih < 0 || ih >= h) continue;
          for (let kj = 0; kj < kw; kj++) {
            const iw = ow * sw - pw + kj;
            if (iw < 0 || iw >= w) continue;
            const v = load<f32>(f32At(ix, ih * w + iw));
            if (at < 0 || v > best || (v != v && best == best)) {
              best = v;
              at = ih * w + iw;
            }
          }
        }
        store<f32>(f32At(io, oh * wo + ow), best);
        store<i32>(f32At(ia, oh * wo + ow), at);
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

export function avgPool2dForward(
  n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, out: usize,
): void {
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = f32At(x, plane * h * w), io = f32At(out, plane * ho * wo);
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const h0 = oh * sh - ph, w0 = ow * sw - pw;
        const count = (min(h0 + kh, h + ph) - h0) * (min(w0 + kw, w + pw) - w0);
        let s: f64 = 0;
        for (let ih = max(h0, 0); ih < min(h0 + kh, h); ih++) {
          for (let iw = max(w0, 0); iw < min(w0 + kw, w); iw++) s += <f64>load<f32>(f32At(ix, ih * w + iw));
        }
        store<f32>(f32At(io, oh * wo + ow), <f32>(s / <f64>count));
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
        const count = (min(h0 + kh, h + ph) - h0) * (min(w0 + kw, w + pw) - w0);
        const g = load<f32>(f32At(io, oh * wo + ow)) / <f32>count;
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

export function batchNormStats(n: i32, c: i32, hw: i32, x: usize, mean: usize, variance: usize): void {
  const count = <f64>(n * hw);
  for (let ci = 0; ci < c; ci++) {
    let s: f64 = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = f32At(x, (ni * c + ci) * hw);
      for (let i = 0; i < hw; i++) s += <f64>load<f32>(f32At(base, i));
    }
    const m = s / count;
    let v: f64 = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = f32At(x, (ni * c + ci) * hw);
      for (let i = 0; i < hw; i++) {
        const d = <f64>load<f32>(f32At(base, i)) - m;
        v += d * d;
      }
    }
    store<f32>(f32At(mean, ci), <f32>m);
    store<f32>(f32At(variance, ci), <f32>(v / count));
  }
}

export function batchNormForward(n: i32, c: i32, hw: i32, x: usize, mean: usize, invstd: usize, gamma: usize, beta: usize, out: usize): void {
  for (let ni = 0; ni < n; ni++) {
    for (let ci = 0; ci < c; ci++) {
      const scale = load<f32>(f32At(gamma, ci)) * load<f32>(f32At(invstd, ci));
      const shift = load<f32>(f32At(beta, ci)) - load<f32>(f32At(mean, ci)) * scale;
      const vs = f32x4.splat(scale), vt = f32x4.splat(shift);
      const src = f32At(x, (ni * c + ci) * hw), dst = f32At(out, (ni * c + ci) * hw);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const o = <usize>i << 2;
        v128.store(dst + o, f32x4.add(f32x4.mul(v128.load(src + o), vs), vt));
      }
      for (; i < hw; i++) store<f32>(f32At(dst, i), load<f32>(f32At(src, i)) * scale + shift);
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
    let sumDy: f64 = 0, sumDyXhat: f64 = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) {
        const d = <f64>load<f32>(f32At(dy, base + i));
        sumDy += d;
        sumDyXhat += d * <f64>((load<f32>(f32At(x, base + i)) - m) * is);
      }
    }
    store<f32>(f32At(dgamma, ci), <f32>sumDyXhat);
    store<f32>(f32At(dbeta, ci), <f32>sumDy);
    const meanDy = training ? <f32>(sumDy / count) : <f32>0;
    const meanDyXhat = training ? <f32>(sumDyXhat / count) : <f32>0;
    const gis = g * is;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) {
        const xhat = (load<f32>(f32At(x, base + i)) - m) * is;
        store<f32>(f32At(dx, base + i), gis * (load<f32>(f32At(dy, base + i)) - meanDy - xhat * meanDyXhat));
      }
    }
  }
}
