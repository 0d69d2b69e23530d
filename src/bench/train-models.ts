// The models `bench train --model` can time: the 784-1000-1000-1000-10 MLP and LeNet-5 (Caffe variant), each as our ModelSpec at a density.
import { planModel, weightLayerShapes, type ModelSpec } from "../nn/presets.js";

export const BENCH_MODEL_NAMES = ["mlp", "lenet-5"] as const;
export type BenchModelName = (typeof BENCH_MODEL_NAMES)[number];

export const BENCH_WIDTHS = [784, 1000, 1000, 1000, 10];
/** Both models read MNIST-shaped examples: 784 values, 10 classes. */
export const BENCH_INPUT_SIZE = 784;
export const BENCH_CLASSES = 10;

export interface BenchModel {
  name: BenchModelName;
  /** One line for the table's header, e.g. "784-1000-1000-1000-10 (ReLU)". */
  description: string;
  /** Densities our engine runs at when none are given. */
  defaultDensities: number[];
  /** Our model at `density`: every weight layer CSR at that density, or all dense at 1. */
  spec(density: number, seed?: number): ModelSpec;
}

/** Every weight layer of `spec`'s plan sparse at `density`; a density of 1 leaves the spec dense. */
function sparseEverywhere(spec: ModelSpec, density: number): ModelSpec {
  if (density >= 1) return spec;
  const weightLayers = weightLayerShapes(planModel(spec)).map((l) => String(l.index));
  return { ...spec, sparse: Object.fromEntries(weightLayers.map((k) => [k, density])) };
}

const MODELS: Record<BenchModelName, BenchModel> = {
  mlp: {
    name: "mlp",
    description: `${BENCH_WIDTHS.join("-")} (ReLU)`,
    defaultDensities: [1, 0.1, 0.05, 0.02, 0.01],
    spec: (density, seed = 0) => sparseEverywhere({
      preset: "mlp", inputShape: [BENCH_INPUT_SIZE], classes: BENCH_CLASSES,
      widths: BENCH_WIDTHS.slice(1, -1), activation: "relu", seed,
    }, density),
  },
  "lenet-5": {
    name: "lenet-5",
    description: "LeNet-5 (Caffe): conv 20@5×5, max-pool 2, conv 50@5×5, max-pool 2, fc 800-500, ReLU, fc 500-10",
    defaultDensities: [1, 0.1, 0.02],
    spec: (density, seed = 0) => sparseEverywhere({
      preset: "lenet-5", inputShape: [1, 28, 28], classes: BENCH_CLASSES, activation: "relu", seed,
    }, density),
  },
};

/** The model named `name`; anything else is a one-line error naming the allowed values. */
export function benchModel(name: string): BenchModel {
  if (!(BENCH_MODEL_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`bench train: --model must be one of ${BENCH_MODEL_NAMES.join(", ")}, got "${name}"`);
  }
  return MODELS[name as BenchModelName];
}
