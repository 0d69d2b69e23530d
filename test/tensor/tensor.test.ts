import assert from "node:assert/strict";
import { test } from "node:test";
import { heapStats } from "../../src/backend/heap.js";
import { empty, keep, rowsView, tensor, tidy, viewAs, zeros } from "../../src/tensor/tensor.js";

test("tensor holds values; shape and dtype errors name what was expected", () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(t.toNested(), [[1, 2, 3], [4, 5, 6]]);
  assert.throws(() => tensor([1, 2, 3], [2, 2]), /3 values do not fill shape \[2, 2\]/);
  assert.throws(() => tensor([1], [1], "int8" as never), /unsupported dtype "int8"/);
  assert.throws(() => empty([2, -1]), /invalid shape/);
});

test("views share storage; storage is freed only after the last view", () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  const v = viewAs(t, [6]);
  const r = rowsView(t, 1, 3);
  assert.deepEqual(Array.from(r.data), [3, 4, 5, 6]);
  v.data[2] = 30;
  assert.equal(t.data[2], 30);
  t.dispose();
  assert.equal(r.data[0], 30); // still alive through the views
  assert.throws(() => t.data, /used after dispose/);
  v.dispose();
  r.dispose();
});

test("tidy disposes intermediates, keeps returned and kept tensors, and reuses memory", () => {
  const before = heapStats().bytesInUse;
  let leaked: ReturnType<typeof zeros> | undefined;
  const result = tidy(() => {
    zeros([1000]);
    leaked = keep(zeros([10]));
    return { out: zeros([4]) };
  });
  assert.equal(result.out.isDisposed, false);
  assert.equal(leaked!.isDisposed, false);
  result.out.dispose();
  leaked!.dispose();
  assert.equal(heapStats().bytesInUse, before);
});
