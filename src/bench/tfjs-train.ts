// The dense MLP trained with TensorFlow.js (wasm backend): its own forward, tf.variableGrads-based minimize and momentum SGD, for `bench train`.
import { loadTfjsWasm, type TfjsPackages } from "./tfjs-peer.js";

type Tf = typeof import("@tensorflow/tfjs-core");
type TfTensor2D = import("@tensorflow/tfjs-core").Tensor2D;
type TfVariable = import("@tensorflow/tfjs-core").Variable;
type TfScalar = import("@tensorflow/tfjs-core").Scalar;
type TfTensor = import("@tensorflow/tfjs-core").Tensor;

export interface TfjsTrainerOptions {
  /** Layer widths, input first, e.g. [784, 1000, 1000, 1000, 10]; ReLU between layers. */
  widths: number[];
  lr: number;
  momentum: number;
  seed: number;
  /** Where TensorFlow.js is imported from (default the real packages). */
  packages?: TfjsPackages;
}

/** A batch already uploaded to TensorFlow.js: inputs (B, in) and one-hot labels (B, classes). */
export interface TfjsBatch {
  x: TfTensor2D;
  oneHot: TfTensor2D;
}

export interface TfjsTrainer {
  tf: Tf;
  version: string;
  threads: number;
  /** Uploads a batch (batch-major features, class indices). */
  batch(features: Float32Array, labels: Int32Array, batchSize: number): TfjsBatch;
  /** One training step: forward, cross-entropy, gradients, momentum update; returns the loss. */
  step(batch: TfjsBatch): number;
  dispose(): void;
}

/** The same model and optimizer as PyTorch's nn.Linear stack with torch.optim.SGD(momentum). */
export async function createTfjsTrainer({ widths, lr, momentum, seed, packages }: TfjsTrainerOptions): Promise<TfjsTrainer> {
  const { tf, version, threads } = await loadTfjsWasm(packages);
  registerGradients(tf);
  const weights: TfVariable[] = [];
  const biases: TfVariable[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    // PyTorch's default init, U(±1/√in), stored as (in, out) so the forward is x·W without a transpose.
    const bound = 1 / Math.sqrt(widths[i]);
    weights.push(tf.variable(tf.randomUniform([widths[i], widths[i + 1]], -bound, bound, "float32", seed + i)));
    biases.push(tf.variable(tf.randomUniform([widths[i + 1]], -bound, bound, "float32", seed + 100 + i)));
  }
  const optimizer = tf.train.momentum(lr, momentum);
  // y = x·W + b as one custom op: the forward is tf.fused.matMul (one XNNPACK call in the wasm
  // backend); the backward transposes explicitly, because tfjs-wasm's matMul with a transpose flag
  // (what fused.matMul's own gradient uses) runs at ~3 GFLOP/s against ~23–36 GFLOP/s for
  // transpose + plain matMul (measured here on 128×1000×1000): ~844 ms/step against ~110.
  const linear = tf.customGrad(((x: TfTensor2D, w: TfTensor2D, b: TfTensor, save: (t: TfTensor[]) => void) => {
    save([x, w]);
    return {
      value: tf.fused.matMul({ a: x, b: w, bias: b }),
      gradFunc: (dy: TfTensor2D, [savedX, savedW]: TfTensor2D[]) => [
        tf.matMul(dy, tf.transpose(savedW)), // dx = dy·Wᵀ  (B, in)
        tf.matMul(tf.transpose(savedX), dy), // dW = xᵀ·dy  (in, out)
        tf.sum(dy, 0), // db (out)
      ],
    };
  }) as never) as unknown as (x: TfTensor2D, w: TfTensor2D, b: TfTensor) => TfTensor2D;
  const forward = (x: TfTensor2D): TfTensor2D => {
    let h = x;
    for (let i = 0; i < weights.length; i++) {
      h = linear(h, weights[i] as TfTensor2D, biases[i]);
      if (i + 1 < weights.length) h = tf.relu(h);
    }
    return h;
  };
  // Mean softmax cross-entropy with its usual gradient (softmax − one-hot) / B, as one custom op.
  const crossEntropy = tf.customGrad(((logits: TfTensor2D, oneHot: TfTensor2D, save: (t: TfTensor2D[]) => void) => {
    save([logits, oneHot]);
    return {
      value: tf.losses.softmaxCrossEntropy(oneHot, logits) as TfScalar,
      gradFunc: (dy: TfScalar, [savedLogits, savedOneHot]: TfTensor2D[]) => {
        const scale = tf.div(dy, savedLogits.shape[0]);
        return [tf.mul(tf.sub(tf.softmax(savedLogits), savedOneHot), scale), tf.zerosLike(savedOneHot)];
      },
    };
  }) as never) as unknown as (logits: TfTensor2D, oneHot: TfTensor2D) => TfScalar;
  return {
    tf, version, threads,
    batch(features, labels, batchSize) {
      return {
        x: tf.tensor2d(features, [batchSize, widths[0]]),
        oneHot: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), widths[widths.length - 1]), "float32") as TfTensor2D),
      };
    },
    step({ x, oneHot }) {
      // minimize = variableGrads + applyGradients.
      const loss = optimizer.minimize(() => crossEntropy(forward(x), oneHot), true) as TfScalar;
      const value = loss.dataSync()[0];
      loss.dispose();
      return value;
    },
    dispose() {
      for (const v of [...weights, ...biases]) v.dispose();
      optimizer.dispose();
    },
  };
}

/**
 * tfjs-core ships its gradient functions only as side-effect modules that Node cannot import (the
 * @tensorflow/tfjs bundle registers them). The step needs two, registered here as tfjs defines
 * them: Reshape (fused matMul reshapes its operands to 3-D), dx = reshape(dy, x.shape); and Relu,
 * dx = dy · step(x).
 */
function registerGradients(tf: Tf): void {
  tf.registerGradient({
    kernelName: "Reshape",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as TfTensor, saved[0].shape) }),
  });
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as TfTensor, tf.step(saved[0])) }),
  });
}
