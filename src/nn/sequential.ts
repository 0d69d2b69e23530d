// A model as a sequence of layers with PyTorch-style parameter names (layers.0.weight, …) and layout planning.
//
// Runs of layers that can compute feature-major (sparse linear layers and the elementwise layers
// around them) stay feature-major between them, so activations are transposed only where such a
// run begins and ends, not around every sparse layer. A linear layer followed by a fusable
// activation applies it inside its bias kernel; names stay those of the unfused PyTorch model.
import { transpose } from "../autograd/ops/shape.js";
import { Rng } from "../tensor/rng.js";
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { ActivationLayer } from "./activations.js";
import { isFusable, type ForwardContext, type Layer, type LayerParameter, type Layout } from "./layer.js";

export interface NamedParameter extends LayerParameter {
  /** Full name, e.g. "layers.0.weight". */
  name: string;
  layerIndex: number;
  layer: Layer;
}

export class Sequential {
  training = true;
  /** Randomness for dropout; part of the training state saved in checkpoints. */
  readonly rng: Rng;

  constructor(
    readonly layers: Layer[],
    seed = 0,
  ) {
    this.rng = new Rng(seed, "model/forward");
  }

  /** Every trainable tensor with its full name, in layer order. */
  parameters(): NamedParameter[] {
    return this.layers.flatMap((layer, layerIndex) =>
      layer.parameters().map((p) => {
        p.tensor.name = `layers.${layerIndex}.${p.name}`;
        return { ...p, name: p.tensor.name, layerIndex, layer };
      }),
    );
  }

  /** Non-trainable tensors saved with the model (batch-norm statistics), with full names. */
  buffers(): { name: string; tensor: Tensor }[] {
    return this.layers.flatMap((layer, i) => layer.buffers().map((b) => ({ name: `layers.${i}.${b.name}`, tensor: b.tensor })));
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The layout each layer computes in (elementwise layers follow their neighbours). */
  plan(): Layout[] {
    const layouts: Layout[] = [];
    let current: Layout = "batch-major";
    this.layers.forEach((layer, i) => {
      if (layer.layout !== "any") current = layer.layout;
      else if (current === "feature-major" && !this.continuesFeatureMajor(i)) current = "batch-major";
      layouts.push(current);
    });
    return layouts;
  }

  // An elementwise layer inside a feature-major run stays feature-major only if a feature-major
  // layer follows before any batch-major one (otherwise the run ends here).
  private continuesFeatureMajor(i: number): boolean {
    for (let j = i; j < this.layers.length; j++) {
      const l = this.layers[j].layout;
      if (l !== "any") return l === "feature-major";
    }
    return false;
  }

  /** Runs the model on a batch-major input (N, ...) and returns a batch-major output. */
  forward(x: Tensor): Tensor {
    const layouts = this.plan();
    let layout: Layout = "batch-major";
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      const wanted = layouts[i];
      if (wanted !== layout) {
        if (h.rank !== 2) throw new RangeError(`layers.${i} (${layer.describe()}) needs 2-D activations, got ${formatShape(h.shape)}`);
        h = transpose(h);
        layout = wanted;
      }
      const ctx: ForwardContext = { training: this.training, layout, rng: this.rng };
      const next = this.layers[i + 1];
      if (isFusable(layer) && next instanceof ActivationLayer && next.fused !== null && layouts[i + 1] === layout) {
        h = layer.forwardFused(h, ctx, next.fused, next.slope);
        i++;
      } else {
        h = layer.forward(h, ctx);
      }
    }
    return layout === "batch-major" ? h : transpose(h);
  }

  /** Output shape for an input shape without the batch dimension; errors name the layer. */
  outputShape(input: readonly number[]): number[] {
    let shape = [...input];
    this.layers.forEach((layer, i) => {
      try {
        shape = layer.outputShape(shape);
      } catch (e) {
        throw new RangeError(`layers.${i}: ${(e as Error).message}`);
      }
    });
    return shape;
  }

  /** A PyTorch-like summary, one line per layer. */
  summary(): string {
    const layouts = this.plan();
    return this.layers.map((l, i) => `  (${i}) ${l.describe()}${layouts[i] === "feature-major" ? "  [feature-major]" : ""}`).join("\n");
  }
}
