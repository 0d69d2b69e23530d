// Dense fully connected layer y = x·Wᵀ + b (PyTorch's Linear), optionally with a fixed binary mask on W.
import { mul } from "../autograd/ops/arithmetic.js";
import { activate, biasActivation } from "../autograd/ops/activation.js";
import { matmul, linearOp } from "../autograd/ops/matmul.js";
import { Rng } from "../tensor/rng.js";
import { fillUniform } from "../tensor/init.js";
import { empty, formatShape, keep, type Tensor } from "../tensor/tensor.js";
import type { ForwardContext, FusableLayer, FusedActivation, LayerParameter } from "./layer.js";
import { applyWeightMask } from "./weight-mask.js";

export interface LinearOptions {
  bias?: boolean;
  /** Seeded generator for the initial weights (PyTorch's default: U(±1/√in) for W and b). */
  rng?: Rng;
}

export class Linear implements FusableLayer {
  readonly kind = "Linear";
  readonly layout = "any" as const;
  readonly weight: Tensor; // (out, in)
  readonly bias: Tensor | null; // (out)
  /** 1 where a weight is kept, 0 where pruned; null for a plain dense layer. */
  mask: Tensor | null = null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new RangeError(`Linear: features must be positive integers, got ${inFeatures} → ${outFeatures}`);
    }
    const rng = options.rng ?? new Rng(0, "linear");
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = keep(fillUniform(empty([outFeatures, inFeatures]), rng, -bound, bound));
    this.weight.requiresGrad = true;
    this.bias = options.bias === false ? null : keep(fillUniform(empty([outFeatures]), rng, -bound, bound));
    if (this.bias) this.bias.requiresGrad = true;
  }

  /** Fixes a mask (same shape as the weight) and zeroes the masked weights. */
  setMask(mask: Tensor | null): void {
    if (mask !== null) applyWeightMask("Linear.setMask", this.weight, mask);
    this.mask?.dispose();
    this.mask = mask;
  }

  private effectiveWeight(): Tensor {
    return this.mask === null ? this.weight : mul(this.weight, this.mask);
  }

  private checkInput(x: Tensor, ctx: ForwardContext): void {
    const features = ctx.layout === "batch-major" ? x.shape[1] : x.shape[0];
    if (x.rank !== 2 || features !== this.inFeatures) {
      throw new RangeError(`${this.describe()}: input ${formatShape(x.shape)} (${ctx.layout}) must have ${this.inFeatures} features`);
    }
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.forwardFused(x, ctx, "identity", 0);
  }

  forwardFused(x: Tensor, ctx: ForwardContext, activation: FusedActivation, slope: number): Tensor {
    this.checkInput(x, ctx);
    const w = this.effectiveWeight();
    if (ctx.layout === "batch-major") {
      if (activation === "identity") return linearOp(x, w, this.bias ?? undefined); // (B, out)
      const y = linearOp(x, w);
      return this.bias ? biasActivation(y, this.bias, activation, slope, "batch-major") : activate(y, activation, slope);
    }
    const y = matmul(w, x); // (out, in)·(in, B) = (out, B)
    return this.bias ? biasActivation(y, this.bias, activation, slope, "feature-major") : activate(y, activation, slope);
  }

  parameters(): LayerParameter[] {
    const ps: LayerParameter[] = [{ name: "weight", tensor: this.weight, ...(this.mask ? { mask: this.mask } : {}) }];
    if (this.bias) ps.push({ name: "bias", tensor: this.bias });
    return ps;
  }

  buffers(): { name: string; tensor: Tensor }[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    if (input.length !== 1 || input[0] !== this.inFeatures) {
      throw new RangeError(`${this.describe()}: input shape ${formatShape(input)} must be [${this.inFeatures}]`);
    }
    return [this.outFeatures];
  }

  describe(): string {
    if (this.mask === null) return `Linear(${this.inFeatures} → ${this.outFeatures})`;
    let kept = 0;
    for (const v of this.mask.data) kept += v;
    return `Linear(${this.inFeatures} → ${this.outFeatures}, masked, density ${((100 * kept) / this.mask.size).toFixed(1)}%)`;
  }
}
