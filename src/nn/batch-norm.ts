// Batch normalization over (N, C) or (N, C, H, W) inputs with learnable scale and shift and running statistics.
import { batchNorm } from "../autograd/ops/batch-norm.js";
import { formatShape, full, keep, zeros, type Tensor } from "../tensor/tensor.js";
import type { ForwardContext, Layer, LayerParameter } from "./layer.js";

export class BatchNorm implements Layer {
  readonly kind: "BatchNorm1d" | "BatchNorm2d";
  readonly layout = "batch-major" as const;
  readonly weight: Tensor; // γ (C)
  readonly bias: Tensor; // β (C)
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** Number of training batches seen (PyTorch's num_batches_tracked). */
  readonly batchesTracked: Tensor;

  constructor(
    readonly channels: number,
    readonly spatial: boolean,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    if (!(Number.isInteger(channels) && channels > 0)) throw new RangeError(`BatchNorm: channels must be a positive integer, got ${channels}`);
    this.kind = spatial ? "BatchNorm2d" : "BatchNorm1d";
    this.weight = keep(full([channels], 1));
    this.bias = keep(zeros([channels]));
    this.weight.requiresGrad = this.bias.requiresGrad = true;
    this.runningMean = keep(zeros([channels]));
    this.runningVar = keep(full([channels], 1));
    this.batchesTracked = keep(zeros([1]));
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const rank = this.spatial ? 4 : 2;
    if (x.rank !== rank || x.shape[1] !== this.channels) {
      throw new RangeError(`${this.describe()}: input ${formatShape(x.shape)} must be ${this.spatial ? "[N, C, H, W]" : "[N, C]"} with C = ${this.channels}`);
    }
    if (ctx.training) this.batchesTracked.data[0]++;
    return batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: ctx.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }

  parameters(): LayerParameter[] {
    return [
      { name: "weight", tensor: this.weight },
      { name: "bias", tensor: this.bias },
    ];
  }

  buffers(): { name: string; tensor: Tensor }[] {
    return [
      { name: "running_mean", tensor: this.runningMean },
      { name: "running_var", tensor: this.runningVar },
      { name: "num_batches_tracked", tensor: this.batchesTracked },
    ];
  }

  outputShape(input: readonly number[]): number[] {
    return [...input];
  }

  describe(): string {
    return `${this.kind}(${this.channels})`;
  }
}
