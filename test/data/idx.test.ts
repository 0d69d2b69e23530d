// IDX reader: round trips through raw and gzip files, and every header or size problem named with the file.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { encodeIdx, parseIdx, readIdx, type IdxArray } from "../../src/data/idx.js";

const dir = mkdtempSync(join(tmpdir(), "idx-test-"));

test("reads raw and gzip files of every dtype, with big-endian values", () => {
  const arrays: IdxArray[] = [
    { dtype: "uint8", shape: [2, 3, 2], values: Uint8Array.from({ length: 12 }, (_, i) => i * 20) },
    { dtype: "int8", shape: [3], values: Int8Array.from([-128, 0, 127]) },
    { dtype: "int16", shape: [2], values: Int16Array.from([-300, 300]) },
    { dtype: "int32", shape: [1, 2], values: Int32Array.from([-70000, 2 ** 31 - 1]) },
    { dtype: "float32", shape: [2], values: Float32Array.from([1.5, -0.25]) },
    { dtype: "float64", shape: [1], values: Float64Array.from([Math.PI]) },
  ];
  for (const array of arrays) {
    const raw = join(dir, `a-${array.dtype}`);
    writeFileSync(raw, encodeIdx(array));
    writeFileSync(`${raw}.gz`, gzipSync(encodeIdx(array)));
    for (const path of [raw, `${raw}.gz`]) {
      const read = readIdx(path);
      assert.equal(read.dtype, array.dtype);
      assert.deepEqual(read.shape, array.shape);
      assert.deepEqual([...read.values], [...array.values]);
    }
  }
  // Big-endian on disk: 0x0102 as int16 is bytes 01 02.
  const bytes = encodeIdx({ dtype: "int16", shape: [1], values: Int16Array.from([0x0102]) });
  assert.deepEqual([...bytes], [0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2]);
});

test("a zero-length first dimension is a valid empty array", () => {
  const read = parseIdx(encodeIdx({ dtype: "uint8", shape: [0, 28, 28], values: new Uint8Array(0) }), "empty");
  assert.deepEqual(read.shape, [0, 28, 28]);
  assert.equal(read.values.length, 0);
});

test("errors name the file and the problem", () => {
  const good = encodeIdx({ dtype: "uint8", shape: [60000, 28, 28], values: new Uint8Array(0) }).subarray(0, 16);
  const truncated = new Uint8Array(16 + 1234);
  truncated.set(good);
  assert.throws(
    () => parseIdx(truncated, "train-images-idx3-ubyte"),
    { message: "train-images-idx3-ubyte: header says 60000×28×28 = 47040000 bytes of data but the file has 1234 after the header" },
  );
  const int32 = encodeIdx({ dtype: "int32", shape: [3], values: Int32Array.from([1, 2, 3]) });
  assert.throws(() => parseIdx(int32.subarray(0, int32.length - 1), "f"), /f: header says 3 × 4 bytes = 12 bytes of data but the file has 11/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0]), "short"), /short: not an IDX file \(2 bytes/);
  assert.throws(() => parseIdx(new Uint8Array([0x50, 0x4b, 3, 4, 0]), "zip"), /zip: not an IDX file \(magic number 50 4b 03 04/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 0]), "dt"), /dt: unknown IDX dtype code 0x07/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]), "hdr"), /hdr: truncated IDX header \(3 dimensions need 16 header bytes, the file has 8\)/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 8, 0]), "rank"), /rank: IDX header declares 0 dimensions/);
  const gz = gzipSync(encodeIdx({ dtype: "uint8", shape: [4], values: new Uint8Array(4) }));
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 6), "cut.gz"), /cut\.gz: corrupt gzip data/);
  assert.throws(() => readIdx(join(dir, "missing")), /missing: cannot read IDX file/);
});
