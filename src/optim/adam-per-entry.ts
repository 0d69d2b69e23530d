// Adam with a step count per entry: the update of a sparse weight whose connections were grown at different steps.
//
// The same float32 arithmetic as the `adamStep` WebAssembly kernel (assembly/optim.ts: f32 constants,
// one rounding per operation), so an entry whose count equals the parameter's gets bit for bit the
// kernel's update; only the bias corrections 1 − β1^t and 1 − β2^t are taken at each entry's own
// step count t. Entries grown at one structure update share a count, so the corrections are
// computed once per distinct count.

/** The hyper-parameters the update reads (Adam's options). */
export interface AdamHyperParameters {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
}

const f32 = Math.fround;

interface BiasCorrection {
  stepSize: number;
  sqrtBc2: number;
}

/** One Adam / AdamW update of `w` in place; `steps[i]` (≥ 1, already incremented) is entry i's step count. */
export function adamStepPerEntry(
  o: AdamHyperParameters, decoupled: boolean, steps: Int32Array,
  w: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
): void {
  const lr = f32(o.lr), beta1 = f32(o.beta1), beta2 = f32(o.beta2), eps = f32(o.eps), weightDecay = f32(o.weightDecay);
  const beta1c = f32(1 - beta1), beta2c = f32(1 - beta2);
  const decay = f32(1 - f32(lr * weightDecay));
  const corrections = new Map<number, BiasCorrection>();
  const correctionAt = (t: number): BiasCorrection => {
    let c = corrections.get(t);
    if (c === undefined) {
      // As Adam.update computes them for the kernel: in float64, then passed as f32.
      c = { stepSize: f32(lr / f32(1 - o.beta1 ** t)), sqrtBc2: f32(Math.sqrt(f32(1 - o.beta2 ** t))) };
      corrections.set(t, c);
    }
    return c;
  };
  let lastStep = -1;
  let c: BiasCorrection = { stepSize: 0, sqrtBc2: 1 };
  for (let i = 0; i < w.length; i++) {
    if (steps[i] !== lastStep) [lastStep, c] = [steps[i], correctionAt(steps[i])];
    let wi = w[i];
    let g = grad[i];
    if (decoupled) wi = f32(wi * decay);
    else g = f32(g + f32(weightDecay * wi));
    const mi = f32(f32(beta1 * m[i]) + f32(beta1c * g));
    const vi = f32(f32(beta2 * v[i]) + f32(f32(beta2c * g) * g));
    m[i] = mi;
    v[i] = vi;
    const denom = f32(f32(f32(Math.sqrt(vi)) / c.sqrtBc2) + eps);
    w[i] = f32(wi - f32(c.stepSize * f32(mi / denom)));
  }
}
