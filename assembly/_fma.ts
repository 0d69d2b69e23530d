// The multiply-add of every kernel inner loop: one source, two builds (scripts/build-kernels.mjs).
//
// The relaxed-SIMD build (`--enable relaxed-simd`) emits f32x4.relaxed_madd, which V8 lowers to a
// fused multiply-add (vfmadd on x64 with FMA3, fmla on arm64) and to multiply-then-add on hardware
// without FMA: the result may differ from the plain build in the last bit, but on one machine and
// one build it is the same every run (Liftoff and TurboFan lower it alike). The plain-SIMD build
// emits f32x4.mul then f32x4.add. ASC_FEATURE_RELAXED_SIMD is a compile-time constant, so the
// untaken branch is not compiled.

/** acc + a·b on four f32 lanes (fused where the build and the hardware allow). */
@inline export function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}
