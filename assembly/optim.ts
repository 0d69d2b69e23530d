// Optimizer update kernels (SGD, Adam/AdamW, norms, clamping). Specification: src/backend/reference/optim.ts.

export function sgdStep(
  n: i32, lr: f32, momentum: f32, dampening: f32, weightDecay: f32,
  nesterov: i32, firstStep: i32, w: usize, grad: usize, buf: usize,
): void {
  const vlr = f32x4.splat(lr);
  const vwd = f32x4.splat(weightDecay);
  const vmom = f32x4.splat(momentum);
  const vdamp = f32x4.splat(1 - dampening);
  const useMomentum = momentum != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const wi = v128.load(w + o);
    let g = f32x4.add(v128.load(grad + o), f32x4.mul(vwd, wi));
    if (useMomentum) {
      const b = firstStep ? g : f32x4.add(f32x4.mul(vmom, v128.load(buf + o)), f32x4.mul(vdamp, g));
      v128.store(buf + o, b);
      g = nesterov ? f32x4.add(g, f32x4.mul(vmom, b)) : b;
    }
    v128.store(w + o, f32x4.sub(wi, f32x4.mul(vlr, g)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const wi = load<f32>(w + o);
    let g = load<f32>(grad + o) + weightDecay * wi;
    if (useMomentum) {
      const b = firstStep ? g : momentum * load<f32>(buf + o) + (1 - dampening) * g;
      store<f32>(buf + o, b);
      g = nesterov ? g + momentum * b : b;
    }
    store<f32>(w + o, wi - lr * g);
  }
}

export function adamStep(
  n: i32, lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32,
  decoupled: i32, bc1: f32, bc2: f32, w: usize, grad: usize, m: usize, v: usize,
): void {
  const stepSize = lr / bc1;
  const sqrtBc2 = <f32>Math.sqrt(bc2);
  const decay = <f32>(1 - lr * weightDecay);
  const vb1 = f32x4.splat(beta1), vb1c = f32x4.splat(1 - beta1);
  const vb2 = f32x4.splat(beta2), vb2c = f32x4.splat(1 - beta2);
  const veps = f32x4.splat(eps), vstep = f32x4.splat(stepSize), vsq = f32x4.splat(sqrtBc2);
  const vdecay = f32x4.splat(decay), vwd = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let wi = v128.load(w + o);
    let g = v128.load(grad + o);
    if (decoupled) wi = f32x4.mul(wi, vdecay);
    else g = f32x4.add(g, f32x4.mul(vwd, wi));
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vb1c, g));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(f32x4.mul(vb2c, g), g));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), vsq), veps);
    v128.store(w + o, f32x4.sub(wi, f32x4.mul(vstep, f32x4.div(mi, denom))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let wi = load<f32>(w + o);
    let g = load<f32>(grad + o);
    if (decoupled) wi = wi * decay;
    else g = g + weightDecay * wi;
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const denom = <f32>Math.sqrt(vi) / sqrtBc2 + eps;
    store<f32>(w + o, wi - stepSize * (mi / denom));
  }
}

export function sumSquares(n: i32, x: usize): f64 {
  // Float64 accumulation, like the reference: a norm over millions of weights must not lose digits.
  let s0: f64 = 0, s1: f64 = 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const a = <f64>load<f32>(x + (<usize>i << 2));
    const b = <f64>load<f32>(x + (<usize>(i + 1) << 2));
    s0 += a * a;
    s1 += b * b;
  }
  if (i < n) {
    const a = <f64>load<f32>(x + (<usize>i << 2));
    s0 += a * a;
  }
  return s0 + s1;
}

export function clamp(n: i32, low: f32, high: f32, x: usize): void {
  const vl = f32x4.splat(low), vh = f32x4.splat(high);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.min(f32x4.max(v128.load(x + o), vl), vh));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, min(max(load<f32>(x + o), low), high));
  }
}
