// Max and average pooling layers over (N, C, H, W).
import { avgPool2d, maxPool2d } from "../autograd/ops/pool.js";
import { formatShape, type Tensor } from "../tensor/tensor.js";
import type { Layer, LayerParameter } from "./layer.js";

export interface PoolOptions {
  kernel: number;
  stride?: number;
  padding?: number;
}

export class Pool2d implements Layer {
  readonly kind: "MaxPool2d" | "AvgPool2d";
  readonly layout = "batch-major" as const;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;

  constructor(readonly mode: "max" | "avg", options: PoolOptions) {
    this.kind = mode === "max" ? "MaxPool2d" : "AvgPool2d";
    this.kernel = options.kernel;
    this.stride = options.stride ?? options.kernel;
    this.padding = options.padding ?? 0;
    for (const [k, v, min] of [["kernel", this.kernel, 1], ["stride", this.stride, 1], ["padding", this.padding, 0]] as const) {
      if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`${this.kind}: ${k} must be an integer >= ${min}, got ${v}`);
    }
  }

  forward(x: Tensor): Tensor {
    const f = this.mode === "max" ? maxPool2d : avgPool2d;
    return f(x, this.kernel, this.stride, this.padding);
  }

  parameters(): LayerParameter[] {
    return [];
  }

  buffers(): { name: string; tensor: Tensor }[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    const [c, h, w] = input;
    const out = (n: number) => Math.floor((n + 2 * this.padding - this.kernel) / this.stride) + 1;
    if (input.length !== 3 || out(h) < 1 || out(w) < 1) {
      throw new RangeError(`${this.describe()}: input shape ${formatShape(input)} must be [C, H, W] with H, W >= ${this.kernel - 2 * this.padding}`);
    }
    return [c, out(h), out(w)];
  }

  describe(): string {
    return `${this.kind}(kernel=${this.kernel}, stride=${this.stride}${this.padding ? `, padding=${this.padding}` : ""})`;
  }
}
