// A bounded running top-k of (score, position) pairs: a min-heap whose root is the weakest kept entry.
//
// Ties are broken towards the smaller position, so the result does not depend on the order in
// which chunks are pushed.

export class TopK {
  private readonly scores: Float64Array;
  private readonly positions: Float64Array;
  private length = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 0)) throw new RangeError(`TopK: capacity must be an integer >= 0, got ${capacity}`);
    this.scores = new Float64Array(capacity);
    this.positions = new Float64Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  // a is weaker than b: lower score, or the same score at a larger position.
  private weaker(a: number, b: number): boolean {
    const sa = this.scores[a], sb = this.scores[b];
    return sa < sb || (sa === sb && this.positions[a] > this.positions[b]);
  }

  /** Offers one candidate; kept if the heap is not full or it beats the weakest kept one. */
  push(score: number, position: number): void {
    if (this.capacity === 0) return;
    if (this.length < this.capacity) {
      this.scores[this.length] = score;
      this.positions[this.length] = position;
      this.siftUp(this.length++);
      return;
    }
    const rootScore = this.scores[0];
    if (score < rootScore || (score === rootScore && position > this.positions[0])) return;
    this.scores[0] = score;
    this.positions[0] = position;
    this.siftDown(0);
  }

  /** The lowest score kept, or -Infinity while the heap is not full (anything would be kept). */
  threshold(): number {
    return this.length < this.capacity ? -Infinity : this.scores[0];
  }

  /** Kept positions, strongest first. */
  positionsByScore(): Float64Array {
    const order = Array.from({ length: this.length }, (_, i) => i);
    order.sort((a, b) => this.scores[b] - this.scores[a] || this.positions[a] - this.positions[b]);
    return Float64Array.from(order, (i) => this.positions[i]);
  }

  private swap(a: number, b: number): void {
    const s = this.scores[a];
    this.scores[a] = this.scores[b];
    this.scores[b] = s;
    const p = this.positions[a];
    this.positions[a] = this.positions[b];
    this.positions[b] = p;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.weaker(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const left = 2 * i + 1, right = left + 1;
      let weakest = i;
      if (left < this.length && this.weaker(left, weakest)) weakest = left;
      if (right < this.length && this.weaker(right, weakest)) weakest = right;
      if (weakest === i) return;
      this.swap(i, weakest);
      i = weakest;
    }
  }
}
