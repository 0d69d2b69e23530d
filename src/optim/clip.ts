// Gradient-norm clipping (torch.nn.utils.clip_grad_norm_) and weight clipping.
import { kernels } from "../backend/kernels.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * Scales all gradients so that their global L2 norm is at most `maxNorm`; returns the norm before
 * clipping. As in PyTorch, the scale is maxNorm / (norm + 1e-6), applied only when it is below 1.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  let sq = 0;
  for (const g of grads) sq += kernels.sumSquares(g.size, g.ptr);
  const norm = Math.sqrt(sq);
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) for (const g of grads) kernels.scale(g.size, scale, g.ptr);
  return norm;
}

/** Clamps every weight into [−limit, limit] (in place). */
export function clipWeights(params: Iterable<Tensor>, limit: number): void {
  if (!(limit > 0)) throw new RangeError(`clipWeights: limit must be > 0, got ${limit}`);
  for (const p of params) kernels.clamp(p.size, -limit, limit, p.ptr);
}
