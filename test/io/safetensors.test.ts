// safetensors: golden bytes of the spec, round trips of every dtype, and each corruption named with the file.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeSafetensors, encodeSafetensors, int64ToInt32, readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "safetensors-test-"));
const ascii = (s: string) => new TextEncoder().encode(s);

/** A file built by hand from the spec: u64 LE header length, space-padded JSON, little-endian data. */
function handMadeFile(headerJson: string, data: number[]): Uint8Array {
  const padded = headerJson + " ".repeat((8 - (headerJson.length % 8)) % 8);
  const out = new Uint8Array(8 + padded.length + data.length);
  out[0] = padded.length & 0xff;
  out[1] = padded.length >> 8;
  out.set(ascii(padded), 8);
  out.set(data, 8 + padded.length);
  return out;
}

const goldenHeader =
  '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
// 1.0 = 0x3f800000, −2.0 = 0xc0000000, 258 = 0x00000102, all little-endian.
const goldenData = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x02, 0x01, 0x00, 0x00];

test("golden: decodes a hand-made file and encodes the same bytes", () => {
  const golden = handMadeFile(goldenHeader, goldenData);
  const { tensors, metadata } = decodeSafetensors(golden, "golden");
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual(tensors.get("w"), { dtype: "F32", shape: [2], values: Float32Array.from([1, -2]) });
  assert.deepEqual(tensors.get("i"), { dtype: "I32", shape: [1], values: Int32Array.from([258]) });
  const encoded = encodeSafetensors({ w: { shape: [2], values: Float32Array.from([1, -2]) }, i: { shape: [1], values: Int32Array.from([258]) } }, { format: "pt" });
  assert.deepEqual([...encoded], [...golden]);
  // Header length is a multiple of 8, so the data section starts aligned.
  assert.equal(Number(new DataView(encoded.buffer).getBigUint64(0, true)) % 8, 0);
});

test("round trip of F32, I32, I64 (from Int32Array or BigInt64Array), U8, I8, scalars and empty tensors", () => {
  const path = join(dir, "model.safetensors");
  const crow = Int32Array.from([0, 2, 3]);
  writeSafetensors(path, [
    ["layers.0.weight", { shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
    ["flag", { shape: [3], values: Uint8Array.from([1, 0, 255]) }],
    ["codes", { shape: [4], values: Int8Array.from([-128, -1, 0, 127]) }],
    ["layers.1.weight.crow_indices", { dtype: "I64", shape: [3], values: crow }],
    ["big", { shape: [2], values: BigInt64Array.from([-(2n ** 40n), 7n]) }],
    ["count", { shape: [], values: Int32Array.from([-42]) }],
    ["empty", { shape: [0, 4], values: new Float32Array(0) }],
  ], { step: "12", recipe: "seed: 1\n" });
  const { tensors, metadata } = readSafetensors(path);
  assert.deepEqual(metadata, { step: "12", recipe: "seed: 1\n" });
  assert.deepEqual(tensors.get("layers.0.weight")!.values, Float32Array.from([1, 2, 3, 4, 5, -6.5]));
  assert.deepEqual(tensors.get("flag"), { dtype: "U8", shape: [3], values: Uint8Array.from([1, 0, 255]) });
  assert.deepEqual(tensors.get("codes"), { dtype: "I8", shape: [4], values: Int8Array.from([-128, -1, 0, 127]) });
  const stored = tensors.get("layers.1.weight.crow_indices")!;
  assert.equal(stored.dtype, "I64");
  assert.deepEqual(int64ToInt32(stored.values as BigInt64Array, "crow"), crow);
  assert.deepEqual(tensors.get("big")!.values, BigInt64Array.from([-(2n ** 40n), 7n]));
  assert.deepEqual(tensors.get("count"), { dtype: "I32", shape: [], values: Int32Array.from([-42]) });
  assert.deepEqual(tensors.get("empty")!.shape, [0, 4]);
  assert.throws(() => int64ToInt32(tensors.get("big")!.values as BigInt64Array, "big"), /big: value -1099511627776 at index 0 does not fit in int32/);
});

test("writer rejects inconsistent input", () => {
  assert.throws(() => encodeSafetensors({ a: { shape: [2, 2], values: new Float32Array(3) } }), /tensor "a" of shape \[2, 2\] needs 4 values, got 3/);
  assert.throws(() => encodeSafetensors({ a: { dtype: "I32", shape: [1], values: new Float32Array(1) } }), /tensor "a" is Float32Array, which cannot be written as I32/);
  assert.throws(() => encodeSafetensors({ __metadata__: { shape: [1], values: new Float32Array(1) } }), /invalid tensor name "__metadata__"/);
  assert.throws(() => encodeSafetensors({}, { step: 3 as unknown as string }), /metadata "step" must be a string/);
});

/** A valid header + data with one field replaced, for the corruption cases. */
function corrupt(header: object, dataBytes: number): Uint8Array {
  return handMadeFile(JSON.stringify(header), new Array(dataBytes).fill(0));
}
const entry = (dtype: string, shape: number[], offsets: number[]) => ({ dtype, shape, data_offsets: offsets });

test("every corruption is an error naming the file and the problem", () => {
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(5), /f\.st: 5 bytes, shorter than the 8-byte header length/],
    [handMadeFile("{}", []).subarray(0, 8), /f\.st: header length 8 is larger than the file \(0 bytes after the 8-byte length\)/],
    [(() => { const b = handMadeFile("{}", []); b[7] = 1; return b; })(), /f\.st: header length 72057594037927944 is larger than the file/],
    [handMadeFile("{not json", []), /f\.st: the header is not valid JSON/],
    [handMadeFile('{"a": ', []), /f\.st: the header is not valid JSON: it ends before the JSON does \(is the 8-byte header length right\?\)$/],
    [handMadeFile("[1, 2]", []), /f\.st: the header must be a JSON object/],
    [(() => { const b = handMadeFile('{"a":"xx"}', []); b[15] = 0xff; return b; })(), /f\.st: the header is not valid UTF-8/],
    [corrupt({ a: entry("F16", [2], [0, 4]) }, 4), /f\.st: tensor "a": unknown dtype "F16" \(supported: F32, I32, I64, U8, I8\)/],
    [corrupt({ a: entry("F32", [-1], [0, 4]) }, 4), /tensor "a": shape \[-1\] must be a list of integers >= 0/],
    [corrupt({ a: entry("F32", [1], [0]) }, 4), /tensor "a": data_offsets \[0\] must be \[begin, end\]/],
    [corrupt({ a: entry("F32", [1], [8, 4]) }, 8), /tensor "a": data_offsets \[8, 4\] end before they begin/],
    [corrupt({ a: entry("F32", [2], [0, 8]) }, 4), /tensor "a": data_offsets \[0, 8\] are out of range \(the data section has 4 bytes\)/],
    [corrupt({ a: entry("F32", [2, 3], [0, 20]) }, 20), /tensor "a": shape \[2, 3\] × 4 bytes \(F32\) = 24 bytes, but data_offsets \[0, 20\] hold 20/],
    [corrupt({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, 12), /tensors "a" and "b" overlap \(bytes \[4, 8\) of the data\)/],
    [corrupt({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) }, 12), /bytes \[4, 8\) of the data belong to no tensor/],
    [corrupt({ a: entry("F32", [1], [0, 4]) }, 12), /bytes \[4, 12\) of the data belong to no tensor/],
    [corrupt({ __metadata__: { step: 3 }, a: entry("U8", [1], [0, 1]) }, 1), /"__metadata__"\."step" must be a string, got 3/],
    [corrupt({ a: [1, 2] }, 0), /tensor "a": expected an object \{dtype, shape, data_offsets\}/],
  ];
  for (const [bytes, expected] of cases) assert.throws(() => decodeSafetensors(bytes, "f.st"), expected);
  assert.throws(() => readSafetensors(join(dir, "absent.safetensors")), /absent\.safetensors: cannot read checkpoint/);
});

test("a failed write leaves the previous file intact and no temporary file behind", () => {
  const path = join(dir, "keep.safetensors");
  writeSafetensors(path, { a: { shape: [1], values: Float32Array.from([1]) } });
  const before = readFileSync(path);
  assert.throws(() => writeSafetensors(path, { a: { shape: [2], values: Float32Array.from([1]) } }), /needs 2 values/);
  assert.deepEqual(readFileSync(path), before);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
});
