// Reference convolution, pooling and batch-norm kernels (NCHW): the specification of assembly/conv.ts.
//
// Convolution runs as GEMM over im2col patches laid out col[C·kh·kw][N·Ho·Wo]: one row per patch
// element, one column per output position of every image. The same layout feeds the sparse path
// (CSR filters × col), where SIMD runs along the N·Ho·Wo columns.
import { heapF32, heapI32 } from "../heap.js";

/** Output size of a convolution or pooling window along one axis. */
function outSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/** col[(ci·kh + ki)·kw + kj][(ni·Ho + oh)·Wo + ow] = x[ni][ci][oh·sh − ph + ki][ow·sw − pw + kj], or 0 in the padding. */
export function im2col(
  n: number, c: number, h: number, w: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, x: number, col: number,
): void {
  const f = heapF32();
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  const cols = n * ho * wo;
  const ix = x >>> 2, icol = col >>> 2;
  for (let ci = 0; ci < c; ci++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = icol + ((ci * kh + ki) * kw + kj) * cols;
        for (let ni = 0; ni < n; ni++) {
          for (let oh = 0; oh < ho; oh++) {
            const ih = oh * sh - ph + ki;
            for (let ow = 0; ow < wo; ow++) {
              const iw = ow * sw - pw + kj;
              const inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
              f[row + (ni * ho + oh) * wo + ow] = inside ? f[ix + ((ni * c + ci) * h + ih) * w + iw] : 0;
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx (overwritten) = the sum of every patch value back at its input position. */
export function col2im(
  n: number, c: number, h: number, w: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, col: number, dx: number,
): void {
  const f = heapF32();
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  const cols = n * ho * wo;
  const idx = dx >>> 2, icol = col >>> 2;
  f.fill(0, idx, idx + n * c * h * w);
  for (let ci = 0; ci < c; ci++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const row = icol + ((ci * kh + ki) * kw + kj) * cols;
        for (let ni = 0; ni < n; ni++) {
          for (let oh = 0; oh < ho; oh++) {
            const ih = oh * sh - ph + ki;
            if (ih < 0 || ih >= h) continue;
            for (let ow = 0; ow < wo; ow++) {
              const iw = ow * sw - pw + kj;
              if (iw < 0 || iw >= w) continue;
              f[idx + ((ni * c + ci) * h + ih) * w + iw] += f[row + (ni * ho + oh) * wo + ow];
            }
          }
        }
      }
    }
  }
}

/** out[a][b][:] = x[b][a][:] for x of shape (A=rows, B=cols, inner): swaps the two leading axes (e.g. [Cout][N][HW] ↔ [N][Cout][HW]). */
export function swapLeadingAxes(rows: number, cols: number, inner: number, x: number, out: number): void {
  const f = heapF32();
  const ix = x >>> 2, io = out >>> 2;
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      const src = ix + (a * cols + b) * inner, dst = io + (b * rows + a) * inner;
      for (let i = 0; i < inner; i++) f[dst + i] = f[src + i];
    }
  }
}

/** Max pooling; argmax (int32) receives the index of the winner within its input plane (h·w), −1 if the window is all padding. */
export function maxPool2dForward(
  n: number, c: number, h: number, w: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, x: number, out: number, argmax: number,
): void {
  const f = heapF32(), a = heapI32();
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = (x >>> 2) + plane * h * w, io = (out >>> 2) + plane * ho * wo, ia = (argmax >>> 2) + plane * ho * wo;
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        let best = -Infinity, at = -1;
        for (let ki = 0; ki < kh; ki++) {
          const ih = oh * sh - ph + ki;
          if (ih < 0 || ih >= h) continue;
          for (let kj = 0; kj < kw; kj++) {
            const iw = ow * sw - pw + kj;
            if (iw < 0 || iw >= w) continue;
            const v = f[ix + ih * w + iw];
            // The first element starts; a larger one or a NaN (unless a NaN already won) replaces it.
            if (at < 0 || v > best || (v !== v && best === best)) {
              best = v;
              at = ih * w + iw;
            }
          }
        }
        f[io + oh * wo + ow] = best;
        a[ia + oh * wo + ow] = at;
      }
    }
  }
}

/** dx (overwritten) receives each output gradient at its argmax position. */
export function maxPool2dBackward(n: number, c: number, h: number, w: number, ho: number, wo: number, dout: number, argmax: number, dx: number): void {
  const f = heapF32(), a = heapI32();
  f.fill(0, dx >>> 2, (dx >>> 2) + n * c * h * w);
  for (let plane = 0; plane < n * c; plane++) {
    const id = (dout >>> 2) + plane * ho * wo, ia = (argmax >>> 2) + plane * ho * wo, ix = (dx >>> 2) + plane * h * w;
    for (let o = 0; o < ho * wo; o++) if (a[ia + o] >= 0) f[ix + a[ia + o]] += f[id + o];
  }
}

/** Average pooling over the window including padding (count_include_pad = true, PyTorch's default). */
export function avgPool2dForward(
  n: number, c: number, h: number, w: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, x: number, out: number,
): void {
  const f = heapF32();
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = (x >>> 2) + plane * h * w, io = (out >>> 2) + plane * ho * wo;
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        // PyTorch divides by the window clipped to the padded input (not beyond it).
        const h0 = oh * sh - ph, w0 = ow * sw - pw;
        const count = (Math.min(h0 + kh, h + ph) - h0) * (Math.min(w0 + kw, w + pw) - w0);
        let s = 0;
        for (let ih = Math.max(h0, 0); ih < Math.min(h0 + kh, h); ih++) {
          for (let iw = Math.max(w0, 0); iw < Math.min(w0 + kw, w); iw++) s += f[ix + ih * w + iw];
        }
        f[io + oh * wo + ow] = s / count;
      }
    }
  }
}

/** The adjoint of avgPool2dForward; dx is overwritten. */
export function avgPool2dBackward(
  n: number, c: number, h: number, w: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, dout: number, dx: number,
): void {
  const f = heapF32();
  const ho = outSize(h, kh, sh, ph), wo = outSize(w, kw, sw, pw);
  f.fill(0, dx >>> 2, (dx >>> 2) + n * c * h * w);
  for (let plane = 0; plane < n * c; plane++) {
    const ix = (dx >>> 2) + plane * h * w, io = (dout >>> 2) + plane * ho * wo;
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const h0 = oh * sh - ph, w0 = ow * sw - pw;
        const count = (Math.min(h0 + kh, h + ph) - h0) * (Math.min(w0 + kw, w + pw) - w0);
        const g = f[io + oh * wo + ow] / count;
        for (let ih = Math.max(h0, 0); ih < Math.min(h0 + kh, h); ih++) {
          for (let iw = Math.max(w0, 0); iw < Math.min(w0 + kw, w); iw++) f[ix + ih * w + iw] += g;
        }
      }
    }
  }
}

/** Per-channel mean and biased variance of x (N, C, HW), accumulated in float64. */
export function batchNormStats(n: number, c: number, hw: number, x: number, mean: number, variance: number): void {
  const f = heapF32();
  const count = n * hw;
  for (let ci = 0; ci < c; ci++) {
    let s = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (x >>> 2) + (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) s += f[base + i];
    }
    const m = s / count;
    let v = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (x >>> 2) + (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) v += (f[base + i] - m) ** 2;
    }
    f[(mean >>> 2) + ci] = m;
    f[(variance >>> 2) + ci] = v / count;
  }
}

/** out = γ·(x − mean)·invstd + β per channel. */
export function batchNormForward(n: number, c: number, hw: number, x: number, mean: number, invstd: number, gamma: number, beta: number, out: number): void {
  const f = heapF32();
  for (let ni = 0; ni < n; ni++) {
    for (let ci = 0; ci < c; ci++) {
      const m = f[(mean >>> 2) + ci], b = f[(beta >>> 2) + ci];
      const scale = f[(gamma >>> 2) + ci] * f[(invstd >>> 2) + ci];
      const base = (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) f[(out >>> 2) + base + i] = (f[(x >>> 2) + base + i] - m) * scale + b;
    }
  }
}

/**
 * Batch-norm backward. With batch statistics (training = 1):
 *   dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)),  x̂ = (x − mean)·invstd;
 * with fixed statistics (training = 0): dx = γ·invstd·dy. Always dγ = Σ dy·x̂, dβ = Σ dy (overwritten).
 */
export function batchNormBackward(
  n: number, c: number, hw: number, training: number, x: number, mean: number, invstd: number,
  gamma: number, dy: number, dx: number, dgamma: number, dbeta: number,
): void {
  const f = heapF32();
  const count = n * hw;
  for (let ci = 0; ci < c; ci++) {
    const m = f[(mean >>> 2) + ci], is = f[(invstd >>> 2) + ci], g = f[(gamma >>> 2) + ci];
    let sumDy = 0, sumDyXhat = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) {
        const d = f[(dy >>> 2) + base + i];
        sumDy += d;
        sumDyXhat += d * (f[(x >>> 2) + base + i] - m) * is;
      }
    }
    f[(dgamma >>> 2) + ci] = sumDyXhat;
    f[(dbeta >>> 2) + ci] = sumDy;
    const meanDy = training ? sumDy / count : 0, meanDyXhat = training ? sumDyXhat / count : 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ci) * hw;
      for (let i = 0; i < hw; i++) {
        const xhat = (f[(x >>> 2) + base + i] - m) * is;
        f[(dx >>> 2) + base + i] = g * is * (f[(dy >>> 2) + base + i] - meanDy - xhat * meanDyXhat);
      }
    }
  }
}

export const convKernels = {
  im2col, col2im, swapLeadingAxes, maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward,
  batchNormStats, batchNormForward, batchNormBackward,
};
