// Dense row-major GEMM with WebAssembly SIMD, C = alpha·op(A)·op(B) + beta·C, blocked like GotoBLAS/BLIS.
// Specification: src/backend/reference/gemm.ts.
//
// Structure (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", 2008; BLIS,
// Van Zee & van de Geijn 2015): for each block of NC columns and KC depth, op(B) is packed into
// NR-wide column panels; for each block of MC rows, op(A) is packed into MR-tall row panels; then a
// register-blocked micro-kernel multiplies one A panel by one B panel into an MR×NR tile of C.
// Packing makes every load in the micro-kernel contiguous and zero-pads ragged edges, so the
// micro-kernel never branches on sizes; only the final store of an edge tile does.
//
// NOTE: MR×NR = 4×8 keeps 8 f32x4 accumulators, 2 B vectors, 1 broadcast A value and 1 product in
// registers: 12 of the 15 xmm registers V8 allocates on x64. 6×8, 5×8 and 4×12 tiles spill and
// measured 25–27 GFLOP/s against 40–60 for 4×8 (Zen 5, Node 20). The relaxed-SIMD build does each
// step as one fused multiply-add (vfmadd231ps): 1024³ at 51–52 GFLOP/s against 44–45 for the plain
// build's f32x4.mul then f32x4.add (same run, Zen 5, Node 20), about 93% of the 128-bit FMA peak. The
// freed product register does not make 6×8 fit: V8 hoists the step's loads, and 6×8 still spills
// (25 GFLOP/s in either build).

import { madd } from "./_fma";

const MR = 4;
const NR = 8;
const KC = 256; // B micro-panel: KC·NR·4 = 8 KiB stays in the 48 KiB L1 while A panels stream by
const MC = 128; // A block: MC·KC·4 = 128 KiB in L2 (multiple of MR)
const NC = 1024; // B block: KC·NC·4 = 1 MiB in L2/L3 (multiple of NR)

// For a depth block of kc ≤ KC:
let packedA: usize = 0; // MC×KC floats, MR-row panels: element (r, p) of panel q at q·kc·MR + p·MR + r
let packedB: usize = 0; // KC×NC floats, NR-column panels: element (p, j) of panel s at s·kc·NR + p·NR + j
let edgeTile: usize = 0; // MR×NR floats: accumulators of a tile that sticks out of C

/** Bytes of workspace one instance needs (the packing buffers). */
export function scratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) << 2;
}

/** Receives this instance's workspace (allocated once by the loader). */
export function setScratch(ptr: usize): void {
  packedA = ptr;
  packedB = packedA + ((<usize>MC * KC) << 2);
  edgeTile = packedB + ((<usize>KC * NC) << 2);
}

/**
 * C = alpha · op(A) · op(B) + beta · C, row-major; op(X) = X or Xᵀ; op(A) is m×k, op(B) is k×n.
 * lda/ldb/ldc are row strides in elements. With beta = 0, C is overwritten (old NaN ignored).
 */
export function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f32, a: usize, lda: i32, b: usize, ldb: i32,
  beta: f32, c: usize, ldc: i32,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    scaleC(m, n, beta, c, ldc);
    return;
  }
  // Split k into equal blocks: a thin last block would pay a full pass over C for little work.
  const kBlocks = (k + KC - 1) / KC;
  const kcStep = (k + kBlocks - 1) / kBlocks;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcStep) {
      const kc = min(kcStep, k - pc);
      const bOrigin = transB ? b + ((<usize>jc * ldb + pc) << 2) : b + ((<usize>pc * ldb + jc) << 2);
      packB(transB, kc, nc, bOrigin, ldb);
      // Later depth blocks add to what the first one wrote.
      const blockBeta: f32 = pc == 0 ? beta : 1;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        const aOrigin = transA ? a + ((<usize>pc * lda + ic) << 2) : a + ((<usize>ic * lda + pc) << 2);
        packA(transA, mc, kc, aOrigin, lda);
        const cBlock = c + ((<usize>ic * ldc + jc) << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          const bPanel = packedB + ((<usize>jr * kc) << 2);
          const cols = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const aPanel = packedA + ((<usize>ir * kc) << 2);
            const cTile = cBlock + ((<usize>ir * ldc + jr) << 2);
            microKernel(kc, aPanel, bPanel, cTile, ldc, alpha, blockBeta, min(MR, mc - ir), cols);
          }
        }
      }
    }
  }
}

/** C = beta·C (C = 0 when beta = 0): the whole product when k = 0. */
function scaleC(m: i32, n: i32, beta: f32, c: usize, ldc: i32): void {
  for (let i = 0; i < m; i++) {
    const row = c + ((<usize>i * ldc) << 2);
    for (let j = 0; j < n; j++) {
      const at = row + (<usize>j << 2);
      store<f32>(at, beta == 0 ? 0 : beta * load<f32>(at));
    }
  }
}

/** Packs op(A)[0:mc, 0:kc] (origin at element (0, 0)) into MR-row panels, zero-padding the last. */
function packA(transA: i32, mc: i32, kc: i32, origin: usize, lda: i32): void {
  const rowStride = transA ? <usize>4 : (<usize>lda << 2); // bytes between op(A)[i][p] and op(A)[i+1][p]
  const depthStride = transA ? (<usize>lda << 2) : <usize>4; // bytes between op(A)[i][p] and op(A)[i][p+1]
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const dst = packedA + ((<usize>i0 * kc) << 2);
    const src = origin + <usize>i0 * rowStride;
    const rows = min(MR, mc - i0);
    if (rows == MR && transA) {
      // op(A) = Aᵀ: the MR values of one depth step are contiguous in A.
      for (let p = 0; p < kc; p++) v128.store(dst + (<usize>p << 4), v128.load(src + <usize>p * depthStride));
    } else if (rows == MR) {
      packTransposed4(kc, src, rowStride, dst);
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          const value: f32 = r < rows ? load<f32>(src + <usize>r * rowStride + <usize>p * depthStride) : 0;
          store<f32>(dst + ((<usize>(p * MR + r)) << 2), value);
        }
      }
    }
  }
}

/** Packs op(B)[0:kc, 0:nc] (origin at element (0, 0)) into NR-column panels, zero-padding the last. */
function packB(transB: i32, kc: i32, nc: i32, origin: usize, ldb: i32): void {
  const depthStride = transB ? <usize>4 : (<usize>ldb << 2); // bytes between op(B)[p][j] and op(B)[p+1][j]
  const colStride = transB ? (<usize>ldb << 2) : <usize>4; // bytes between op(B)[p][j] and op(B)[p][j+1]
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const dst = packedB + ((<usize>j0 * kc) << 2);
    const src = origin + <usize>j0 * colStride;
    const cols = min(NR, nc - j0);
    if (cols == NR && !transB) {
      // op(B) = B: the NR values of one depth step are contiguous in B.
      for (let p = 0; p < kc; p++) {
        const from = src + <usize>p * depthStride;
        const to = dst + (<usize>p << 5);
        v128.store(to, v128.load(from));
        v128.store(to, v128.load(from, 16), 16);
      }
    } else if (cols == NR) {
      // op(B) = Bᵀ: each panel column is a row of B; transpose 4×4 blocks of two row groups.
      packTransposed4Strided(kc, src, colStride, dst, 32);
      packTransposed4Strided(kc, src + 4 * colStride, colStride, dst + 16, 32);
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          const value: f32 = j < cols ? load<f32>(src + <usize>j * colStride + <usize>p * depthStride) : 0;
          store<f32>(dst + ((<usize>(p * NR + j)) << 2), value);
        }
      }
    }
  }
}

/** Interleaves 4 rows of length kc (row i at src + i·rowStride) into dst as kc groups of 4. */
@inline
function packTransposed4(kc: i32, src: usize, rowStride: usize, dst: usize): void {
  packTransposed4Strided(kc, src, rowStride, dst, 16);
}

/**
 * Writes column p of 4 contiguous rows (row i at src + i·rowStride) as 4 floats at dst + p·dstStride,
 * transposing 4×4 blocks in registers.
 */
function packTransposed4Strided(kc: i32, src: usize, rowStride: usize, dst: usize, dstStride: usize): void {
  const src1 = src + rowStride, src2 = src + 2 * rowStride, src3 = src + 3 * rowStride;
  let p = 0;
  for (; p + 4 <= kc; p += 4) {
    const offset = <usize>p << 2;
    const r0 = v128.load(src + offset), r1 = v128.load(src1 + offset);
    const r2 = v128.load(src2 + offset), r3 = v128.load(src3 + offset);
    const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // r0[0] r1[0] r0[1] r1[1]
    const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
    const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
    const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
    const to = dst + <usize>p * dstStride;
    v128.store(to, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
    v128.store(to + dstStride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
    v128.store(to + 2 * dstStride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
    v128.store(to + 3 * dstStride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
  }
  for (; p < kc; p++) {
    const offset = <usize>p << 2;
    const to = dst + <usize>p * dstStride;
    store<f32>(to, load<f32>(src + offset));
    store<f32>(to, load<f32>(src1 + offset), 4);
    store<f32>(to, load<f32>(src2 + offset), 8);
    store<f32>(to, load<f32>(src3 + offset), 12);
  }
}

/** acc + a·b: fused in the relaxed-SIMD build (assembly/_fma.ts). */
@inline
function multiplyAdd(acc: v128, a: v128, b: v128): v128 {
  return madd(acc, a, b);
}

/**
 * tile = alpha · Apanel · Bpanel + beta · tile for one MR×NR tile of C; only the top-left
 * rows×cols part is written when the tile sticks out of C.
 * NOTE: inlined into gemm: a call per tile measured ~14% slower. The price is that V8 runs a
 * first, long gemm call in its baseline tier (e.g. 1024³: ~170 ms once, then ~40 ms).
 */
@inline
function microKernel(
  kc: i32, aPanel: usize, bPanel: usize, c: usize, ldc: i32,
  alpha: f32, beta: f32, rows: i32, cols: i32,
): void {
  // Accumulator cRH: row R of the tile, columns 4H..4H+3.
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let pa = aPanel, pb = bPanel;
  // Looping on the A pointer alone (no separate counter) measured ~2% faster.
  const aEnd = aPanel + ((<usize>kc * MR) << 2);
  while (pa < aEnd) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = multiplyAdd(c00, a, b0);
    c01 = multiplyAdd(c01, a, b1);
    a = v128.load32_splat(pa, 4);
    c10 = multiplyAdd(c10, a, b0);
    c11 = multiplyAdd(c11, a, b1);
    a = v128.load32_splat(pa, 8);
    c20 = multiplyAdd(c20, a, b0);
    c21 = multiplyAdd(c21, a, b1);
    a = v128.load32_splat(pa, 12);
    c30 = multiplyAdd(c30, a, b0);
    c31 = multiplyAdd(c31, a, b1);
    pa += MR << 2;
    pb += NR << 2;
  }
  const rowBytes = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    storeRow(c, c00, c01, alpha, beta);
    storeRow(c + rowBytes, c10, c11, alpha, beta);
    storeRow(c + 2 * rowBytes, c20, c21, alpha, beta);
    storeRow(c + 3 * rowBytes, c30, c31, alpha, beta);
    return;
  }
  v128.store(edgeTile, c00);
  v128.store(edgeTile, c01, 16);
  v128.store(edgeTile, c10, 32);
  v128.store(edgeTile, c11, 48);
  v128.store(edgeTile, c20, 64);
  v128.store(edgeTile, c21, 80);
  v128.store(edgeTile, c30, 96);
  v128.store(edgeTile, c31, 112);
  for (let r = 0; r < rows; r++) {
    const row = c + <usize>r * rowBytes;
    for (let j = 0; j < cols; j++) {
      const at = row + (<usize>j << 2);
      const product = alpha * load<f32>(edgeTile + ((<usize>(r * NR + j)) << 2));
      store<f32>(at, beta == 0 ? product : product + beta * load<f32>(at));
    }
  }
}

/** Writes alpha·(lo, hi) + beta·C to the 8 floats at c (C not read when beta = 0). */
@inline
function storeRow(c: usize, lo: v128, hi: v128, alpha: f32, beta: f32): void {
  const va = f32x4.splat(alpha);
  let outLo = f32x4.mul(lo, va), outHi = f32x4.mul(hi, va);
  if (beta != 0) {
    const vb = f32x4.splat(beta);
    outLo = f32x4.add(outLo, f32x4.mul(v128.load(c), vb));
    outHi = f32x4.add(outHi, f32x4.mul(v128.load(c, 16), vb));
  }
  v128.store(c, outLo);
  v128.store(c, outHi, 16);
}
