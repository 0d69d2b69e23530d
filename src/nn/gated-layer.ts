// A weight layer wrapped with learnable gates, per weight or per output neuron (filter), and the folding of its gates into the weights.
//
// Per weight, the layer computes with W ⊙ z (z shaped like W). Per neuron, it multiplies the layer's
// output, bias included, by z (one gate per output feature or filter), which equals gating the
// rows of W and the bias: y_i = z_i·(W_i·x + b_i). Folding (w ← w·z with the deterministic gates)
// therefore gives a plain layer with the same outputs as the gated one at test time.
import { activate, biasActivation } from "../autograd/ops/activation.js";
import { mul } from "../autograd/ops/arithmetic.js";
import { conv2d } from "../autograd/ops/conv.js";
import { linearOp, matmul } from "../autograd/ops/matmul.js";
import { reshape } from "../autograd/ops/shape.js";
import { Conv2d } from "./conv2d.js";
import type { ForwardContext, FusableLayer, FusedActivation, Layer, LayerParameter } from "./layer.js";
import { Linear } from "./linear.js";
import { SparseLinear } from "./sparse-linear.js";
import type { Rng } from "../tensor/rng.js";
import { empty, keep, tensor, type Tensor } from "../tensor/tensor.js";
import type { GateKind } from "./gates.js";

export type GatedWeightLayer = Linear | SparseLinear | Conv2d;
export type GateGranularity = "weight" | "neuron";

export function isGatableLayer(layer: Layer): layer is GatedWeightLayer {
  return layer instanceof Linear || layer instanceof SparseLinear || layer instanceof Conv2d;
}

export function isStoredAsCsr(layer: GatedWeightLayer): boolean {
  return layer instanceof SparseLinear || (layer instanceof Conv2d && layer.sparseWeight !== null);
}

function outputsOf(layer: GatedWeightLayer): number {
  return layer instanceof Conv2d ? layer.outChannels : layer.outFeatures;
}

export class GatedLayer implements FusableLayer {
  readonly kind: string;
  readonly layout: FusableLayer["layout"];
  /** The gate parameter: shaped like the weight (per weight) or [outputs] (per neuron). */
  readonly gateParameter: Tensor;
  /**
   * Stochastic gates in data-parallel training: the uniform draws of the next training forward
   * pass, in the heap so that every thread gates its rows of the batch alike (null until needed).
   */
  private noise: Tensor | null = null;
  /** "drawn": the next training forward pass uses `noise` once; "shared": every one does (a replica's). */
  private noiseUse: "none" | "drawn" | "shared" = "none";

  constructor(
    readonly inner: GatedWeightLayer,
    readonly gateKind: GateKind,
    readonly granularity: GateGranularity,
    rng: Rng,
    /** For messages: the layer's name in the model, e.g. "layers.0". */
    readonly label = "layer",
  ) {
    if (granularity === "weight" && isStoredAsCsr(inner)) {
      throw new RangeError(`${label}: per-weight gates need a dense layer, and ${inner.describe()} is stored as CSR; use granularity: neuron`);
    }
    this.kind = inner.kind;
    this.layout = inner.layout;
    const shape = granularity === "neuron" ? [outputsOf(inner)] : denseWeight(inner as Linear | Conv2d).shape;
    const count = shape.reduce((a, b) => a * b, 1);
    this.gateParameter = keep(tensor(gateKind.initialValues(count, rng), shape));
    this.gateParameter.requiresGrad = true;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.forwardFused(x, ctx, "identity", 0);
  }

  /** The heap tensor that holds drawn noise, one value per gate (allocated on first use). */
  noiseTensor(): Tensor {
    if (this.noise === null) this.noise = keep(empty([this.gateParameter.size]));
    return this.noise;
  }

  /**
   * Draws the next training forward pass's noise from `rng` now, as that pass would have: data-
   * parallel training draws it before the threads start, and the replicas read it (`shareNoise`).
   */
  drawNoise(rng: Rng): void {
    if (!this.gateKind.stochastic || this.noiseUse === "shared") return;
    const noise = this.noiseTensor().data;
    for (let i = 0; i < noise.length; i++) noise[i] = rng.uniform();
    this.noiseUse = "drawn";
  }

  /** A replica's layer: every training forward pass uses `noise` (the main thread's, drawn by `drawNoise`). */
  shareNoise(noise: Tensor): void {
    if (noise.size !== this.gateParameter.size) throw new RangeError(`${this.label}: ${noise.size} noise values for ${this.gateParameter.size} gates`);
    this.noise?.dispose();
    this.noise = noise;
    this.noiseUse = "shared";
  }

  /** Frees the noise tensor (the layer is being replaced). */
  disposeNoise(): void {
    this.noise?.dispose();
    this.noise = null;
    this.noiseUse = "none";
  }

  private uniforms(ctx: ForwardContext): Float32Array | undefined {
    if (!ctx.training || this.noiseUse === "none") return undefined;
    if (this.noiseUse === "drawn") this.noiseUse = "none";
    return this.noise!.data;
  }

  forwardFused(x: Tensor, ctx: ForwardContext, activation: FusedActivation, slope: number): Tensor {
    const z = this.gateKind.gate(this.gateParameter, ctx, this.uniforms(ctx));
    if (this.granularity === "neuron") return activate(this.gateOutputs(this.inner.forward(x, ctx), z, ctx), activation, slope);
    const inner = this.inner as Linear | Conv2d;
    const masked = inner.mask === null ? denseWeight(inner) : mul(denseWeight(inner), inner.mask);
    const w = mul(masked, z);
    const bias = inner.bias ?? undefined;
    if (inner instanceof Conv2d) return activate(conv2d(x, w, bias, { stride: inner.stride, padding: inner.padding }), activation, slope);
    if (ctx.layout === "batch-major") {
      if (activation === "identity") return linearOp(x, w, bias); // (B, out)
      const y = linearOp(x, w);
      return bias ? biasActivation(y, bias, activation, slope, "batch-major") : activate(y, activation, slope);
    }
    const y = matmul(w, x); // (out, in)·(in, B) = (out, B)
    return bias ? biasActivation(y, bias, activation, slope, "feature-major") : activate(y, activation, slope);
  }

  /** y ⊙ z along the output feature (channel) axis of y in its layout. */
  private gateOutputs(y: Tensor, z: Tensor, ctx: ForwardContext): Tensor {
    const n = z.size;
    if (this.inner instanceof Conv2d) return mul(y, reshape(z, [n, 1, 1])); // (N, C, H, W)
    return ctx.layout === "feature-major" ? mul(y, reshape(z, [n, 1])) : mul(y, z); // (out, B) or (B, out)
  }

  parameters(): LayerParameter[] {
    return [...this.inner.parameters(), { name: this.gateKind.parameterName, tensor: this.gateParameter }];
  }

  buffers(): { name: string; tensor: Tensor }[] {
    return this.inner.buffers();
  }

  outputShape(input: readonly number[]): number[] {
    return this.inner.outputShape(input);
  }

  /** Fraction of gates open (non-zero) at test time. */
  openFraction(): number {
    const z = this.gateKind.deterministic(this.gateParameter.data);
    let open = 0;
    for (const v of z) if (v !== 0) open++;
    return open / z.length;
  }

  describe(): string {
    const kind = this.gateKind.name === "hard-concrete" ? "L0 hard-concrete" : "sigmoid";
    return `${this.inner.describe()} with ${kind} gates per ${this.granularity} (${(100 * this.openFraction()).toFixed(1)}% open)`;
  }
}

function denseWeight(layer: Linear | Conv2d): Tensor {
  if (layer.weight === null) throw new Error(`${layer.describe()} has no dense weight`);
  return layer.weight;
}

/**
 * Multiplies the inner layer's weights (and, per neuron, its bias) by the deterministic gates and
 * returns the inner layer; gates that are 0 leave exact zeros. The gate parameter is detached from
 * autograd (no gradient, none required) but not freed: an optimizer may still list it.
 */
export function foldGates(gated: GatedLayer): GatedWeightLayer {
  const z = gated.gateKind.deterministic(gated.gateParameter.data);
  const inner = gated.inner;
  // NOTE: a closed gate assigns 0 rather than multiplying: −w·0 would leave −0 in the checkpoint.
  const gate = (w: number, g: number) => (g === 0 ? 0 : w * g);
  if (gated.granularity === "weight") {
    const w = denseWeight(inner as Linear | Conv2d).data;
    for (let i = 0; i < w.length; i++) w[i] = gate(w[i], z[i]);
  } else if (isStoredAsCsr(inner)) {
    const m = inner instanceof SparseLinear ? inner.weight : (inner as Conv2d).sparseWeight!;
    const rowPtr = m.rowPtr, values = m.values.data;
    for (let r = 0; r < m.rows; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) values[p] = gate(values[p], z[r]);
  } else {
    const w = denseWeight(inner as Linear | Conv2d).data;
    const perRow = w.length / z.length;
    for (let i = 0; i < w.length; i++) w[i] = gate(w[i], z[Math.floor(i / perRow)]);
  }
  if (gated.granularity === "neuron" && inner.bias) {
    const b = inner.bias.data;
    for (let i = 0; i < b.length; i++) b[i] = gate(b[i], z[i]);
  }
  gated.disposeNoise();
  gated.gateParameter.grad?.dispose();
  gated.gateParameter.grad = null;
  gated.gateParameter.requiresGrad = false;
  return inner;
}
