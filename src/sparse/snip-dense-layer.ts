// A sparse Linear layer's dense initial twin for SNIP, whose weights are regenerated row chunk by row chunk from their random stream and never held whole.
//
// SNIP scores every position of a layer by |∂L/∂w · w| at the dense initialization, so it needs the
// forward and backward passes of the dense layer and then the dense weight gradient. Neither the
// weights nor the gradient are stored: the weights U(±1/√in) are a seeded stream drawn again in
// row-major order for each pass, and the gradient dY·Xᵀ is formed chunk by chunk from the inputs x
// and output gradients dY this layer records in backward. Memory is a few row chunks plus x and dY
// per scored batch; time is rows·cols per pass (SNIP looks at every position once).
//
// NOTE: each chunk goes through the sparse kernels with a full-row CSR structure, so that outputs
// and gradients are those of the fully dense CSR SNIP used before, bit for bit (only dX, summed
// over chunks, may differ in the last float bit).
import { record } from "../autograd/engine.js";
import { activate, biasActivation } from "../autograd/ops/activation.js";
import { transpose } from "../autograd/ops/shape.js";
import { kernels } from "../backend/kernels.js";
import type { ForwardContext, FusableLayer, FusedActivation, LayerParameter } from "../nn/layer.js";
import type { SparseLinear } from "../nn/sparse-linear.js";
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { empty, formatShape, keep, type Tensor } from "../tensor/tensor.js";

/** Weights per row chunk by default: small against the layers SNIP is meant for, large enough for the kernels. */
const CHUNK_VALUES = 1 << 16;

/** One batch's input x (in, B) and output gradient dY (out, B), kept for scoring. */
interface RecordedBatch {
  x: Tensor;
  dy: Tensor;
}

export class SnipDenseLayer implements FusableLayer {
  readonly kind = "Linear";
  readonly layout = "feature-major" as const;
  readonly rows: number;
  readonly cols: number;
  private readonly chunkRows: number;
  /** Full-row CSR structure of one chunk (chunkRows × cols); its values are refilled per chunk (see forEachChunk). */
  readonly chunk: SparseMatrix;
  private readonly recorded: RecordedBatch[] = [];
  // Gives the op a node in the graph even when its input needs no gradient (the first layer): backward must see dY.
  private readonly anchor: Tensor;

  /**
   * Stands in for `layer` (same bias) with dense weights U(±1/√in) drawn in row-major order from
   * `Rng(seed, stream)`, as `fillUniform` over all rows·cols positions would draw them.
   */
  constructor(readonly layer: SparseLinear, private readonly seed: number, private readonly stream: string, chunkValues = CHUNK_VALUES) {
    this.rows = layer.outFeatures;
    this.cols = layer.inFeatures;
    this.chunkRows = Math.max(1, Math.min(this.rows, Math.floor(chunkValues / this.cols)));
    const values = this.chunkRows * this.cols;
    const rowPtr = Int32Array.from({ length: this.chunkRows + 1 }, (_, i) => i * this.cols);
    const colIdx = Int32Array.from({ length: values }, (_, p) => p % this.cols);
    this.chunk = SparseMatrix.fromCSR({ rows: this.chunkRows, cols: this.cols, rowPtr, colIdx, values: new Float32Array(values) });
    this.anchor = keep(empty([1]));
    this.anchor.requiresGrad = true;
  }

  /**
   * Calls `visit(first, n)` for consecutive chunks of rows [first, first + n) in order, with the
   * chunk's weights in `this.chunk.values` (n·cols values, row-major).
   */
  forEachChunk(visit: (first: number, n: number) => void): void {
    const rng = new Rng(this.seed, this.stream);
    const bound = 1 / Math.sqrt(this.cols);
    const low = -bound, span = 2 * bound;
    for (let first = 0; first < this.rows; first += this.chunkRows) {
      const n = Math.min(this.chunkRows, this.rows - first);
      const w = this.chunk.values.data;
      rng.fillUniform(w, low, span, 0, n * this.cols);
      visit(first, n);
    }
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.forwardFused(x, ctx, "identity", 0);
  }

  forwardFused(x: Tensor, ctx: ForwardContext, activation: FusedActivation, slope: number): Tensor {
    if (ctx.layout === "batch-major") return transpose(this.forwardFused(transpose(x), { ...ctx, layout: "feature-major" }, activation, slope));
    if (x.rank !== 2 || x.shape[0] !== this.cols) throw new RangeError(`${this.describe()}: input ${formatShape(x.shape)} (feature-major) must be [${this.cols}, batch]`);
    const y = this.matmul(x); // (out, B)
    const bias = this.layer.bias;
    return bias ? biasActivation(y, bias, activation, slope, "feature-major") : activate(y, activation, slope);
  }

  /** Y = W·X through the chunks; backward records x and dY and gives dX = Wᵀ·dY. */
  private matmul(x: Tensor): Tensor {
    const [rows, cols, batch] = [this.rows, this.cols, x.shape[1]];
    const chunk = this.chunk;
    const y = empty([rows, batch]);
    this.forEachChunk((first, n) => kernels.spmm(n, cols, batch, chunk.rowPtrPtr, chunk.colIdxPtr, chunk.values.ptr, x.ptr, y.ptr + first * batch * 4));
    return record("snipDenseMatmul", y, [x, this.anchor], (dy) => {
      this.recorded.push({ x: keep(copyOf(x)), dy: keep(copyOf(dy)) });
      if (!x.requiresGrad) return [null, null];
      const dx = empty([cols, batch]), part = empty([cols, batch]);
      kernels.fill(dx.size, 0, dx.ptr);
      this.forEachChunk((first, n) => {
        kernels.spmmTransposed(n, cols, batch, chunk.rowPtrPtr, chunk.colIdxPtr, chunk.values.ptr, dy.ptr + first * batch * 4, part.ptr);
        kernels.axpy(dx.size, 1, part.ptr, dx.ptr);
      });
      part.dispose();
      return [dx, null];
    });
  }

  /**
   * Calls `visit(first, n, weights, gradient)` for each row chunk: the chunk's dense initial weights
   * and its weight gradient summed over the recorded batches in order (n·cols values each, row-major).
   */
  forEachGradientChunk(visit: (first: number, n: number, weights: Float32Array, gradient: Float32Array) => void): void {
    const chunk = this.chunk;
    const gradient = empty([chunk.nnz]), part = empty([chunk.nnz]);
    try {
      this.forEachChunk((first, n) => {
        this.recorded.forEach(({ x, dy }, b) => {
          const batch = x.shape[1];
          // Batches are summed in order, as the gradient of the whole dense CSR accumulated them.
          const into = b === 0 ? gradient : part;
          kernels.sddmm(n, this.cols, batch, chunk.rowPtrPtr, chunk.colIdxPtr, dy.ptr + first * batch * 4, x.ptr, into.ptr);
          if (b > 0) kernels.axpy(n * this.cols, 1, part.ptr, gradient.ptr);
        });
        visit(first, n, chunk.values.data, gradient.data);
      });
    } finally {
      gradient.dispose();
      part.dispose();
    }
  }

  /** How many batches backward has recorded. */
  get recordedBatches(): number {
    return this.recorded.length;
  }

  parameters(): LayerParameter[] {
    return [];
  }

  buffers(): { name: string; tensor: Tensor }[] {
    return [];
  }

  outputShape(input: readonly number[]): number[] {
    return this.layer.outputShape(input);
  }

  describe(): string {
    return `Linear(${this.cols} → ${this.rows}, dense initialization regenerated for SNIP)`;
  }

  /** Frees the chunk workspace and the recorded batches. */
  dispose(): void {
    this.chunk.dispose();
    this.anchor.dispose();
    for (const { x, dy } of this.recorded) {
      x.dispose();
      dy.dispose();
    }
    this.recorded.length = 0;
  }
}

function copyOf(t: Tensor): Tensor {
  const out = empty(t.shape);
  out.data.set(t.data);
  return out;
}
