// The activations of the compact format on one float32 or four lanes, matching src/runtime/reference-predict.ts (tanh, sigmoid and GELU are evaluated in float64).
//
// Codes (keep in sync with ACTIVATION_CODES in src/runtime/inference-plan.ts): 0 identity,
// 1 relu, 2 leaky-relu, 3 tanh, 4 sigmoid, 5 gelu.

export const IDENTITY: i32 = 0;
export const RELU: i32 = 1;
export const LEAKY_RELU: i32 = 2;
export const TANH: i32 = 3;
export const SIGMOID: i32 = 4;
export const GELU: i32 = 5;

/** Φ(x) through Numerical Recipes' erfcc (relative error below 1.2e-7), as the reference computes it. */
function normalCdf(x: f64): f64 {
  const z = Math.abs(x) * Math.SQRT1_2;
  const t = 1 / (1 + 0.5 * z);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const half = 0.5 * t * Math.exp(-z * z + p);
  return x >= 0 ? 1 - half : half;
}

/** act(v) for one value. NOTE: relu keeps a NaN a NaN (v <= 0 is false for it), as the reference does. */
export function activateScalar(code: i32, slope: f32, v: f32): f32 {
  if (code == RELU) return v <= 0 ? 0 : v;
  if (code == LEAKY_RELU) return v > 0 ? v : slope * v;
  if (code == TANH) return <f32>Math.tanh(<f64>v);
  if (code == SIGMOID) {
    const x = <f64>v;
    return <f32>(x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
  }
  if (code == GELU) return <f32>(<f64>v * normalCdf(<f64>v));
  return v;
}

/** act(v) on four lanes: relu and leaky-relu in SIMD, the transcendental ones lane by lane. */
@inline export function activateVector(code: i32, slope: f32, v: v128): v128 {
  if (code == IDENTITY) return v;
  // f32x4.max(NaN, 0) is NaN and max(−0, +0) is +0: the same as the scalar relu.
  if (code == RELU) return f32x4.max(v, f32x4.splat(0));
  if (code == LEAKY_RELU) return v128.bitselect(v, f32x4.mul(v, f32x4.splat(slope)), f32x4.gt(v, f32x4.splat(0)));
  let out = f32x4.splat(activateScalar(code, slope, f32x4.extract_lane(v, 0)));
  out = f32x4.replace_lane(out, 1, activateScalar(code, slope, f32x4.extract_lane(v, 1)));
  out = f32x4.replace_lane(out, 2, activateScalar(code, slope, f32x4.extract_lane(v, 2)));
  return f32x4.replace_lane(out, 3, activateScalar(code, slope, f32x4.extract_lane(v, 3)));
}

/** act over `count` contiguous floats at `ptr`, in place. */
export function activateRange(code: i32, slope: f32, ptr: usize, count: i32): void {
  if (code == IDENTITY) return;
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = ptr + (<usize>i << 2);
    v128.store(at, activateVector(code, slope, v128.load(at)));
  }
  for (; i < count; i++) {
    const at = ptr + (<usize>i << 2);
    store<f32>(at, activateScalar(code, slope, load<f32>(at)));
  }
}
