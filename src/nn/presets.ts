// Named model architectures (LeNet-300-100, LeNet-5 Caffe variant, configurable MLP), any layer optionally sparse.
import { Rng } from "../tensor/rng.js";
import { Dropout, Flatten, GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from "./activations.js";
import { BatchNorm } from "./batch-norm.js";
import { Conv2d } from "./conv2d.js";
import type { Layer } from "./layer.js";
import { Linear } from "./linear.js";
import { Pool2d } from "./pool.js";
import { Sequential } from "./sequential.js";
import { SparseLinear } from "./sparse-linear.js";

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

function activationLayer(name: ActivationName): Layer {
  switch (name) {
    case "relu": return new ReLU();
    case "leaky-relu": return new LeakyReLU(0.01);
    case "tanh": return new Tanh();
    case "sigmoid": return new Sigmoid();
    case "gelu": return new GELU();
  }
}

/** Builds the model a spec describes, with weights drawn from streams named after each layer. */
export function buildModel(spec: ModelSpec): Model {
  const root = new Rng(spec.seed, "model/init");
  const layers: Layer[] = [];
  const sparse = spec.sparse ?? {};
  const used = new Set<string>();
  const density = (index: number): number | undefined => {
    const d = sparse[String(index)];
    if (d !== undefined) used.add(String(index));
    return d;
  };
  const rngFor = (index: number) => root.fork(`layers.${index}`);
  const linear = (inF: number, outF: number) => {
    const i = layers.length;
    const d = density(i);
    layers.push(d === undefined ? new Linear(inF, outF, { rng: rngFor(i) }) : SparseLinear.random(inF, outF, d, { rng: rngFor(i) }));
  };
  const act = spec.activation ?? "relu";
  const flatSize = spec.inputShape.reduce((a, b) => a * b, 1);

  const mlp = (widths: number[]) => {
    let inF = flatSize;
    for (const w of widths) {
      linear(inF, w);
      if (spec.batchNorm) layers.push(new BatchNorm(w, false));
      layers.push(activationLayer(act));
      if (spec.dropout) layers.push(new Dropout(spec.dropout));
      inF = w;
    }
    linear(inF, spec.classes);
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
      const conv = (cin: number, cout: number) => {
        const i = layers.length;
        layers.push(new Conv2d(cin, cout, { kernel: 5, density: density(i), rng: rngFor(i) }));
      };
      conv(spec.inputShape[0], 20);
      layers.push(new Pool2d("max", { kernel: 2 }));
      conv(20, 50);
      layers.push(new Pool2d("max", { kernel: 2 }));
      layers.push(new Flatten());
      const [flat] = new Sequential(layers).outputShape(spec.inputShape); // 50·4·4 = 800 for 28×28 input
      linear(flat, 500);
      layers.push(activationLayer(act));
      if (spec.dropout) layers.push(new Dropout(spec.dropout));
      linear(500, spec.classes);
      break;
    }
  }
  for (const key of Object.keys(sparse)) {
    if (!used.has(key)) {
      const weighted = layers.map((l, i) => (l.parameters().length > 0 ? i : -1)).filter((i) => i >= 0);
      throw new RangeError(`model.sparse: layer "${key}" is not a weight layer of ${spec.preset} (weight layers: ${weighted.join(", ")})`);
    }
  }
  const net = new Sequential(layers, spec.seed);
  net.outputShape(spec.preset === "lenet-5" ? spec.inputShape : [flatSize]);
  return { net, inputShape: spec.preset === "lenet-5" ? spec.inputShape : [flatSize], spec };
}
