// Max and average pooling over (N, C, H, W) with backward (max: gradient to the argmax; average: spread evenly).
import { kernels } from "../../backend/kernels.js";
import { empty, type Tensor } from "../../tensor/tensor.js";
import { needsGrad, record } from "../engine.js";
import { convGeometry } from "./conv.js";

/** maxPool2d(x, kernel, stride = kernel, padding = 0) → (N, C, Ho, Wo); NaN propagates like PyTorch. */
export function maxPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  const g = convGeometry("maxPool2d", x, kernel, kernel, { stride, padding });
  if (2 * padding > kernel) throw new RangeError(`maxPool2d: padding ${padding} must be at most half the kernel ${kernel}`);
  const out = empty([g.n, g.c, g.ho, g.wo]);
  // NOTE: the int32 argmax lives in a float32 tensor's storage, so that tidy frees it with the output.
  const argmax = empty([out.size]);
  kernels.maxPool2dForward(g.n, g.c, g.h, g.w, kernel, kernel, g.sh, g.sw, g.ph, g.pw, x.ptr, out.ptr, argmax.ptr);
  if (!needsGrad([x])) argmax.dispose();
  return record("maxPool2d", out, [x], (dout) => {
    argmax.assertAlive();
    const dx = empty(x.shape);
    kernels.maxPool2dBackward(g.n, g.c, g.h, g.w, g.ho, g.wo, dout.ptr, argmax.ptr, dx.ptr);
    return [dx];
  });
}

/** avgPool2d(x, kernel, stride = kernel, padding = 0) → (N, C, Ho, Wo), counting padding like PyTorch's default. */
export function avgPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  const g = convGeometry("avgPool2d", x, kernel, kernel, { stride, padding });
  if (2 * padding > kernel) throw new RangeError(`avgPool2d: padding ${padding} must be at most half the kernel ${kernel}`);
  const out = empty([g.n, g.c, g.ho, g.wo]);
  kernels.avgPool2dForward(g.n, g.c, g.h, g.w, kernel, kernel, g.sh, g.sw, g.ph, g.pw, x.ptr, out.ptr);
  return record("avgPool2d", out, [x], (dout) => {
    const dx = empty(x.shape);
    kernels.avgPool2dBackward(g.n, g.c, g.h, g.w, kernel, kernel, g.sh, g.sw, g.ph, g.pw, dout.ptr, dx.ptr);
    return [dx];
  });
}
