// Finds a key that appears twice in one object of a JSON text, which JSON.parse would silently collapse to its last value.

/**
 * The first duplicated key of `text` (which must already be valid JSON) as a path like
 * `"__metadata__"."step"`, or undefined when every object's keys are distinct.
 */
export function findDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far (objects) or null (arrays), and the key it sits under.
  const stack: { keys: Set<string> | null; path: string }[] = [];
  let expectKey = false;
  let lastKey = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") {
      const parent = stack.at(-1);
      const path = parent === undefined ? "" : parent.keys === null ? `${parent.path}[]` : `${parent.path}${parent.path ? "." : ""}${JSON.stringify(lastKey)}`;
      stack.push({ keys: c === "{" ? new Set() : null, path });
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      expectKey = stack.at(-1)?.keys != null;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectKey) {
        const top = stack.at(-1)!;
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys!.has(key)) return `${top.path}${top.path ? "." : ""}${JSON.stringify(key)}`;
        top.keys!.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = end;
    }
  }
  return undefined;
}
