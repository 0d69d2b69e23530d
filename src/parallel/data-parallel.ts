// Data-parallel training steps over worker threads that share the main thread's WebAssembly heap: one join per step, gradients summed in a fixed order.
//
// The main thread owns the parameters and the optimizer. Each worker holds a replica of the model
// whose parameters are views of the main thread's storage (no copies) and its own gradients in a
// private arena of the same memory. A step: the main thread publishes where every parameter lives
// (so replicas follow structure changes), writes the labels, signals the workers, computes its own
// rows, waits for the workers, then adds their gradients to its own, worker by worker. Each share
// of the batch weights its mean loss by its fraction of the rows, so the sum is the gradient of
// the full-batch mean loss; only the float summation order differs from a one-thread step.
//
// Sparsity methods change models in two ways, and replicas follow both. A new CSR structure, mask
// or tensor for a parameter only moves it: replicas borrow it again from its new location. A
// change of a layer's kind or shape (a pruned layer converted to CSR, structures shrunk, gates
// added or folded) changes the layer descriptions: then the workers stop and start again with
// replicas built from the new ones, in fresh arenas. Such changes come a few times per run, and a
// restart costs about 60 ms (two threads, 784-300-100-10), a dozen steps of LeNet-300-100.
//
// Two kinds of randomness or probing must see the batch as one thread would. Stochastic (L0)
// gates draw one noise value per gate per step: the main thread draws it before the threads start,
// from its own stream in the order one thread would, and every replica gates its rows with it.
// A gradient probe (RigL's and SNFS's growth scores, |Σ dY·Xᵀ| over the batch) needs the whole
// batch's x and dY: a step with an armed probe runs on the main thread alone, at one-thread speed.
// Update steps come every ΔT = 100–1000 steps and their swap costs more than the step itself, so
// this adds at most 1/ΔT to a run's time.
//
// Batch-norm layers normalize each share by its own statistics (as PyTorch's DistributedDataParallel
// without SyncBatchNorm); their running statistics end as the share-weighted average of the
// threads' updates, which equals one update with the share-weighted average of the batch statistics.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { backward } from "../autograd/engine.js";
import { argmax } from "../autograd/ops/reduce.js";
import { alloc, free, heapF32, heapI32, memory, type WorkerHeap } from "../backend/heap.js";
import { kernelBackend, kernels } from "../backend/kernels.js";
import { trainingLoss, type BatchTeacher } from "../distill/training-loss.js";
import type { Model } from "../nn/presets.js";
import { full, keep, rowsView, tidy, viewAs, zeros, type Tensor } from "../tensor/tensor.js";
import { workerBootstrap } from "./bootstrap.js";
import { CommandKind, ControlBlock, WorkerState } from "./control-block.js";
import { describeLayer, drawSharedNoise, layerWorkspaceBytes, locateParameter, needsWholeBatch, type LayerDescription } from "./replica.js";
import type { WorkerInit } from "./worker.js";

export interface DataParallelOptions {
  /** Threads in all, the calling thread included (2 on a two-core machine). */
  threads: number;
  /** Seeds the workers' dropout streams (with the worker index and step). */
  seed: number;
  /** Largest batch a step will get. */
  batchSize: number;
  /** Bytes of heap each worker may allocate (gradients, activations, kernel workspaces); default from the model. */
  arenaBytes?: number;
  /** How long to wait for a worker to start, or to finish its rows of a step, before failing. Default 10 minutes. */
  timeoutMs?: number;
}

export interface StepResult {
  /** Mean loss over the whole batch. */
  loss: number;
  /** Correct predictions over the whole batch. */
  correct: number;
}

interface WorkerHandle {
  index: number;
  thread: Worker;
  control: ControlBlock;
  errors: MessagePort;
  arena: { ptr: number; bytes: number };
}

/** Contiguous row ranges [start, end) of a batch, one per thread, sizes differing by at most one; the first is the main thread's. */
export function splitRows(rows: number, threads: number): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  let start = 0;
  for (let t = 0; t < threads; t++) {
    const size = Math.floor(rows / threads) + (t < rows % threads ? 1 : 0);
    ranges.push({ start, end: start + size });
    start += size;
  }
  return ranges;
}

// Gradients (one per parameter), buffer copies and layers' own temporaries, plus activations for a
// share of the batch (about eight tensors per layer output, kept for backward) and room for kernel
// workspaces.
function defaultArenaBytes(model: Model, rows: number): number {
  const parameterBytes = model.net.parameters().reduce((s, p) => s + 4 * p.tensor.size, 0);
  const workspaceBytes = model.net.layers.reduce((s, layer) => s + layerWorkspaceBytes(layer), 0);
  let shape = [...model.inputShape];
  let activationBytes = 4 * rows * shape.reduce((a, b) => a * b, 1);
  for (const layer of model.net.layers) {
    shape = layer.outputShape(shape);
    activationBytes += 8 * 4 * rows * shape.reduce((a, b) => a * b, 1);
  }
  return 2 * parameterBytes + workspaceBytes + activationBytes + 64 * 2 ** 20;
}

export class DataParallel {
  private workers: WorkerHandle[] = [];
  /** The layer descriptions the workers' replicas were built from, as JSON. */
  private replicated = "";
  private readonly labelsPtr: number;
  private readonly timeoutMs: number;
  private sequence = 0;
  private closed = false;

  private constructor(
    private readonly model: Model,
    private readonly options: DataParallelOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.labelsPtr = alloc(4 * options.batchSize);
  }

  /**
   * Starts `threads − 1` workers with replicas of `model` and waits until they are ready (their
   * startup errors are thrown here). Close it with `close()`.
   */
  static start(model: Model, options: DataParallelOptions): DataParallel {
    const { threads, batchSize } = options;
    if (!(Number.isInteger(threads) && threads >= 2)) throw new RangeError(`data-parallel training: threads must be an integer >= 2, got ${threads}`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`data-parallel training: batchSize must be a positive integer, got ${batchSize}`);
    const layers = model.net.layers.map(describeLayer);
    const pool = new DataParallel(model, options);
    try {
      pool.startWorkers(layers);
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  // Spawns the workers with replicas built from `layers` and waits until they are ready.
  private startWorkers(layers: LayerDescription[]): void {
    const { threads, batchSize } = this.options;
    this.replicated = JSON.stringify(layers);
    const rows = Math.ceil(batchSize / threads);
    const arenaBytes = this.options.arenaBytes ?? defaultArenaBytes(this.model, rows);
    for (let index = 1; index < threads; index++) this.spawn(index, layers, arenaBytes);
    for (const w of this.workers) {
      const state = w.control.waitWhileState(WorkerState.starting, this.timeoutMs);
      if (state !== WorkerState.ready) throw this.workerError(w, state === WorkerState.starting ? `did not start within ${this.timeoutMs} ms` : "failed to start");
    }
  }

  // Stops every worker and frees its arena (a worker that did not stop cleanly keeps its arena: leaked rather than reused).
  private stopWorkers(): void {
    const sequence = ++this.sequence;
    for (const w of this.workers) {
      const alive = w.control.state === WorkerState.ready;
      if (alive) w.control.post(CommandKind.stop, sequence);
      const stopped = alive && w.control.waitDone(sequence, 5_000);
      void w.thread.terminate();
      w.errors.close();
      if (stopped) free(w.arena.ptr, w.arena.bytes);
    }
    this.workers = [];
  }

  /** Restarts the workers if a layer's kind or shape changed since they were started (see the header). */
  private followLayers(): void {
    const layers = this.model.net.layers.map(describeLayer);
    if (JSON.stringify(layers) === this.replicated) return;
    this.stopWorkers();
    this.startWorkers(layers);
  }

  private spawn(index: number, layers: WorkerInit["layers"], arenaBytes: number): void {
    const parameters = this.model.net.parameters();
    const control = ControlBlock.create(parameters.length, this.model.net.buffers().length);
    parameters.forEach((p, i) => control.writeLocation(i, locateParameter(p)));
    const arena = { ptr: alloc(arenaBytes), bytes: arenaBytes };
    const sparsetrainHeap: WorkerHeap = { memory, arenaStart: arena.ptr, arenaEnd: arena.ptr + arenaBytes };
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = {
      index, seed: this.options.seed, kernelBackend: kernelBackend(), layers, inputShape: this.model.inputShape,
      control: control.buffer, parameterCount: control.parameterCount, bufferCount: control.bufferCount, errors: port2,
    };
    const { script, entry, tsx } = workerBootstrap();
    const thread = new Worker(script, { eval: true, workerData: { ...init, sparsetrainHeap, bootstrap: { entry, tsx } }, transferList: [port2] });
    // Neither the thread nor its error port keeps the process alive: a program that forgets close() still exits.
    thread.unref();
    port1.unref();
    this.workers.push({ index, thread, control, errors: port1, arena });
  }

  /** The error a failed or silent worker left, as an Error naming the worker. */
  private workerError(w: WorkerHandle, what: string): Error {
    const posted = receiveMessageOnPort(w.errors)?.message as { message: string; stack: string } | undefined;
    const error = new Error(`data-parallel worker ${w.index} ${what}${posted ? `: ${posted.message}` : ""}`);
    if (posted) error.stack = `${error.stack}\nworker stack: ${posted.stack}`;
    return error;
  }

  /**
   * Publishes where every parameter lives now. Replicas re-borrow a parameter whose location
   * changed (a sparsity method replaced its CSR structure, or a checkpoint load replaced it) at
   * the start of their next step; workers restart if a layer changed kind or shape. Every step
   * calls this, so callers never need to.
   */
  syncStructure(): void {
    if (this.closed) throw new Error("data-parallel training: syncStructure after close()");
    try {
      this.followLayers();
    } catch (error) {
      this.close();
      throw error;
    }
    const parameters = this.model.net.parameters();
    for (const w of this.workers) parameters.forEach((p, i) => w.control.writeLocation(i, locateParameter(p)));
  }

  /**
   * Forward and backward over a batch (x: [rows, features] in the heap, rows ≤ batchSize) split
   * across the threads; afterwards every parameter's `grad` holds the gradient of the full-batch
   * mean cross-entropy (or distillation loss, given the teacher's logits of the batch's rows, in
   * the heap: each thread reads those of its rows). Returns the full-batch mean loss and the
   * correct predictions.
   */
  forwardBackward(x: Tensor, labels: Int32Array, options: { step: number; labelSmoothing?: number; teacher?: BatchTeacher }): StepResult {
    if (this.closed) throw new Error("data-parallel training: forwardBackward after close()");
    const rows = x.shape[0];
    if (rows > this.options.batchSize || labels.length !== rows) {
      throw new RangeError(`data-parallel training: a batch of ${rows} rows with ${labels.length} labels (at most batchSize = ${this.options.batchSize}, one label per row)`);
    }
    const labelSmoothing = options.labelSmoothing ?? 0;
    const teacher = options.teacher;
    if (teacher !== undefined && teacher.logits.shape[0] !== rows) {
      throw new RangeError(`data-parallel training: teacher logits for ${teacher.logits.shape[0]} rows, the batch has ${rows}`);
    }
    this.syncStructure();
    const wholeBatch = this.model.net.layers.some(needsWholeBatch);
    const ranges = wholeBatch ? this.allRowsOnMainThread(rows) : splitRows(rows, this.workers.length + 1);
    heapI32().set(labels, this.labelsPtr >>> 2);
    drawSharedNoise(this.model.net);
    const buffers = this.model.net.buffers();
    const sequence = ++this.sequence;
    const started = this.workers.filter((w) => ranges[w.index].end > ranges[w.index].start);
    for (const w of started) {
      const { start, end } = ranges[w.index];
      buffers.forEach((b, i) => kernels.copy(b.tensor.size, b.tensor.ptr, w.control.bufferPtr(i)));
      w.control.writeStep({
        startRow: start, rows: end - start, batchPtr: x.ptr, labelsPtr: this.labelsPtr, share: (end - start) / rows, step: options.step, labelSmoothing,
        teacherPtr: teacher?.logits.ptr ?? 0, temperature: teacher?.temperature ?? 0, alpha: teacher?.alpha ?? 0,
      });
      w.control.post(CommandKind.step, sequence);
    }
    let own: StepResult;
    try {
      own = this.ownShare(x, labels, ranges[0].end, rows, labelSmoothing, teacher);
    } finally {
      this.join(started, sequence, options.step);
    }
    return this.combine(own, started, ranges, rows);
  }

  // Row ranges that give the main thread the whole batch and every worker none.
  private allRowsOnMainThread(rows: number): { start: number; end: number }[] {
    return [{ start: 0, end: rows }, ...this.workers.map(() => ({ start: rows, end: rows }))];
  }

  // The main thread's rows [0, end), on the model itself.
  private ownShare(x: Tensor, labels: Int32Array, end: number, rows: number, labelSmoothing: number, teacher?: BatchTeacher): StepResult {
    const { net, inputShape } = this.model;
    net.train();
    return tidy(() => {
      const input = viewAs(rowsView(x, 0, end), [end, ...inputShape]);
      const ownLabels = labels.subarray(0, end);
      const logits = net.forward(input);
      const ownTeacher = teacher && { ...teacher, logits: rowsView(teacher.logits, 0, end) };
      const loss = trainingLoss(logits, ownLabels, labelSmoothing, ownTeacher);
      const value = loss.item();
      backward(loss, full([], end / rows));
      const predicted = argmax(logits, -1);
      let correct = 0;
      for (let r = 0; r < end; r++) if (predicted[r] === ownLabels[r]) correct++;
      return { loss: value, correct };
    });
  }

  // Waits for every started worker; a failure or a timeout closes the pool and throws.
  private join(started: WorkerHandle[], sequence: number, step: number): void {
    for (const w of started) {
      if (w.control.waitDone(sequence, this.timeoutMs)) continue;
      const state = w.control.state;
      const error = this.workerError(w, state === WorkerState.failed ? `failed at step ${step}` : state === WorkerState.exited ? `exited at step ${step}` : `did not finish step ${step} within ${this.timeoutMs} ms`);
      this.close();
      throw error;
    }
  }

  // Adds the workers' gradients, losses, counts and buffers to the main thread's, in worker order.
  private combine(own: StepResult, started: WorkerHandle[], ranges: { start: number; end: number }[], rows: number): StepResult {
    const parameters = this.model.net.parameters();
    const shareOf = (w: WorkerHandle) => (ranges[w.index].end - ranges[w.index].start) / rows;
    let loss = own.loss * (ranges[0].end / rows);
    let correct = own.correct;
    for (const w of started) {
      parameters.forEach((p, i) => {
        const gradPtr = w.control.gradientPtr(i);
        if (gradPtr === 0) return;
        p.tensor.grad ??= keep(zeros(p.tensor.shape));
        kernels.axpy(p.tensor.size, 1, gradPtr, p.tensor.grad.ptr);
      });
      const result = w.control.readResult();
      loss += result.loss * shareOf(w);
      correct += result.correct;
    }
    // b ← b₀ + Σ share_w·(b_w − b₀): the share-weighted average of the threads' buffers, exact where
    // they agree (the batch counter).
    const heap = heapF32();
    for (const [i, buffer] of this.model.net.buffers().entries()) {
      const own = buffer.tensor.data;
      const base = own.slice();
      for (const w of started) {
        const theirs = w.control.bufferPtr(i) >>> 2;
        for (let k = 0; k < own.length; k++) own[k] += shareOf(w) * (heap[theirs + k] - base[k]);
      }
    }
    return { loss, correct };
  }

  /** Stops the workers and frees their arenas; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWorkers();
    free(this.labelsPtr, 4 * this.options.batchSize);
  }
}
