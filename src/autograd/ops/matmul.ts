// Dense matrix products with gradients: matmul (A·B) and linearOp (x·Wᵀ + b, PyTorch's F.linear), on the gemm kernel.
//
// Every product, forward or backward, is one gemm call; transposed operands are read through the
// kernel's transpose flags, never copied (for C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC).
import { kernels } from "../../backend/kernels.js";
import { empty, formatShape, type Tensor } from "../../tensor/tensor.js";
import { record } from "../engine.js";

/** out (m, n) = op(a)·op(b) (+ out when accumulate); a and b are contiguous matrices stored as given. */
function gemmInto(
  out: Tensor, a: Tensor, transposeA: boolean, b: Tensor, transposeB: boolean,
  m: number, n: number, k: number, accumulate = false,
): Tensor {
  const lda = transposeA ? m : k; // row length of a as stored
  const ldb = transposeB ? k : n;
  kernels.gemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1, a.ptr, lda, b.ptr, ldb, accumulate ? 1 : 0, out.ptr, n);
  return out;
}

function checkMatrix(op: string, t: Tensor, what: string, expected: string): void {
  if (t.rank !== 2) throw new RangeError(`${op}: ${what} shape ${formatShape(t.shape)} must be 2-D ${expected}`);
}

/** C = A·B for A (m, k) and B (k, n); C is (m, n). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkMatrix("matmul", a, "first operand", "[m, k]");
  checkMatrix("matmul", b, "second operand", "[k, n]");
  const [m, k] = a.shape;
  const [kb, n] = b.shape;
  if (k !== kb) {
    throw new RangeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not chain ` +
        `(the first operand's ${k} columns must equal the second operand's ${kb} rows)`,
    );
  }
  const out = gemmInto(empty([m, n]), a, false, b, false, m, n, k);
  return record("matmul", out, [a, b], (g) => [
    a.requiresGrad ? gemmInto(empty([m, k]), g, false, b, true, m, k, n) : null, // dA = dC·Bᵀ: (m, n)·(n, k)
    b.requiresGrad ? gemmInto(empty([k, n]), a, true, g, false, k, n, m) : null, // dB = Aᵀ·dC: (k, m)·(m, n)
  ]);
}

/**
 * y = x·Wᵀ + b for x (batch, in), W (out, in) in PyTorch's layout and an optional bias (out);
 * y is (batch, out).
 */
export function linearOp(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  checkMatrix("linearOp", x, "input", "[batch, inFeatures]");
  checkMatrix("linearOp", weight, "weight", "[outFeatures, inFeatures]");
  const [batch, inFeatures] = x.shape;
  const [outFeatures, weightIn] = weight.shape;
  if (inFeatures !== weightIn) {
    throw new RangeError(
      `linearOp: input ${formatShape(x.shape)} has ${inFeatures} features but weight ${formatShape(weight.shape)} ` +
        `expects ${weightIn} (weight is [outFeatures, inFeatures])`,
    );
  }
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
    throw new RangeError(`linearOp: bias shape ${formatShape(bias.shape)} must be [${outFeatures}] (one value per output feature)`);
  }
  const out = empty([batch, outFeatures]);
  // With a bias, every row starts as b and the gemm adds x·Wᵀ to it (beta = 1).
  if (bias !== undefined) kernels.broadcastAlong(1, batch, outFeatures, bias.ptr, out.ptr);
  gemmInto(out, x, false, weight, true, batch, outFeatures, inFeatures, bias !== undefined);
  const inputs = bias === undefined ? [x, weight] : [x, weight, bias];
  return record("linear", out, inputs, (g) => {
    const gradients: (Tensor | null)[] = [
      x.requiresGrad ? gemmInto(empty([batch, inFeatures]), g, false, weight, false, batch, inFeatures, outFeatures) : null, // dx = dy·W
      weight.requiresGrad ? gemmInto(empty([outFeatures, inFeatures]), g, true, x, false, outFeatures, inFeatures, batch) : null, // dW = dyᵀ·x
    ];
    if (bias !== undefined) {
      let biasGrad: Tensor | null = null;
      if (bias.requiresGrad) {
        biasGrad = empty([outFeatures]);
        kernels.reduceSum(1, batch, outFeatures, g.ptr, biasGrad.ptr); // db = column sums of dy
      }
      gradients.push(biasGrad);
    }
    return gradients;
  });
}
