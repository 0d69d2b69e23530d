// Per-row symmetric quantization: zeros stay zero, scales are finite and positive, values within half a step, int4 packing round-trips.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  denseRowOffsets, dequantizeRows, fakeQuantizeRows, packInt4, qmax, quantizeRows, roundHalfEven, rowScales, unpackInt4, type QuantBits,
} from "../../src/quantize/rows.js";

const weightRows = fc.integer({ min: 1, max: 9 }).chain((rows) => fc.integer({ min: 1, max: 13 }).chain((cols) =>
  fc.array(fc.oneof(
    fc.constant(0),
    fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }),
    fc.float({ min: Math.fround(-1e-30), max: Math.fround(1e-30), noNaN: true }),
    fc.float({ min: Math.fround(-3e38), max: Math.fround(3e38), noNaN: true }),
  ), { minLength: rows * cols, maxLength: rows * cols }).map((v) => ({ rows, cols, values: Float32Array.from(v) }))));
const bitsArb = fc.constantFrom<QuantBits>(8, 4);

test("zeros quantize to code 0 and back to exactly 0; every scale is finite and positive; values within half a step", () => {
  fc.assert(fc.property(weightRows, bitsArb, ({ rows, cols, values }, bits) => {
    const offsets = denseRowOffsets(rows, cols);
    const { codes, scales } = quantizeRows(values, offsets, bits);
    const back = dequantizeRows(codes, scales, offsets);
    for (let r = 0; r < rows; r++) {
      const s = scales[r];
      assert.ok(Number.isFinite(s) && s > 0, `row ${r}: scale ${s}`);
      for (let i = r * cols; i < (r + 1) * cols; i++) {
        assert.ok(Math.abs(codes[i]) <= qmax(bits), `code ${codes[i]}`);
        if (values[i] === 0) assert.equal(back[i], 0, "a zero must stay zero");
        assert.ok(Number.isFinite(back[i]));
        // Half a step, plus the float32 rounding of code × scale.
        const bound = s / 2 + Math.abs(values[i]) * 2 ** -23 + 1e-45;
        assert.ok(Math.abs(back[i] - values[i]) <= bound, `row ${r} value ${values[i]} → ${back[i]} (scale ${s})`);
      }
    }
  }), { numRuns: 500 });
});

test("the largest magnitude of a row maps to ±qmax, and a row of zeros gets scale 1", () => {
  const values = Float32Array.from([0, 0, 0, 0.5, -2, 1.2, 0, 0, 3]);
  const offsets = denseRowOffsets(3, 3);
  const { codes, scales } = quantizeRows(values, offsets, 8);
  assert.deepEqual([...scales], [1, Math.fround(2 / 127), Math.fround(3 / 127)]);
  assert.deepEqual([...codes], [0, 0, 0, 32, -127, 76, 0, 0, 127]);
  const int4 = quantizeRows(values, offsets, 4);
  assert.deepEqual([...int4.codes], [0, 0, 0, 2, -7, 4, 0, 0, 7]); // 0.5/(2/7) = 1.75 → 2; 1.2/(2/7) = 4.2 → 4
});

test("CSR row pointers work as offsets, empty rows included", () => {
  const values = Float32Array.from([1, -0.25, 0.75]);
  const rowPtr = Int32Array.from([0, 2, 2, 3]);
  const { codes, scales } = quantizeRows(values, rowPtr, 8);
  assert.equal(scales.length, 3);
  assert.equal(scales[1], 1);
  assert.deepEqual([...codes], [127, -32, 127]);
  assert.throws(() => quantizeRows(values, Int32Array.from([0, 2]), 8), /row offsets must run from 0 to the 3 values/);
});

test("fake quantization equals dequantize(quantize(·)) value for value, also in place", () => {
  fc.assert(fc.property(weightRows, bitsArb, ({ rows, cols, values }, bits) => {
    const offsets = denseRowOffsets(rows, cols);
    const { codes, scales } = quantizeRows(values, offsets, bits);
    const expected = dequantizeRows(codes, scales, offsets);
    assert.deepEqual(fakeQuantizeRows(values, offsets, bits, new Float32Array(values.length)), expected);
    const inPlace = values.slice();
    fakeQuantizeRows(inPlace, offsets, bits);
    assert.deepEqual(inPlace, expected);
    // Idempotent: quantized weights are already on the grid.
    assert.deepEqual(fakeQuantizeRows(expected.slice(), offsets, bits), expected);
  }), { numRuns: 300 });
});

test("round half to even is symmetric around zero", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, -3]);
});

test("int4 codes pack two per byte and unpack to the same codes", () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -8, max: 7 }), { maxLength: 41 }), (list) => {
    const packed = packInt4(list);
    assert.equal(packed.length, Math.ceil(list.length / 2));
    assert.deepEqual([...unpackInt4(packed, list.length)], list);
  }));
  assert.deepEqual([...packInt4([1, -1, -8])], [0xf1, 0x08]);
  assert.throws(() => packInt4([8]), /code 8 at index 0 is not an int4/);
  assert.throws(() => unpackInt4(new Uint8Array(2), 5), /2 bytes hold 4 codes, expected 5/);
});

test("rowScales refuses offsets that do not cover the values", () => {
  assert.throws(() => rowScales(new Float32Array(4), [0, 3], 8), /row offsets/);
});
