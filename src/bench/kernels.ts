// `sparsetrain bench kernels`: dense GEMM and the three sparse kernels, with ratios to our dense GEMM and to TensorFlow.js wasm, measured side by side.
//
// Every kernel variant asked for (relaxed SIMD, plain SIMD, the reference) is timed in the same
// interleaved repetitions, so the ratios between them come from one run.
import { alloc, free, heapF32 } from "../backend/heap.js";
import { kernelBackend, kernelSet, type ResolvedKernelBackend } from "../backend/kernels.js";
import type { KernelSet } from "../backend/reference/index.js";
import { Rng } from "../tensor/rng.js";
import { SparseMatrix } from "../tensor/sparse-matrix.js";
import { loadTfjsWasm, type TfjsPeer } from "./tfjs-peer.js";
import { timeInterleaved, warmUp } from "./timing.js";

export interface KernelBenchRow {
  kernel: string;
  /** The kernel build that ran: relaxed (fused multiply-add), simd or reference. */
  variant: ResolvedKernelBackend;
  m: number;
  k: number;
  n: number;
  density: number;
  /** Useful GFLOP/s: 2·m·n·k for dense, 2·nnz·n for sparse kernels. */
  gflops: number;
  ms: number;
  vs_dense?: number;
  vs_tfjs_wasm?: number;
}

export interface KernelBenchOptions {
  quick?: boolean;
  /** Kernel variants to time side by side (default: the active one). */
  variants?: ResolvedKernelBackend[];
  onRow?: (row: KernelBenchRow) => void;
  /** TensorFlow.js to compare with: loaded when not given; null times our kernels alone (no vs_tfjs_wasm). */
  peer?: TfjsPeer | null;
}

/** A float32 block in the heap filled with uniform values in [−1, 1). */
function randomBlock(size: number, rng: Rng): number {
  const ptr = alloc(size * 4);
  const h = heapF32();
  for (let i = 0; i < size; i++) h[(ptr >>> 2) + i] = rng.uniform() * 2 - 1;
  return ptr;
}

/** Shapes: dense GEMM 1024³ and the MLP shapes; sparse kernels on the MLP layers with batch 128. */
export async function benchKernels(options: KernelBenchOptions = {}): Promise<KernelBenchRow[]> {
  const tf = options.peer === undefined ? (await loadTfjsWasm()).tf : (options.peer?.tf ?? null);
  const variants = options.variants ?? [kernelBackend()];
  if (variants.length === 0) throw new Error("benchKernels: no kernel variant to time");
  const sets = variants.map((variant) => ({ variant, k: kernelSet(variant) }));
  /** One contender per variant (keyed by its name), built from that variant's kernels. */
  const perVariant = (make: (k: KernelSet) => () => void): Record<string, () => void> =>
    Object.fromEntries(sets.map(({ variant, k }) => [variant, make(k)]));
  const rng = new Rng(1, "bench/kernels");
  const reps = options.quick ? 5 : 15;
  const rows: KernelBenchRow[] = [];
  const emit = (row: KernelBenchRow) => {
    rows.push(row);
    options.onRow?.(row);
  };

  // Dense: C (m×n) = A (m×k) · B (k×n), in the layout our Linear layer uses for x·Wᵀ (B transposed);
  // TensorFlow.js gets its fastest layout (no transpose flag, which drops it to ~3 GFLOP/s).
  const denseShapes = options.quick
    ? [{ name: "gemm", m: 128, k: 784, n: 1000 }]
    : [
        { name: "gemm", m: 1024, k: 1024, n: 1024 },
        { name: "gemm", m: 128, k: 784, n: 1000 },
        { name: "gemm", m: 128, k: 1000, n: 1000 },
      ];
  for (const { name, m, k, n } of denseShapes) {
    const a = randomBlock(m * k, rng), b = randomBlock(n * k, rng), c = alloc(m * n * 4);
    const ours = perVariant((set) => () => set.gemm(0, 1, m, n, k, 1, a, k, b, k, 0, c, n));
    const tfA = tf?.tensor2d(heapF32().slice(a >>> 2, (a >>> 2) + m * k), [m, k]);
    const tfB = tf?.tensor2d(heapF32().slice(b >>> 2, (b >>> 2) + n * k), [k, n]);
    const theirs: Record<string, () => void> = tf && tfA && tfB ? { theirs: () => tf.matMul(tfA, tfB).dispose() } : {};
    for (const fn of [...Object.values(ours), ...Object.values(theirs)]) warmUp(fn, 300);
    const t = timeInterleaved({ ...ours, ...theirs }, reps);
    for (const { variant } of sets) {
      const vsTfjs = t.theirs === undefined ? {} : { vs_tfjs_wasm: t.theirs / t[variant] };
      emit({ kernel: name, variant, m, k, n, density: 1, gflops: (2 * m * n * k) / t[variant] / 1e6, ms: t[variant], ...vsTfjs });
    }
    tfA?.dispose();
    tfB?.dispose();
    for (const [p, s] of [[a, m * k], [b, n * k], [c, m * n]]) free(p, s * 4);
  }

  // Sparse: W (M×K, CSR) with activations feature-major, batch B = 128.
  const batch = 128;
  const layers = options.quick ? [{ M: 1000, K: 784 }] : [{ M: 1000, K: 784 }, { M: 1000, K: 1000 }];
  const densities = options.quick ? [0.05] : [0.5, 0.2, 0.1, 0.05, 0.02, 0.01];
  for (const { M, K } of layers) {
    const x = randomBlock(K * batch, rng), dy = randomBlock(M * batch, rng);
    const y = alloc(M * batch * 4), dx = alloc(K * batch * 4);
    const wDense = randomBlock(M * K, rng), dwDense = alloc(M * K * 4);
    // The dense equivalents of each sparse kernel on the same shapes (ours and TensorFlow.js).
    const dense = {
      spmm: perVariant((set) => () => set.gemm(0, 0, M, batch, K, 1, wDense, K, x, batch, 0, y, batch)), // Y = W·X
      spmmTransposed: perVariant((set) => () => set.gemm(1, 0, K, batch, M, 1, wDense, K, dy, batch, 0, dx, batch)), // dX = Wᵀ·dY
      sddmm: perVariant((set) => () => set.gemm(0, 1, M, K, batch, 1, dy, batch, x, batch, 0, dwDense, K)), // dW = dY·Xᵀ
    };
    const tfInputs = tf === null ? [] : [tf.randomUniform([M, K]), tf.randomUniform([K, M]), tf.randomUniform([K, batch]), tf.randomUniform([M, batch]), tf.randomUniform([batch, K])];
    const tfDense: Record<keyof typeof dense, Record<string, () => void>> = { spmm: {}, spmmTransposed: {}, sddmm: {} };
    if (tf !== null) {
      const [tfW, tfWt, tfX, tfDy, tfXt] = tfInputs;
      tfDense.spmm.theirs = () => tf.matMul(tfW, tfX).dispose();
      tfDense.spmmTransposed.theirs = () => tf.matMul(tfWt, tfDy).dispose();
      tfDense.sddmm.theirs = () => tf.matMul(tfDy, tfXt).dispose();
    }
    for (const name of Object.keys(dense) as (keyof typeof dense)[]) {
      for (const fn of [...Object.values(dense[name]), ...Object.values(tfDense[name])]) warmUp(fn, 200);
    }
    const denseTimes = Object.fromEntries((Object.keys(dense) as (keyof typeof dense)[]).map((name) => [
      name, timeInterleaved({ ...dense[name], ...tfDense[name] }, reps),
    ])) as Record<keyof typeof dense, Record<string, number>>;

    for (const density of densities) {
      const w = SparseMatrix.random(M, K, density, rng.fork(`w-${M}-${K}-${density}`), (v) => v.data.forEach((_, i, d) => (d[i] = rng.uniform() - 0.5)));
      const dvalues = alloc(w.nnz * 4);
      const sparse = {
        spmm: perVariant((set) => () => set.spmm(M, K, batch, w.rowPtrPtr, w.colIdxPtr, w.values.ptr, x, y)),
        spmmTransposed: perVariant((set) => () => set.spmmTransposed(M, K, batch, w.rowPtrPtr, w.colIdxPtr, w.values.ptr, dy, dx)),
        sddmm: perVariant((set) => () => set.sddmm(M, K, batch, w.rowPtrPtr, w.colIdxPtr, dy, x, dvalues)),
      };
      for (const name of Object.keys(sparse) as (keyof typeof sparse)[]) {
        for (const fn of Object.values(sparse[name])) warmUp(fn, 100);
        const inner = Math.max(1, Math.round(0.5 / Math.max(density, 0.01)));
        const times = timeInterleaved(sparse[name], reps, inner);
        for (const { variant } of sets) {
          const t = times[variant];
          emit({
            kernel: name, variant, m: M, k: K, n: batch, density,
            gflops: (2 * w.nnz * batch) / t / 1e6, ms: t,
            vs_dense: denseTimes[name][variant] / t,
            ...(denseTimes[name].theirs === undefined ? {} : { vs_tfjs_wasm: denseTimes[name].theirs / t }),
          });
        }
      }
      free(dvalues, w.nnz * 4);
      w.dispose();
    }
    for (const t of tfInputs) t.dispose();
  }
  return rows;
}
