// Evaluation of a model on a dataset: mean loss, accuracy and confusion matrix, without gradients.
import { noGrad } from "../autograd/engine.js";
import { crossEntropy } from "../autograd/ops/loss.js";
import { argmax } from "../autograd/ops/reduce.js";
import { BatchLoader } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import type { Model } from "../nn/presets.js";
import { tensor, tidy } from "../tensor/tensor.js";

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
  /** confusion[true][predicted] */
  confusion: number[][];
}

/** Evaluates `model` on every example of `data` in eval mode (the model's training flag is restored after). */
export function evaluate(model: Model, data: Dataset, batchSize = 1000): Evaluation {
  const wasTraining = model.net.training;
  model.net.eval();
  const classes = data.classCount;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let correct = 0;
  try {
    noGrad(() => {
      for (const batch of new BatchLoader(data, { batchSize }).epoch(0)) {
        tidy(() => {
          const x = tensor(batch.features, [batch.size, ...model.inputShape]);
          const logits = model.net.forward(x);
          lossSum += crossEntropy(logits, batch.labels, { reduction: "sum" }).item();
          const predicted = argmax(logits, -1);
          for (let r = 0; r < batch.size; r++) {
            confusion[batch.labels[r]][predicted[r]]++;
            if (predicted[r] === batch.labels[r]) correct++;
          }
        });
      }
    });
  } finally {
    model.net.train(wasTraining);
  }
  const count = data.length;
  return { loss: lossSum / Math.max(1, count), accuracy: correct / Math.max(1, count), count, confusion };
}
