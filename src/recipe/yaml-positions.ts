// Finds the YAML line and column of a recipe path (["optimizer", "lr"]) in a parsed document.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

export interface Position {
  line: number;
  column: number;
}

/**
 * The position of the value at `path`, or of its key when `at` is "key". When the path goes
 * further than the document (a missing key), the deepest existing node's key is returned, so a
 * "missing key" error points at the section that lacks it.
 */
export function positionOf(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[], at: "value" | "key" = "value"): Position {
  let node: unknown = document.contents;
  let keyNode: Node | null = null;
  for (const segment of path) {
    const next = child(node, String(segment));
    if (next === undefined) return toPosition(keyNode ?? (node as Node | null), lineCounter);
    node = next.value;
    keyNode = next.key;
  }
  const target = at === "key" ? keyNode ?? (node as Node | null) : (node as Node | null) ?? keyNode;
  return toPosition(target, lineCounter);
}

/** How many leading segments of `path` the document holds (0: not even the first key). */
export function existingDepth(document: Document, path: readonly PropertyKey[]): number {
  let node: unknown = document.contents;
  for (let depth = 0; depth < path.length; depth++) {
    const next = child(node, String(path[depth]));
    if (next === undefined) return depth;
    node = next.value;
  }
  return path.length;
}

function child(node: unknown, segment: string): { key: Node | null; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === segment);
    return pair === undefined ? undefined : { key: pair.key as Node, value: pair.value };
  }
  if (isSeq(node)) {
    const index = Number(segment);
    if (!Number.isInteger(index) || index < 0 || index >= node.items.length) return undefined;
    return { key: null, value: node.items[index] };
  }
  return undefined;
}

function toPosition(node: Node | null, lineCounter: LineCounter): Position {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
