// Selectors: from scores and a budget, decide which alive weights (or groups) to keep, with torch.nn.utils.prune's `amount` semantics.
//
// `amount` follows torch exactly: a fraction in [0, 1] prunes round(amount·n) of the n candidates,
// with Python's round (half to even: round(2.5) = 2); `{count: k}` prunes exactly k (torch's int
// amount). Candidates are the entries still alive, so pruning a pruned tensor again only removes
// more (torch's PruningContainer applies the new amount to the unpruned entries).
//
// Ties: candidates are ordered by (score, index) ascending and the first ones are pruned, so among
// equal scores the lower index (dense position, or group number) goes first. torch uses topk, whose
// order among equal scores is unspecified; with distinct scores the two give the same masks.

/** A fraction of the candidates in [0, 1], or an exact count (torch's int amount). */
export type Amount = number | { count: number };

/** Python's round(): halves go to the even neighbour (torch's `_compute_nparams_toprune` uses it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Checks an amount; the message names `option`. */
export function validateAmount(amount: Amount, option = "amount"): void {
  if (typeof amount === "number") {
    if (!(amount >= 0 && amount <= 1)) throw new RangeError(`${option} must be in [0, 1], got ${amount}`);
  } else if (!(Number.isInteger(amount.count) && amount.count >= 0)) {
    throw new RangeError(`${option} count must be an integer >= 0, got ${amount.count}`);
  }
}

/** How many of `candidates` entries an amount prunes (torch's `_compute_nparams_toprune` + its validation). */
export function prunedCount(amount: Amount, candidates: number, option = "amount"): number {
  validateAmount(amount, option);
  const k = typeof amount === "number" ? roundHalfEven(amount * candidates) : amount.count;
  if (k > candidates) throw new RangeError(`${option}: cannot prune ${k} of ${candidates} remaining entries`);
  return k;
}

/** Indices 0..n−1 sorted by (score, index) ascending. */
export function ascendingOrder(scores: ArrayLike<number>): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => scores[a] - scores[b] || a - b);
  return order;
}

/** Keep flags (1 = keep) after pruning the `count` lowest-scoring entries. */
export function pruneLowest(scores: ArrayLike<number>, count: number): Uint8Array {
  const keep = new Uint8Array(scores.length).fill(1);
  const order = ascendingOrder(scores);
  for (let i = 0; i < count; i++) keep[order[i]] = 0;
  return keep;
}

/** torch's l1_unstructured on the alive entries: prune `amount` of them by lowest score. */
export function selectUnstructured(scores: ArrayLike<number>, amount: Amount, option = "amount"): Uint8Array {
  return pruneLowest(scores, prunedCount(amount, scores.length, option));
}

/**
 * torch's global_unstructured: all layers' alive entries compete for one budget, `amount` of them
 * all. A layer never drops below `minKeep[l]` entries (or all it has): the next-lowest entries of
 * other layers are pruned instead, so the total stays exact. Returns keep flags per layer.
 */
export function selectGlobal(scoresByLayer: ArrayLike<number>[], amount: Amount, minKeep: number[] = [], option = "amount"): Uint8Array[] {
  const total = scoresByLayer.reduce((s, a) => s + a.length, 0);
  const count = prunedCount(amount, total, option);
  const all = new Float32Array(total);
  const layerOf = new Int32Array(total);
  let offset = 0;
  scoresByLayer.forEach((scores, l) => {
    all.set(scores, offset);
    layerOf.fill(l, offset, offset + scores.length);
    offset += scores.length;
  });
  const budget = scoresByLayer.map((s, l) => Math.max(0, s.length - (minKeep[l] ?? 0)));
  const available = budget.reduce((a, b) => a + b, 0);
  if (count > available) throw new RangeError(`${option}: pruning ${count} of ${total} weights would leave a layer below its minimum kept (at most ${available} can go)`);
  const keepAll = new Uint8Array(total).fill(1);
  const order = ascendingOrder(all);
  let pruned = 0;
  for (let i = 0; i < order.length && pruned < count; i++) {
    const l = layerOf[order[i]];
    if (budget[l] === 0) continue;
    budget[l]--;
    keepAll[order[i]] = 0;
    pruned++;
  }
  offset = 0;
  return scoresByLayer.map((scores) => keepAll.slice(offset, (offset += scores.length)));
}

/**
 * torch's ln_structured on the groups still alive: prune `amount` of the alive groups with the
 * lowest norms (torch keeps the top n − k). `alive[g]` is 0 for groups already pruned; they stay
 * pruned and do not count. Returns keep flags per group.
 */
export function selectStructured(norms: ArrayLike<number>, alive: ArrayLike<number>, amount: Amount, minKeep = 0, option = "amount"): Uint8Array {
  const candidates: number[] = [];
  for (let g = 0; g < norms.length; g++) if (alive[g]) candidates.push(g);
  const count = prunedCount(amount, candidates.length, option);
  if (candidates.length - count < minKeep) {
    throw new RangeError(`${option}: pruning ${count} of ${candidates.length} groups would keep fewer than the minimum ${minKeep}`);
  }
  const keepCandidates = pruneLowest(candidates.map((g) => norms[g]), count);
  const keep = new Uint8Array(norms.length);
  candidates.forEach((g, i) => (keep[g] = keepCandidates[i]));
  return keep;
}

/** Expands group keep flags to the alive entries (`groups[i]` = group of entry i). */
export function expandGroups(groups: ArrayLike<number>, keepGroup: ArrayLike<number>): Uint8Array {
  const keep = new Uint8Array(groups.length);
  for (let i = 0; i < groups.length; i++) keep[i] = keepGroup[groups[i]];
  return keep;
}

/** Parses "2:4" into {n: 2, m: 4} (keep n of every m consecutive weights); the message names `option`. */
export function parseNM(text: string, option = "nm"): { n: number; m: number } {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  const n = match ? Number(match[1]) : NaN, m = match ? Number(match[2]) : NaN;
  if (!match || !(n >= 1 && m >= 1 && n <= m)) throw new RangeError(`${option} must be N:M with 1 <= N <= M (keep N of every M), e.g. 2:4; got "${text}"`);
  return { n, m };
}

/**
 * N:M sparsity along the input dimension: in every run of M consecutive inputs of a row (columns
 * c with the same ⌊c/M⌋), keep the N highest-scoring alive weights. `rowLength` is the number of
 * inputs per output (Linear: in; Conv2d: Cin·k·k in (channel, kh, kw) order, the reduction order
 * of our im2col GEMM). Runs with N or fewer alive weights keep them all.
 */
export function selectNM(scores: ArrayLike<number>, positions: ArrayLike<number>, rowLength: number, n: number, m: number, option = "nm"): Uint8Array {
  if (rowLength % m !== 0) throw new RangeError(`${option} ${n}:${m}: M = ${m} does not divide the input dimension ${rowLength}`);
  const keep = new Uint8Array(scores.length).fill(1);
  let start = 0;
  while (start < positions.length) {
    const block = Math.floor(positions[start] / m); // row-major, so ⌊position / M⌋ names (row, run)
    let end = start + 1;
    while (end < positions.length && Math.floor(positions[end] / m) === block) end++;
    if (end - start > n) {
      const local = pruneLowest(Array.from({ length: end - start }, (_, i) => scores[start + i]), end - start - n);
      keep.set(local, start);
    }
    start = end;
  }
  return keep;
}
