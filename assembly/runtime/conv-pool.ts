// Batch-major convolution (direct, over the stored weights: each non-zero adds one shifted input plane to its output plane) and max pooling, on [batch][channels][height][width] activations.
import { activateRange } from "./activate";

/** The first output position o >= 0 whose input o·stride − padding + tap is >= 0. */
@inline function firstOutput(padding: i32, tap: i32, stride: i32): i32 {
  const need = padding - tap;
  return need <= 0 ? 0 : (need + stride - 1) / stride;
}

/** One past the last output position whose input o·stride − padding + tap is < size (capped at outSize). */
@inline function endOutput(size: i32, padding: i32, tap: i32, stride: i32, outSize: i32): i32 {
  const room = size - 1 + padding - tap;
  if (room < 0) return 0;
  const end = room / stride + 1;
  return end < outSize ? end : outSize;
}

/**
 * PyTorch Conv2d (cross-correlation, zero padding, square kernel k) with CSR weights over
 * columns (ci·k + ky)·k + kx, bias and activation fused. Every output starts at its bias and
 * gets the stored weights' terms in CSR order (the reference's order), skipping padding.
 */
export function conv2d(
  batch: i32, inChannels: i32, height: i32, width: i32, outChannels: i32, outHeight: i32, outWidth: i32,
  kernel: i32, stride: i32, padding: i32, rowPtr: usize, colIdx: usize, values: usize, bias: usize, act: i32, slope: f32, x: usize, y: usize,
): void {
  const inPlane = height * width;
  const outPlane = outHeight * outWidth;
  const taps = kernel * kernel;
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outChannels; o++) {
      const yo = y + (<usize>((b * outChannels + o) * outPlane) << 2);
      const biasValue = load<f32>(bias + (<usize>o << 2));
      const biasVector = f32x4.splat(biasValue);
      let i = 0;
      for (; i + 4 <= outPlane; i += 4) v128.store(yo + (<usize>i << 2), biasVector);
      for (; i < outPlane; i++) store<f32>(yo + (<usize>i << 2), biasValue);
      const end = load<i32>(rowPtr + (<usize>(o + 1) << 2));
      for (let k = load<i32>(rowPtr + (<usize>o << 2)); k < end; k++) {
        const col = load<i32>(colIdx + (<usize>k << 2));
        const ci = col / taps;
        const ky = (col % taps) / kernel;
        const kx = col % kernel;
        const wScalar = load<f32>(values + (<usize>k << 2));
        const w = f32x4.splat(wScalar);
        const xc = x + (<usize>((b * inChannels + ci) * inPlane) << 2);
        const oyEnd = endOutput(height, padding, ky, stride, outHeight);
        const oxStart = firstOutput(padding, kx, stride);
        const oxEnd = endOutput(width, padding, kx, stride, outWidth);
        for (let oy = firstOutput(padding, ky, stride); oy < oyEnd; oy++) {
          const inRow = xc + (<usize>((oy * stride - padding + ky) * width) << 2);
          const outRow = yo + (<usize>(oy * outWidth) << 2);
          let ox = oxStart;
          if (stride == 1) {
            // Contiguous input: four outputs per step.
            const shift = kx - padding;
            for (; ox + 4 <= oxEnd; ox += 4) {
              const out = outRow + (<usize>ox << 2);
              v128.store(out, f32x4.add(v128.load(out), f32x4.mul(w, v128.load(inRow + (<usize>(ox + shift) << 2)))));
            }
          }
          for (; ox < oxEnd; ox++) {
            const out = outRow + (<usize>ox << 2);
            store<f32>(out, load<f32>(out) + wScalar * load<f32>(inRow + (<usize>(ox * stride - padding + kx) << 2)));
          }
        }
      }
      activateRange(act, slope, yo, outPlane);
    }
  }
}

/** PyTorch MaxPool2d: the max of each window, padding never wins; a NaN wins (as PyTorch and the reference). */
export function maxPool(planes: i32, height: i32, width: i32, outHeight: i32, outWidth: i32, kernel: i32, stride: i32, padding: i32, x: usize, y: usize): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * height * width) << 2);
    const yp = y + (<usize>(p * outHeight * outWidth) << 2);
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        let best: f32 = -Infinity;
        for (let ky = 0; ky < kernel; ky++) {
          const iy = oy * stride - padding + ky;
          if (iy < 0 || iy >= height) continue;
          for (let kx = 0; kx < kernel; kx++) {
            const ix = ox * stride - padding + kx;
            if (ix < 0 || ix >= width) continue;
            const v = load<f32>(xp + (<usize>(iy * width + ix) << 2));
            if (v > best || (v != v && best == best)) best = v;
          }
        }
        store<f32>(yp + (<usize>(oy * outWidth + ox) << 2), best);
      }
    }
  }
}
