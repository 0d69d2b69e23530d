// Named model architectures (LeNet-300-100, LeNet-5 Caffe variant, configurable MLP), any weight layer optionally sparse.
//
// A preset is first planned as plain layer descriptions (so that sparsity methods can size
// per-layer densities without building anything, which matters when the dense twin would not fit
// in memory), then built.
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { Dropout, Flatten, GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from "./activations.js";
import { BatchNorm } from "./batch-norm.js";
import { Conv2d } from "./conv2d.js";
import type { Layer } from "./layer.js";
import { Linear } from "./linear.js";
import { Pool2d } from "./pool.js";
import { Sequential } from "./sequential.js";
import { SparseLinear } from "./sparse-linear.js";

/** A weight layer of a planned model: index in the Sequential and PyTorch weight shape ([out, in] or [Cout, Cin, k, k]). */
export interface WeightLayerShape {
  index: number;
  kind: "Linear" | "Conv2d";
  shape: number[];
}

export type ActivationName = "relu" | "leaky-relu" | "tanh" | "sigmoid" | "gelu";

export interface ModelSpec {
  preset: "lenet-300-100" | "lenet-5" | "mlp";
  /** Input shape without the batch dimension, e.g. [1, 28, 28]. */
  inputShape: number[];
  classes: number;
  /** Hidden widths for "mlp". */
  widths?: number[];
  activation?: ActivationName;
  dropout?: number;
  batchNorm?: boolean;
  /** Density per weight layer, keyed by layer index in the Sequential ("0", "2", …): those layers are built sparse. */
  sparse?: Record<string, number>;
  seed: number;
}

/** A model with its input shape: batches are viewed as (N, ...inputShape) before the first layer. */
export interface Model {
  net: Sequential;
  inputShape: number[];
  spec: ModelSpec;
}

/** A layer before it is built. */
export type LayerPlan =
  | { kind: "linear"; inFeatures: number; outFeatures: number }
  | { kind: "conv"; inChannels: number; outChannels: number; kernel: number }
  | { kind: "activation"; name: ActivationName }
  | { kind: "batchnorm"; channels: number; spatial: boolean }
  | { kind: "dropout"; p: number }
  | { kind: "maxpool"; kernel: number }
  | { kind: "flatten" };

/** The layers of a preset, in order, without building them. */
export function planModel(spec: ModelSpec): LayerPlan[] {
  const plan: LayerPlan[] = [];
  const act = spec.activation ?? "relu";
  const flatSize = spec.inputShape.reduce((a, b) => a * b, 1);
  const mlp = (widths: number[]) => {
    let inF = flatSize;
    for (const w of widths) {
      plan.push({ kind: "linear", inFeatures: inF, outFeatures: w });
      if (spec.batchNorm) plan.push({ kind: "batchnorm", channels: w, spatial: false });
      plan.push({ kind: "activation", name: act });
      if (spec.dropout) plan.push({ kind: "dropout", p: spec.dropout });
      inF = w;
    }
    plan.push({ kind: "linear", inFeatures: inF, outFeatures: spec.classes });
  };
  switch (spec.preset) {
    case "lenet-300-100":
      mlp([300, 100]);
      break;
    case "mlp":
      if (!spec.widths || spec.widths.length === 0) throw new RangeError('model "mlp" needs widths, e.g. [1000, 1000]');
      mlp(spec.widths);
      break;
    case "lenet-5": {
      if (spec.inputShape.length !== 3) throw new RangeError(`model "lenet-5" needs image input [C, H, W], got [${spec.inputShape}]`);
      const [c, h, w] = spec.inputShape;
      // Two valid 5×5 convolutions, each followed by 2×2 max pooling.
      const side = (n: number) => Math.floor((Math.floor((n - 4) / 2) - 4) / 2);
      if (side(h) < 1 || side(w) < 1) throw new RangeError(`model "lenet-5": input ${h}×${w} is too small (needs at least 16×16)`);
      plan.push({ kind: "conv", inChannels: c, outChannels: 20, kernel: 5 }, { kind: "maxpool", kernel: 2 });
      plan.push({ kind: "conv", inChannels: 20, outChannels: 50, kernel: 5 }, { kind: "maxpool", kernel: 2 }, { kind: "flatten" });
      plan.push({ kind: "linear", inFeatures: 50 * side(h) * side(w), outFeatures: 500 }, { kind: "activation", name: act });
      if (spec.dropout) plan.push({ kind: "dropout", p: spec.dropout });
      plan.push({ kind: "linear", inFeatures: 500, outFeatures: spec.classes });
      break;
    }
  }
  return plan;
}

/** Index and PyTorch weight shape of every weight layer of a plan. */
export function weightLayerShapes(plan: LayerPlan[]): WeightLayerShape[] {
  return plan.flatMap((l, index): WeightLayerShape[] => {
    if (l.kind === "linear") return [{ index, kind: "Linear", shape: [l.outFeatures, l.inFeatures] }];
    if (l.kind === "conv") return [{ index, kind: "Conv2d", shape: [l.outChannels, l.inChannels, l.kernel, l.kernel] }];
    return [];
  });
}

function activationLayer(name: ActivationName): Layer {
  switch (name) {
    case "relu": return new ReLU();
    case "leaky-relu": return new LeakyReLU(0.01);
    case "tanh": return new Tanh();
    case "sigmoid": return new Sigmoid();
    case "gelu": return new GELU();
  }
}

export interface BuildOptions {
  /**
   * "random" (default): sparse Linear layers get round(density·in·out) uniformly random positions.
   * "empty": they store nothing, for a model whose weights are about to be loaded (a checkpoint
   * holds the structure), so loading costs O(nnz) and draws nothing it would throw away. Sparse
   * convolutions are small and are drawn either way.
   */
  sparseStructure?: "random" | "empty";
}

/** Builds the model a spec describes, with weights drawn from streams named after each layer. */
export function buildModel(spec: ModelSpec, options: BuildOptions = {}): Model {
  const plan = planModel(spec);
  const sparse = spec.sparse ?? {};
  const weighted = weightLayerShapes(plan).map((l) => String(l.index));
  for (const key of Object.keys(sparse)) {
    if (!weighted.includes(key)) throw new RangeError(`model.sparse: layer "${key}" is not a weight layer of ${spec.preset} (weight layers: ${weighted.join(", ")})`);
  }
  const root = new Rng(spec.seed, "model/init");
  const layers = plan.map((l, i): Layer => {
    const rng = root.fork(`layers.${i}`);
    const density = sparse[String(i)];
    switch (l.kind) {
      case "linear":
        if (density === undefined) return new Linear(l.inFeatures, l.outFeatures, { rng });
        if (!(density > 0 && density <= 1)) throw new RangeError(`model.sparse: layer "${i}" density must be in (0, 1], got ${density}`);
        return options.sparseStructure === "empty"
          ? new SparseLinear(SparseMatrix.empty(l.outFeatures, l.inFeatures), { rng })
          : SparseLinear.random(l.inFeatures, l.outFeatures, density, { rng });
      case "conv":
        return new Conv2d(l.inChannels, l.outChannels, { kernel: l.kernel, density, rng });
      case "activation": return activationLayer(l.name);
      case "batchnorm": return new BatchNorm(l.channels, l.spatial);
      case "dropout": return new Dropout(l.p);
      case "maxpool": return new Pool2d("max", { kernel: l.kernel });
      case "flatten": return new Flatten();
    }
  });
  const inputShape = spec.preset === "lenet-5" ? spec.inputShape : [spec.inputShape.reduce((a, b) => a * b, 1)];
  const net = new Sequential(layers, spec.seed);
  net.outputShape(inputShape);
  return { net, inputShape, spec };
}
