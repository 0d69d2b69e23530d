// Parameter-free layers: activations (ReLU, LeakyReLU, Tanh, Sigmoid, GELU), Dropout and Flatten.
import { gelu, leakyRelu, relu, sigmoid, tanh } from "../autograd/ops/activation.js";
import { dropout } from "../autograd/ops/dropout.js";
import { flatten } from "../autograd/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import type { ForwardContext, FusedActivation, Layer, LayerParameter } from "./layer.js";

abstract class StatelessLayer implements Layer {
  abstract readonly kind: string;
  readonly layout: Layer["layout"] = "any";
  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;
  parameters(): LayerParameter[] {
    return [];
  }
  buffers(): { name: string; tensor: Tensor }[] {
    return [];
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  describe(): string {
    return `${this.kind}()`;
  }
}

/** An elementwise activation layer; `fused` names the kernel a preceding linear layer can apply for it. */
export abstract class ActivationLayer extends StatelessLayer {
  abstract readonly fused: FusedActivation | null;
  readonly slope: number = 0;
}

export class ReLU extends ActivationLayer {
  readonly kind = "ReLU";
  readonly fused = "relu" as const;
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class LeakyReLU extends ActivationLayer {
  readonly kind = "LeakyReLU";
  readonly fused = "leaky-relu" as const;
  constructor(override readonly slope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
  override describe(): string {
    return `LeakyReLU(${this.slope})`;
  }
}

export class Tanh extends ActivationLayer {
  readonly kind = "Tanh";
  readonly fused = "tanh" as const;
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends ActivationLayer {
  readonly kind = "Sigmoid";
  readonly fused = "sigmoid" as const;
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class GELU extends ActivationLayer {
  readonly kind = "GELU";
  readonly fused = null;
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

/** Inverted dropout: zeroes each activation with probability p in training and scales the rest by 1/(1−p). */
export class Dropout extends StatelessLayer {
  readonly kind = "Dropout";
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return dropout(x, this.p, ctx.rng, ctx.training);
  }
  override describe(): string {
    return `Dropout(p=${this.p})`;
  }
}

/** Flattens every dimension after the batch: (N, C, H, W) → (N, C·H·W). */
export class Flatten extends StatelessLayer {
  readonly kind = "Flatten";
  override readonly layout = "batch-major" as const;
  forward(x: Tensor): Tensor {
    return flatten(x, 1);
  }
  override outputShape(input: readonly number[]): number[] {
    return [input.reduce((a, b) => a * b, 1)];
  }
}
