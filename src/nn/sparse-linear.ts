// Truly sparse fully connected layer: W is stored as CSR (only its non-zeros) and computed with sparse kernels.
//
// It computes in feature-major layout — x (in, B) → y (out, B) — so that every stored weight
// multiplies one contiguous row of the batch (SIMD along the batch). Given batch-major input it
// transposes at its boundaries; `Sequential` keeps runs of sparse layers feature-major instead.
import { activate, biasActivation } from "../autograd/ops/activation.js";
import { transpose } from "../autograd/ops/shape.js";
import { sparseMatmul, type GradientProbe } from "../autograd/ops/sparse-matmul.js";
import { fillUniform } from "../tensor/init.js";
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { empty, formatShape, keep, type Tensor } from "../tensor/tensor.js";
import type { ForwardContext, FusableLayer, FusedActivation, LayerParameter } from "./layer.js";

export interface SparseLinearOptions {
  bias?: boolean;
  rng?: Rng;
}

export class SparseLinear implements FusableLayer {
  readonly kind = "Linear";
  readonly layout = "feature-major" as const;
  /** The CSR weight (out × in). Its `values` tensor is the trainable parameter. */
  weight: SparseMatrix;
  readonly bias: Tensor | null;
  /**
   * Off (null) unless a dynamic sparsity method arms it for one step: called in backward with the
   * feature-major input x (in, B) and output gradient dY (out, B), from which RigL computes the
   * dense weight gradient dY·Xᵀ in row chunks. A data-parallel step with an armed probe runs the
   * whole batch on the main thread, so the probe sees every row (src/parallel/data-parallel.ts).
   */
  growthProbe: GradientProbe | null = null;

  /**
   * A layer with `weight` as its structure and values. Use `SparseLinear.random` for a new layer
   * with uniformly random positions at a given density.
   */
  constructor(weight: SparseMatrix, options: SparseLinearOptions = {}) {
    this.weight = weight;
    weight.values.requiresGrad = true;
    keep(weight.values);
    const rng = options.rng ?? new Rng(0, "sparse-linear");
    const bound = 1 / Math.sqrt(weight.cols);
    this.bias = options.bias === false ? null : keep(fillUniform(empty([weight.rows]), rng, -bound, bound));
    if (this.bias) this.bias.requiresGrad = true;
  }

  /**
   * A layer in → out with exactly round(density·in·out) weights at uniformly random positions,
   * initialized like a dense Linear (U(±1/√in)), so it equals a masked dense layer.
   */
  static random(inFeatures: number, outFeatures: number, density: number, options: SparseLinearOptions = {}): SparseLinear {
    if (!(density > 0 && density <= 1)) throw new RangeError(`SparseLinear: density must be in (0, 1], got ${density}`);
    const rng = options.rng ?? new Rng(0, "sparse-linear");
    const bound = 1 / Math.sqrt(inFeatures);
    const weight = SparseMatrix.random(outFeatures, inFeatures, density, rng.fork("structure"));
    fillUniform(weight.values, rng.fork("values"), -bound, bound);
    return new SparseLinear(weight, { ...options, rng: rng.fork("bias") });
  }

  /** Replaces the weight (same shape) after a structure change or a checkpoint load; the old one is disposed. */
  setSparseWeight(matrix: SparseMatrix): void {
    if (matrix.rows !== this.weight.rows || matrix.cols !== this.weight.cols) {
      throw new RangeError(`${this.describe()}: new weight is ${matrix.rows}×${matrix.cols}, expected ${this.weight.rows}×${this.weight.cols}`);
    }
    matrix.values.requiresGrad = true;
    matrix.values.name = this.weight.values.name;
    if (matrix !== this.weight) this.weight.dispose();
    this.weight = matrix;
  }

  get inFeatures(): number {
    return this.weight.cols;
  }

  get outFeatures(): number {
    return this.weight.rows;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.forwardFused(x, ctx, "identity", 0);
  }

  forwardFused(x: Tensor, ctx: ForwardContext, activation: FusedActivation, slope: number): Tensor {
    if (ctx.layout === "batch-major") {
      const y = this.forwardFused(transpose(x), { ...ctx, layout: "feature-major" }, activation, slope);
      return transpose(y);
    }
    if (x.rank !== 2 || x.shape[0] !== this.inFeatures) {
      throw new RangeError(`${this.describe()}: input ${formatShape(x.shape)} (feature-major) must be [${this.inFeatures}, batch]`);
    }
    const y = sparseMatmul(this.weight, x, this.growthProbe); // (out, B)
    return this.bias ? biasActivation(y, this.bias, activation, slope, "feature-major") : activate(y, activation, slope);
  }

  parameters(): LayerParameter[] {
    const ps: LayerParameter[] = [{ name: "weight", tensor: this.weight.values, sparse: this.weight }];
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
    return `Linear(${this.inFeatures} → ${this.outFeatures}, sparse CSR, density ${(100 * this.weight.density).toFixed(2)}%)`;
  }
}
