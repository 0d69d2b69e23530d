// Entry point of a data-parallel worker thread: builds a replica over the shared heap, then runs forward and backward on its rows of every batch.
//
// The heap module adopts the main thread's memory and this worker's arena from workerData before
// anything else allocates (see src/backend/heap.ts), so this file only has to drive the steps.
import { workerData, type MessagePort } from "node:worker_threads";
import { backward, zeroGrad } from "../autograd/engine.js";
import { argmax } from "../autograd/ops/reduce.js";
import { heapI32 } from "../backend/heap.js";
import { setKernelBackend, type KernelBackend } from "../backend/kernels.js";
import { trainingLoss } from "../distill/training-loss.js";
import type { Sequential } from "../nn/sequential.js";
import { Rng } from "../tensor/rng.js";
import { full, tidy } from "../tensor/tensor.js";
import { borrowTensor } from "./borrowed.js";
import { CommandKind, ControlBlock, sameLocation, WorkerState, type ParameterLocation } from "./control-block.js";
import { bindParameter, buildReplica, type LayerDescription } from "./replica.js";

/** What the main thread passes to a worker (besides `sparsetrainHeap`, read by the heap module). */
export interface WorkerInit {
  /** 1-based: the main thread is thread 0. */
  index: number;
  seed: number;
  kernelBackend: KernelBackend;
  layers: LayerDescription[];
  inputShape: number[];
  control: SharedArrayBuffer;
  parameterCount: number;
  bufferCount: number;
  /** Where the worker posts the error that stopped it. */
  errors: MessagePort;
}

const init = workerData as WorkerInit;
const control = ControlBlock.attach(init.control, init.parameterCount, init.bufferCount);

function report(error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  init.errors.postMessage({ message: e.message, stack: e.stack ?? "" });
  control.setState(WorkerState.failed);
}

/** Re-borrows every parameter whose location changed since the last step (a structure change). */
function bindChangedParameters(net: Sequential, bound: (ParameterLocation | null)[]): void {
  for (let i = 0; i < init.parameterCount; i++) {
    const location = control.readLocation(i);
    const previous = bound[i];
    if (previous !== null && sameLocation(previous, location)) continue;
    bindParameter(net, i, location);
    bound[i] = location;
  }
}

// Dropout draws from a stream tied to (seed, worker, step): deterministic, independent of the
// main thread's stream, and nothing to save in checkpoints for a resumed run to continue identically.
function stepStream(step: number): Rng {
  return new Rng(init.seed, `model/forward/worker-${init.index}/step-${step}`);
}

function runStep(net: Sequential, bound: (ParameterLocation | null)[]): void {
  const args = control.readStep();
  bindChangedParameters(net, bound);
  const parameters = net.parameters();
  zeroGrad(parameters.map((p) => p.tensor));
  net.train();
  net.rng.setState(stepStream(args.step).getState());
  const featureSize = init.inputShape.reduce((a, b) => a * b, 1);
  const labels = heapI32().subarray((args.labelsPtr >>> 2) + args.startRow, (args.labelsPtr >>> 2) + args.startRow + args.rows);
  const result = tidy(() => {
    const x = borrowTensor(args.batchPtr + args.startRow * featureSize * 4, [args.rows, ...init.inputShape]);
    const logits = net.forward(x);
    // The teacher's logits of this share's rows, when distilling: rows [startRow, startRow + rows) of the batch's.
    const classes = logits.shape[1];
    const teacher = args.teacherPtr === 0 ? undefined : {
      logits: borrowTensor(args.teacherPtr + args.startRow * classes * 4, [args.rows, classes]), temperature: args.temperature, alpha: args.alpha,
    };
    const loss = trainingLoss(logits, labels, args.labelSmoothing, teacher);
    const value = loss.item();
    // Weighting this share's mean loss by its share of the batch makes the summed gradients those of the full-batch mean.
    backward(loss, full([], args.share));
    const predicted = argmax(logits, -1);
    let correct = 0;
    for (let r = 0; r < args.rows; r++) if (predicted[r] === labels[r]) correct++;
    return { loss: value, correct };
  });
  parameters.forEach((p, i) => control.setGradientPtr(i, p.tensor.grad?.ptr ?? 0));
  control.writeResult(result.loss, result.correct);
}

function main(): void {
  let net: Sequential;
  const bound: (ParameterLocation | null)[] = new Array(init.parameterCount).fill(null);
  try {
    setKernelBackend(init.kernelBackend);
    net = buildReplica(init.layers, init.seed);
    if (net.parameters().length !== init.parameterCount) {
      throw new Error(`the replica has ${net.parameters().length} parameters, the main model ${init.parameterCount}`);
    }
    bindChangedParameters(net, bound);
    net.buffers().forEach((b, i) => control.setBufferPtr(i, b.tensor.ptr));
  } catch (error) {
    report(error);
    return;
  }
  control.setState(WorkerState.ready);
  let sequence = 0;
  for (;;) {
    const command = control.nextCommand(sequence);
    sequence = command.sequence;
    if (command.kind === CommandKind.stop) break;
    try {
      runStep(net, bound);
    } catch (error) {
      report(error);
      return;
    }
    control.finish(sequence);
  }
  control.finish(sequence);
  control.setState(WorkerState.exited);
}

process.on("exit", () => {
  if (control.state !== WorkerState.failed) control.setState(WorkerState.exited);
});
main();
