// Whether this JavaScript engine validates WebAssembly SIMD and relaxed SIMD: two tiny modules that use one instruction of each (no Node-only APIs, so browsers run it too).

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)) — validates only with SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
// (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd)) — validates only with relaxed SIMD.
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 133, 2, 11,
]);

/** Whether the engine runs WebAssembly SIMD (128-bit). */
export function hasWasmSimd(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

/** Whether the engine runs WebAssembly relaxed SIMD now (Node 20 only behind a V8 flag). */
export function hasWasmRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}
