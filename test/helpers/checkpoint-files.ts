// Checkpoint files as the tests read them (not through the loader): shapes, dense-twin counts, bit-identity; and the message of an expected error.
import assert from "node:assert/strict";
import { readSafetensors } from "../../src/io/safetensors.js";

/** Shapes of every tensor in a checkpoint, by name. */
export function storedShapes(path: string): Record<string, number[]> {
  return Object.fromEntries([...readSafetensors(path).tensors].map(([name, t]) => [name, t.shape]));
}

/** Parameters of a checkpoint as a dense twin counts them (total) and its non-zeros. */
export function storedCounts(path: string): { total: number; nonzero: number } {
  const { tensors, metadata } = readSafetensors(path);
  const sparseShapes = JSON.parse(metadata.sparse) as Record<string, [number, number]>;
  let total = 0, nonzero = 0;
  for (const [name, t] of tensors) {
    if (name.endsWith("_mask") || name.endsWith("_indices")) continue;
    const base = name.replace(/\.values$/, "");
    total += name.endsWith(".values") ? sparseShapes[base][0] * sparseShapes[base][1] : t.values.length;
    for (const v of t.values as Float32Array) if (v !== 0) nonzero++;
  }
  return { total, nonzero };
}

/** Checks two checkpoints hold bit-identical tensors under the same names. */
export function assertSameCheckpoint(a: string, b: string): void {
  const x = readSafetensors(a).tensors, y = readSafetensors(b).tensors;
  assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort());
  for (const [name, t] of x) assert.ok(Buffer.from(y.get(name)!.values.buffer).equals(Buffer.from(t.values.buffer)), `tensor ${name} differs`);
}

/** The message of the error `fn` throws ("no error" if none). */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
}
