// RigL's grow rule: the free positions where the dense weight gradient |dY·Xᵀ| of the current batch is largest, computed in row chunks.
//
// At an update step the layer's gradient probe is armed before the forward pass; in backward it
// sees x (in, B) and dY (out, B), computes the dense gradient G = dY·Xᵀ for a few rows at a time
// (one GEMM per chunk, a chunk of at most CHUNK_VALUES floats), offers |G| at free positions to a
// running top-k and discards the chunk. Memory stays O(chunk + k): the dense gradient never exists
// whole. The probe disarms itself after one call. With train.threads > 1, a step with an armed
// probe runs on the main thread alone (src/parallel/data-parallel.ts), so x and dY are the whole
// batch's and the scores those of one thread.
import { kernels } from "../../backend/kernels.js";
import type { GradientProbe } from "../../autograd/ops/sparse-matmul.js";
import type { Layer } from "../../nn/layer.js";
import type { NamedParameter } from "../../nn/sequential.js";
import { empty, type Tensor } from "../../tensor/tensor.js";
import type { GrowRule } from "./drop-and-grow.js";
import { TopK } from "./top-k.js";

/** Floats in one chunk of the dense gradient (256 KiB). */
export const CHUNK_VALUES = 1 << 16;

interface ProbedLayer extends Layer {
  growthProbe: GradientProbe | null;
}

function hasGrowthProbe(layer: Layer): layer is ProbedLayer {
  return "growthProbe" in layer;
}

/** The stored positions to skip (a `SparseMatrix`, whose heap views are read only after allocating). */
export interface StoredPositions {
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
}

/** The top `count` free positions of one layer by |dY·Xᵀ| (row·cols + col, strongest first). */
export function topDenseGradient(x: Tensor, dy: Tensor, stored: StoredPositions, count: number): Float64Array {
  const [rows, batch] = dy.shape;
  const cols = x.shape[0];
  const top = new TopK(count);
  const chunkRows = Math.max(1, Math.min(rows, Math.floor(CHUNK_VALUES / cols)));
  const chunk = empty([chunkRows, cols]);
  // NOTE: views of the heap are taken after the allocation above, which may grow (and detach) it.
  const rowPtr = stored.rowPtr, colIdx = stored.colIdx;
  try {
    for (let first = 0; first < rows; first += chunkRows) {
      const n = Math.min(chunkRows, rows - first);
      // chunk (n, cols) = dY[first : first + n] (n, B) · Xᵀ (B, cols)
      kernels.gemm(0, 1, n, cols, batch, 1, dy.ptr + first * batch * 4, batch, x.ptr, batch, 0, chunk.ptr, cols);
      const g = chunk.data;
      for (let r = 0; r < n; r++) {
        const row = first + r;
        let p = rowPtr[row];
        const end = rowPtr[row + 1];
        for (let c = 0; c < cols; c++) {
          if (p < end && colIdx[p] === c) {
            p++;
            continue;
          }
          const score = Math.abs(g[r * cols + c]);
          if (score >= top.threshold()) top.push(score, row * cols + c);
        }
      }
    }
  } finally {
    chunk.dispose();
  }
  return top.positionsByScore();
}

/** Arms gradient probes for one step and serves what they found as a grow rule. */
export class GradientGrowth {
  private readonly found = new Map<string, Float64Array>();
  private readonly armed = new Set<string>();

  /** Checks that every layer can be probed (sparse Linear layers can; sparse convolutions cannot yet). */
  static check(params: readonly NamedParameter[], method: string): void {
    for (const p of params) {
      if (!hasGrowthProbe(p.layer)) {
        throw new Error(`sparsity.method ${method}: ${p.name} (${p.layer.describe()}) cannot report its dense gradient; ${method} supports sparse Linear layers (use set or dsr for convolutions)`);
      }
    }
  }

  /** Before the forward pass: the next backward of `param`'s layer records its top `count` free positions. */
  arm(param: NamedParameter, count: number): void {
    const layer = param.layer;
    if (!hasGrowthProbe(layer)) throw new Error(`${param.name}: layer has no gradient probe`);
    const matrix = param.sparse!;
    this.found.delete(param.name);
    this.armed.add(param.name);
    layer.growthProbe = (x, dy) => {
      layer.growthProbe = null;
      this.found.set(param.name, topDenseGradient(x, dy, matrix, count));
    };
  }

  /** Disarms every probe that did not fire (e.g. the step was skipped). */
  disarm(params: readonly NamedParameter[]): void {
    for (const p of params) if (hasGrowthProbe(p.layer)) p.layer.growthProbe = null;
    this.armed.clear();
  }

  /** Grows at the strongest recorded positions; the probe must have fired since `arm`. */
  readonly rule: GrowRule = (param, count) => {
    const positions = this.found.get(param.name);
    if (positions === undefined || !this.armed.has(param.name)) {
      throw new Error(`${param.name}: no dense gradient was recorded at this update (was the probe armed before the forward pass?)`);
    }
    return positions.subarray(0, count);
  };
}
