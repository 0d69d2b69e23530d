// A hash table from non-negative int32 keys (block offsets) to objects: linear probing over typed arrays, for the allocator's live blocks.
//
// A JavaScript Map did the same job at about three times the cost per set/get/delete, and its
// rehashing under constant churn (every op's output is allocated and freed each step) made garbage.
// Deletion shifts later entries back (no tombstones), so lookups stay short however long it runs.

const EMPTY = -1;

export class OffsetTable<Value> {
  private keys = new Int32Array(64).fill(EMPTY);
  private values: (Value | null)[] = Array.from({ length: 64 }, () => null);
  private mask = 63;
  private shift = 26; // 32 − log2(capacity): the home slot is the hash's top bits
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: number): Value | undefined {
    for (let slot = this.home(key); ; slot = (slot + 1) & this.mask) {
      const found = this.keys[slot];
      if (found === key) return this.values[slot]!;
      if (found === EMPTY) return undefined;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** Adds `key` (which must not be present). */
  add(key: number, value: Value): void {
    if (2 * (this.count + 1) > this.keys.length) this.resize(2 * this.keys.length);
    let slot = this.home(key);
    while (this.keys[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.keys[slot] = key;
    this.values[slot] = value;
    this.count++;
  }

  /** Removes `key` and returns its value, or undefined when absent. */
  delete(key: number): Value | undefined {
    let slot = this.home(key);
    for (; this.keys[slot] !== key; slot = (slot + 1) & this.mask) if (this.keys[slot] === EMPTY) return undefined;
    const value = this.values[slot]!;
    // Backward-shift deletion: move each later entry of the probe run into the hole if its home allows.
    for (let next = (slot + 1) & this.mask; this.keys[next] !== EMPTY; next = (next + 1) & this.mask) {
      const home = this.home(this.keys[next]);
      const holeIsBetweenHomeAndNext = ((next - home) & this.mask) >= ((next - slot) & this.mask);
      if (holeIsBetweenHomeAndNext) {
        this.keys[slot] = this.keys[next];
        this.values[slot] = this.values[next];
        slot = next;
      }
    }
    this.keys[slot] = EMPTY;
    this.values[slot] = null;
    this.count--;
    return value;
  }

  private home(key: number): number {
    // Fibonacci hashing: offsets are multiples of a block, so their low bits alone would cluster.
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  private resize(capacity: number): void {
    const { keys, values } = this;
    this.keys = new Int32Array(capacity).fill(EMPTY);
    this.values = Array.from({ length: capacity }, () => null);
    this.mask = capacity - 1;
    this.shift = Math.clz32(capacity) + 1;
    this.count = 0;
    for (let slot = 0; slot < keys.length; slot++) if (keys[slot] !== EMPTY) this.add(keys[slot], values[slot]!);
  }
}
