// 2-D convolution layer over (N, C, H, W): dense weights (optionally masked) or a CSR filter matrix.
//
// The sparse path stores the filters as a CSR matrix (Cout × Cin·kh·kw) and multiplies it with
// the im2col patch matrix (Cin·kh·kw × N·Ho·Wo) using the sparse kernels, SIMD along positions.
import { mul } from "../autograd/ops/arithmetic.js";
import { conv2d } from "../autograd/ops/conv.js";
import { sparseConv2d } from "../autograd/ops/sparse-conv.js";
import { fillUniform } from "../tensor/init.js";
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { empty, formatShape, keep, type Tensor } from "../tensor/tensor.js";
import { applyWeightMask } from "./weight-mask.js";
import type { Layer, LayerParameter } from "./layer.js";

export interface Conv2dOptions {
  kernel: number;
  stride?: number;
  padding?: number;
  bias?: boolean;
  /** Store the filters as CSR with this density (random positions); omit for a dense layer. */
  density?: number;
  rng?: Rng;
}

export class Conv2d implements Layer {
  readonly kind = "Conv2d";
  readonly layout = "batch-major" as const;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  /** Dense filters (Cout, Cin, k, k), or null when the layer is sparse. */
  readonly weight: Tensor | null;
  /** Sparse filters as CSR (Cout × Cin·k·k), or null when the layer is dense. */
  sparseWeight: SparseMatrix | null;
  readonly bias: Tensor | null;
  mask: Tensor | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: Conv2dOptions,
  ) {
    this.kernel = options.kernel;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    for (const [k, v, min] of [
      ["inChannels", inChannels, 1], ["outChannels", outChannels, 1], ["kernel", this.kernel, 1],
      ["stride", this.stride, 1], ["padding", this.padding, 0],
    ] as const) {
      if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`Conv2d: ${k} must be an integer >= ${min}, got ${v}`);
    }
    const rng = options.rng ?? new Rng(0, "conv2d");
    const fanIn = inChannels * this.kernel * this.kernel;
    const bound = 1 / Math.sqrt(fanIn); // PyTorch's default (kaiming_uniform with a = √5)
    if (options.density === undefined) {
      this.weight = keep(fillUniform(empty([outChannels, inChannels, this.kernel, this.kernel]), rng.fork("weight"), -bound, bound));
      this.weight.requiresGrad = true;
      this.sparseWeight = null;
    } else {
      if (!(options.density > 0 && options.density <= 1)) throw new RangeError(`Conv2d: density must be in (0, 1], got ${options.density}`);
      this.weight = null;
      this.sparseWeight = SparseMatrix.random(outChannels, fanIn, options.density, rng.fork("structure"));
      fillUniform(this.sparseWeight.values, rng.fork("weight"), -bound, bound);
      this.sparseWeight.values.requiresGrad = true;
      keep(this.sparseWeight.values);
    }
    this.bias = options.bias === false ? null : keep(fillUniform(empty([outChannels]), rng.fork("bias"), -bound, bound));
    if (this.bias) this.bias.requiresGrad = true;
  }

  /** Replaces the sparse filters (same shape) after a structure change or a checkpoint load. */
  setSparseWeight(matrix: SparseMatrix): void {
    const old = this.sparseWeight;
    if (old === null) throw new Error(`${this.describe()} is dense; it has no sparse weight to replace`);
    if (matrix.rows !== old.rows || matrix.cols !== old.cols) {
      throw new RangeError(`${this.describe()}: new weight is ${matrix.rows}×${matrix.cols}, expected ${old.rows}×${old.cols}`);
    }
    matrix.values.requiresGrad = true;
    matrix.values.name = old.values.name;
    if (matrix !== old) old.dispose();
    this.sparseWeight = matrix;
  }

  /** Dense weight shape as PyTorch sees it: (Cout, Cin, k, k). */
  get weightShape(): number[] {
    return [this.outChannels, this.inChannels, this.kernel, this.kernel];
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new RangeError(`${this.describe()}: input ${formatShape(x.shape)} must be [N, ${this.inChannels}, H, W]`);
    }
    const opts = { stride: this.stride, padding: this.padding };
    if (this.sparseWeight !== null) return sparseConv2d(x, this.sparseWeight, this.kernel, this.bias ?? undefined, opts);
    const w = this.mask === null ? this.weight! : mul(this.weight!, this.mask);
    return conv2d(x, w, this.bias ?? undefined, opts);
  }

  /**
   * Fixes a binary mask (the weight's shape) on the dense filters, zeroing the masked weights; null
   * removes it. The layer keeps `mask` (the caller must not dispose it) and frees a previous one.
   */
  setMask(mask: Tensor | null): void {
    if (this.weight === null) throw new RangeError(`${this.describe()}: a sparse (CSR) convolution cannot hold a mask`);
    if (mask !== null) applyWeightMask("Conv2d.setMask", this.weight, mask);
    if (this.mask !== mask) this.mask?.dispose();
    this.mask = mask;
  }

  parameters(): LayerParameter[] {
    const ps: LayerParameter[] = this.sparseWeight
      ? [{ name: "weight", tensor: this.sparseWeight.values, sparse: this.sparseWeight }]
      : [{ name: "weight", tensor: this.weight!, ...(this.mask ? { mask: this.mask } : {}) }];
    if (this.bias) ps.push({ name: "bias", tensor: this.bias });
    return ps;
  }

  buffers(): { name: string; tensor: Tensor }[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    const out = (n: number) => Math.floor((n + 2 * this.padding - this.kernel) / this.stride) + 1;
    if (input.length !== 3 || input[0] !== this.inChannels || out(input[1]) < 1 || out(input[2]) < 1) {
      throw new RangeError(`${this.describe()}: input shape ${formatShape(input)} must be [${this.inChannels}, H, W] with H, W >= ${this.kernel - 2 * this.padding}`);
    }
    return [this.outChannels, out(input[1]), out(input[2])];
  }

  describe(): string {
    const base = `Conv2d(${this.inChannels} → ${this.outChannels}, kernel ${this.kernel}, stride ${this.stride}${this.padding ? `, padding ${this.padding}` : ""}`;
    return this.sparseWeight ? `${base}, sparse CSR, density ${(100 * this.sparseWeight.density).toFixed(2)}%)` : `${base})`;
  }
}
