// The compact reader refuses bad files with one line naming the file, layer and tensor: truncation, wrong format or version, broken indices, shapes that do not chain, a wrong checksum.
import assert from "node:assert/strict";
import { test } from "node:test";
import { exportCompactModel } from "../../src/export/compact-writer.js";
import { buildModel } from "../../src/nn/presets.js";
import { readCompactModel } from "../../src/runtime/compact-reader.js";
import { referencePredict } from "../../src/runtime/reference-predict.js";
import { joinSafetensors, splitSafetensors } from "../fuzz/safetensors-bytes.js";
import { editCompact, lenetSparseSpec, mlpModel, mnistScalar, restampChecksum, tensorOffset } from "../helpers/compact-models.js";

const NAME = "bad.compact";
const csrBytes = exportCompactModel(mlpModel(), { normalizer: mnistScalar, structure: "csr", values: "int8" });
const bitmaskBytes = exportCompactModel(mlpModel(), { normalizer: mnistScalar, structure: "bitmask" });
const codedBytes = exportCompactModel(mlpModel(), { normalizer: mnistScalar, structure: "csr-expgolomb", values: "int4" });

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => readCompactModel(bytes, NAME), (error: Error) => {
    assert.ok(error.message.startsWith(`${NAME}: `), error.message);
    assert.equal(error.message.split("\n").length, 1);
    assert.match(error.message, pattern);
    return true;
  });
}

/** Sets bytes of one tensor's data, then re-stamps the checksum so that the structural check is what fails. */
function patchTensor(bytes: Uint8Array, name: string, at: number, values: number[]): Uint8Array {
  const { headerText, data } = splitSafetensors(bytes);
  const begin = tensorOffset(bytes, name);
  data.set(values, begin + at);
  return restampChecksum(joinSafetensors(headerText, data));
}

test("compact reader: valid files load (the fixtures are sound)", () => {
  for (const bytes of [csrBytes, bitmaskBytes, codedBytes]) assert.equal(readCompactModel(bytes, NAME).outputSize, 3);
});

test("compact reader: versions — a file without exp-Golomb codes is version 1, one with them version 2; a v1 file may not use them", () => {
  assert.equal(readCompactModel(csrBytes, NAME).version, 1);
  assert.equal(readCompactModel(bitmaskBytes, NAME).version, 1);
  assert.equal(readCompactModel(codedBytes, NAME).version, 2);
  refuses(editCompact(codedBytes, (h) => { h.__metadata__.version = "1"; }), /layers\.0\.weight\.structure "csr-expgolomb" needs format version 2, but the file says version 1/);
  refuses(editCompact(codedBytes, (h) => { h.__metadata__.version = "0"; }), /format version 0 is not supported by this reader \(it reads versions 1 to 2\)/);
});

test("compact reader: exp-Golomb gap codes — a bad gap_order, gap_order on another structure, codes past the row, padding and trailing bytes", () => {
  refuses(editCompact(codedBytes, (_, layout) => { layout.layers[0].weight.gap_order = 16; }), /layers\.0\.weight\.gap_order 16 must be an integer in 0\.\.15/);
  refuses(editCompact(codedBytes, (_, layout) => { delete layout.layers[0].weight.gap_order; }), /layers\.0\.weight\.gap_order undefined must be an integer in 0\.\.15/);
  refuses(editCompact(codedBytes, (_, layout) => { layout.layers[0].weight.gap_order = 1.5; }), /gap_order 1\.5 must be an integer/);
  refuses(editCompact(csrBytes, (_, layout) => { layout.layers[0].weight.gap_order = 2; }), /layers\.0\.weight: unknown field "gap_order"/);
  // All-zero bytes: a code with more than 31 leading zeros; all-one bytes with order 0: each code is one bit (gap 0), so 8 entries land in row 0 first.
  refuses(patchTensor(codedBytes, "layers.0.weight.col_codes", 0, [0, 0, 0, 0, 0]), /layers\.0\.weight\.col_codes: row 0 has a code of more than 31 leading zeros|layers\.0\.weight\.col_codes: row 0 runs to column \d+, past the 16 columns/);
  refuses(editCompact(codedBytes, (_, layout) => { layout.layers[0].weight.gap_order = 15; }), /layers\.0\.weight\.col_codes: (row \d+ runs to column \d+, past the 16 columns|ends \(\d+ bytes\) inside row \d+)/);
  const [begin, end] = JSON.parse(splitSafetensors(codedBytes).headerText)["layers.0.weight.col_codes"].data_offsets;
  // The last byte of the stream: set every bit; either the padding bits were 0 (now not) or the last code changes.
  const last = patchTensor(codedBytes, "layers.0.weight.col_codes", end - begin - 1, [0xff]);
  refuses(last, /layers\.0\.weight\.col_codes: (the \d padding bits after the last code must be 0|row \d+ runs to column|\d+ bytes after the last row's codes|ends)/);
});

test("compact reader: truncated files and a header length past the end", () => {
  refuses(csrBytes.slice(0, 5), /5 bytes, shorter than the 8-byte header length/);
  refuses(csrBytes.slice(0, 200), /header length \d+ is larger than the file/);
  refuses(csrBytes.slice(0, csrBytes.length - 3), /belong to no tensor|out of range/);
});

test("compact reader: not a compact file, an unknown version, an unknown layer kind, an unknown field", () => {
  refuses(editCompact(csrBytes, (h) => { h.__metadata__.format = "pt"; }), /metadata "format" is "pt", expected "sparsetrain-compact"/);
  refuses(editCompact(csrBytes, (h) => { h.__metadata__.version = "3"; }), /format version 3 is not supported by this reader \(it reads versions 1 to 2\)/);
  refuses(editCompact(csrBytes, (_, layout) => { layout.layers[1].kind = "lstm"; }), /layers\.1: unknown layer kind "lstm"/);
  refuses(editCompact(csrBytes, (_, layout) => { layout.layers[0].weight.sign = 1; }), /layers\.0\.weight: unknown field "sign"/);
  refuses(editCompact(csrBytes, (_, layout) => { layout.layers[2].activation = "softplus"; }), /layers\.2\.activation "softplus" is not one of/);
});

test("compact reader: row pointers that decrease or do not end at nnz", () => {
  // layers.0.weight.row_ptr is U8 here (30% of 12×16 = 58 entries); make row 1's pointer larger than row 2's.
  refuses(patchTensor(csrBytes, "layers.0.weight.row_ptr", 1, [200]), /layers\.0\.weight\.row_ptr: decreases from 200 to \d+ at row 1/);
  refuses(patchTensor(csrBytes, "layers.0.weight.row_ptr", 0, [1]), /row_ptr: starts at 1, expected 0/);
});

test("compact reader: column gaps that run past the row, and a bitmask whose popcount differs from the values", () => {
  refuses(patchTensor(csrBytes, "layers.0.weight.col_gaps", 0, [255]), /layers\.0\.weight\.col_gaps: row 0 runs to column \d+, past the 16 columns/);
  refuses(patchTensor(bitmaskBytes, "layers.0.weight.bitmask", 0, [0xff]), /layers\.0\.weight\.bitmask: \d+ bits set, but "nnz" is \d+/);
});

test("compact reader: scales that are 0, negative or not finite; weights that are not finite", () => {
  for (const bits of [[0, 0, 0, 0], [0, 0, 0x80, 0xbf], [0, 0, 0xc0, 0x7f]]) {
    refuses(patchTensor(csrBytes, "layers.1.weight.scales", 4, bits), /layers\.1\.weight\.scales: row 1 has scale (0|-1|NaN), expected a finite number > 0/);
  }
  refuses(patchTensor(bitmaskBytes, "layers.1.weight.values", 0, [0, 0, 0x80, 0x7f]), /layers\.1\.weight\.values: value 0 is Infinity/);
});

test("compact reader: shapes that do not chain, a tensor of the wrong dtype or shape, a missing or extra tensor", () => {
  refuses(editCompact(csrBytes, (_, layout) => { layout.layers[1].in_features = 13; }), /layers\.1 \(linear\): in_features 13 does not match its input shape \[12\]/);
  refuses(editCompact(csrBytes, (_, layout) => { layout.input_shape = [1, 4, 4]; }), /layers\.0 \(linear\): in_features 16 does not match its input shape \[1, 4, 4\]/);
  refuses(editCompact(csrBytes, (h) => { (h["layers.0.bias"] as { dtype: string }).dtype = "U32"; }), /tensor "layers\.0\.bias" has dtype U32, expected F32/);
  refuses(editCompact(csrBytes, (h) => { h["layers.9.bias"] = h["layers.0.bias"]; delete h["layers.0.bias"]; }), /tensor "layers\.0\.bias" is missing/);
  const lenet = exportCompactModel(buildModel(lenetSparseSpec));
  refuses(editCompact(lenet, (_, layout) => { layout.layers.splice(4, 1); }), /layers\.4 \(linear\): in_features \d+ does not match its input shape \[50, 1, 1\]/);
  refuses(editCompact(lenet, (_, layout) => { layout.layers[1].kernel = 40; }), /layers\.1 \(maxpool\): a 40×40 window does not fit the 12×12 input/);
  refuses(editCompact(lenet, (_, layout) => { layout.layers.pop(); }), /tensor "layers\.6\.\w+(\.\w+)?" belongs to no layer of the layout/);
});

test("compact reader: a flipped data byte or a layout edit without a new checksum is a checksum mismatch", () => {
  const { headerText, data } = splitSafetensors(csrBytes);
  const at = tensorOffset(csrBytes, "layers.0.bias");
  data[at] ^= 1;
  refuses(joinSafetensors(headerText, data), /checksum mismatch: .* the file is corrupted/);
  const relu = splitSafetensors(csrBytes).headerText.replace('\\"activation\\":\\"relu\\"', '\\"activation\\":\\"tanh\\"');
  refuses(joinSafetensors(relu, splitSafetensors(csrBytes).data), /checksum mismatch/);
});

test("referencePredict: an input whose length is not batch × input size, and a batch size of 0, are refused", () => {
  const model = readCompactModel(csrBytes, NAME);
  assert.throws(() => referencePredict(model, new Float32Array(17), 1), /17 input values for 1 examples of 16 features \(shape \[16\]\); expected 16/);
  assert.throws(() => referencePredict(model, new Float32Array(0), 0), /batch size must be an integer >= 1, got 0/);
});
