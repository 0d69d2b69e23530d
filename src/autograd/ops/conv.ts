// 2-D convolution (NCHW) as im2col + GEMM, with backward: dW = dOut·colᵀ, dcol = Wᵀ·dOut then col2im, dbias = row sums.
import { kernels } from "../../backend/kernels.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { needsGrad, record } from "../engine.js";

export interface ConvOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
}

/** The geometry of one convolution: input, kernel, stride, padding and output sizes. */
export interface ConvGeometry {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  ho: number; wo: number;
}

/** A stride or padding given as one number or [h, w], validated. */
function pair(value: number | [number, number] | undefined, fallback: number, what: string, op: string, min: number): [number, number] {
  const p = value === undefined ? [fallback, fallback] : typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= min)) {
    throw new RangeError(`${op}: ${what} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(value)}`);
  }
  return [p[0], p[1]];
}

/** Validates an NCHW input against a kh×kw window and computes the output size. */
export function convGeometry(op: string, x: Tensor, kh: number, kw: number, options: ConvOptions): ConvGeometry {
  if (x.rank !== 4) throw new RangeError(`${op}: input shape ${formatShape(x.shape)} must be 4-D [N, C, H, W]`);
  const [n, c, h, w] = x.shape;
  const [sh, sw] = pair(options.stride, 1, "stride", op, 1);
  const [ph, pw] = pair(options.padding, 0, "padding", op, 0);
  const ho = Math.floor((h + 2 * ph - kh) / sh) + 1, wo = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (h + 2 * ph < kh || w + 2 * pw < kw) {
    throw new RangeError(`${op}: kernel ${kh}×${kw} is larger than the padded input ${h + 2 * ph}×${w + 2 * pw} (input ${formatShape(x.shape)}, padding ${ph}×${pw})`);
  }
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo };
}

/** Patch matrix col (C·kh·kw, N·Ho·Wo) of x. */
export function im2colOf(x: Tensor, g: ConvGeometry): Tensor {
  const col = empty([g.c * g.kh * g.kw, g.n * g.ho * g.wo]);
  kernels.im2col(g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, x.ptr, col.ptr);
  return col;
}

/** dx (N, C, H, W) from the patch-matrix gradient. */
export function col2imOf(dcol: Tensor, g: ConvGeometry): Tensor {
  const dx = empty([g.n, g.c, g.h, g.w]);
  kernels.col2im(g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, dcol.ptr, dx.ptr);
  return dx;
}

/** (Cout, N·Ho·Wo) → (N, Cout, Ho, Wo), adding the bias per channel if given. */
export function channelsToBatch(out2: Tensor, g: ConvGeometry, cout: number, bias: Tensor | undefined): Tensor {
  const hw = g.ho * g.wo;
  if (bias) kernels.biasActivationRows(cout, g.n * hw, 0, 0, out2.ptr, bias.ptr, out2.ptr);
  const out = empty([g.n, cout, g.ho, g.wo]);
  kernels.swapLeadingAxes(cout, g.n, hw, out2.ptr, out.ptr);
  return out;
}

/** (N, Cout, Ho, Wo) gradient → (Cout, N·Ho·Wo), the layout of the GEMM output. */
export function batchToChannels(dout: Tensor, g: ConvGeometry, cout: number): Tensor {
  const d2 = empty([cout, g.n * g.ho * g.wo]);
  kernels.swapLeadingAxes(g.n, cout, g.ho * g.wo, dout.ptr, d2.ptr);
  return d2;
}

/** Per-channel sums of a (Cout, N·Ho·Wo) gradient: the bias gradient. */
export function rowSums(d2: Tensor): Tensor {
  const [rows, cols] = d2.shape;
  const out = empty([rows]);
  kernels.reduceSum(rows, cols, 1, d2.ptr, out.ptr);
  return out;
}

/**
 * conv2d(x (N, Cin, H, W), weight (Cout, Cin, kh, kw), bias (Cout)?) → (N, Cout, Ho, Wo), PyTorch's
 * cross-correlation with Ho = ⌊(H + 2·padding − kh) / stride⌋ + 1.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  if (weight.rank !== 4) throw new RangeError(`conv2d: weight shape ${formatShape(weight.shape)} must be 4-D [Cout, Cin, kh, kw]`);
  const [cout, cin, kh, kw] = weight.shape;
  const g = convGeometry("conv2d", x, kh, kw, options);
  if (g.c !== cin) throw new RangeError(`conv2d: input ${formatShape(x.shape)} has ${g.c} channels, weight ${formatShape(weight.shape)} expects ${cin}`);
  if (bias && (bias.rank !== 1 || bias.size !== cout)) throw new RangeError(`conv2d: bias shape ${formatShape(bias.shape)} must be [${cout}]`);
  const patch = cin * kh * kw, cols = g.n * g.ho * g.wo;
  const col = im2colOf(x, g); // (Cin·kh·kw, N·Ho·Wo)
  const out2 = empty([cout, cols]);
  kernels.gemm(0, 0, cout, cols, patch, 1, weight.ptr, patch, col.ptr, cols, 0, out2.ptr, cols);
  const out = channelsToBatch(out2, g, cout, bias);
  out2.dispose();
  const inputs = bias ? [x, weight, bias] : [x, weight];
  // NOTE: col (as large as the input times kh·kw) is kept only for dW.
  if (!needsGrad([weight])) col.dispose();
  return record("conv2d", out, inputs, (dout) => {
    const d2 = batchToChannels(dout, g, cout);
    let dx: Tensor | null = null, dw: Tensor | null = null;
    if (x.requiresGrad) {
      const dcol = empty([patch, cols]);
      kernels.gemm(1, 0, patch, cols, cout, 1, weight.ptr, patch, d2.ptr, cols, 0, dcol.ptr, cols);
      dx = col2imOf(dcol, g);
      dcol.dispose();
    }
    if (weight.requiresGrad) {
      col.assertAlive();
      dw = empty(weight.shape);
      kernels.gemm(0, 1, cout, patch, cols, 1, d2.ptr, cols, col.ptr, cols, 0, dw.ptr, patch);
    }
    const grads = [dx, dw];
    if (bias) grads.push(bias.requiresGrad ? rowSums(d2) : null);
    d2.dispose();
    return grads;
  });
}
