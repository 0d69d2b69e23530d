// fast-check arbitraries that corrupt files: byte flips, truncation, insertions, and edits of a safetensors header (tensor entries, metadata, JSON inside metadata).
import fc from "fast-check";
import { joinSafetensors, splitSafetensors } from "./safetensors-bytes.js";

/** A function from file bytes to corrupted bytes, with a label for counterexamples. */
export type Mutation = { label: string; apply: (bytes: Uint8Array) => Uint8Array };

/** Sizes and numbers that break naive code: zero, negative, fractional, int32/uint32/safe-integer edges, huge, non-finite in text. */
export const awkwardNumber = fc.constantFrom(0, 1, -1, 2, 3, 0.5, -0.5, 7, 255, 256, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e15, 1e300, -1e300, 706164421571693800);
/** JSON values of every type, biased toward awkward ones. */
export const awkwardJson: fc.Arbitrary<unknown> = fc.oneof(
  awkwardNumber,
  fc.constantFrom(null, true, false, "", "x", "relu", "F32", "I64", "NaN", "1e999", [], {}, [0], [1e9, 1e9], [2 ** 31, 1], { kind: "scale" }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Flips, truncation or insertion of raw bytes anywhere in the file. */
export function byteMutation(): fc.Arbitrary<Mutation> {
  const flips = fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 8 }).map((list): Mutation => ({
    label: `flip ${JSON.stringify(list)}`,
    apply: (bytes) => {
      const out = new Uint8Array(bytes);
      for (const { at, xor } of list) out[at % out.length] ^= xor;
      return out;
    },
  }));
  const truncate = fc.nat().map((n): Mutation => ({ label: `truncate at ${n}`, apply: (bytes) => bytes.slice(0, n % bytes.length) }));
  const insert = fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([n, extra]): Mutation => ({
    label: `insert ${extra.length} bytes at ${n}`,
    apply: (bytes) => {
      const at = n % (bytes.length + 1);
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes.subarray(0, at));
      out.set(extra, at);
      out.set(bytes.subarray(at), at + extra.length);
      return out;
    },
  }));
  return fc.oneof({ arbitrary: flips, weight: 3 }, { arbitrary: truncate, weight: 1 }, { arbitrary: insert, weight: 1 });
}

type Header = Record<string, unknown>;

/** Every path (as keys) to a value inside a JSON value, the root included. */
function jsonPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const paths = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...jsonPaths(v, [...prefix, i])));
  else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) paths.push(...jsonPaths(v, [...prefix, k]));
  return paths;
}

/** Replaces (or, with `remove`, deletes) the value at `path`; returns the new root. */
function editJsonAt(root: unknown, path: (string | number)[], replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove && Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (remove) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** A change at a chosen path of a JSON value: replace by an awkward value, delete, or replace a number by a scaled one. */
const jsonEdit = fc.record({ pick: fc.nat(), replacement: awkwardJson, remove: fc.boolean() });
function applyJsonEdit(value: unknown, edit: { pick: number; replacement: unknown; remove: boolean }): unknown {
  const paths = jsonPaths(value);
  const path = paths[edit.pick % paths.length];
  return editJsonAt(value, path, edit.replacement, edit.remove && path.length > 0);
}

/**
 * Edits of a safetensors header: a tensor entry's dtype, shape (transposed, grown, absurd), offsets,
 * missing fields, the entry removed, renamed or duplicated (textually, as JSON.parse would hide
 * it), and metadata entries (removed, non-string, random text, or an edit inside their JSON).
 */
export function headerMutation(): fc.Arbitrary<Mutation> {
  const tensorEdit = fc.record({
    pick: fc.nat(),
    kind: fc.constantFrom("dtype", "shape", "transpose", "offsets", "missing-field", "remove", "rename", "duplicate", "entry", "grow"),
    value: awkwardJson,
    number: awkwardNumber,
    field: fc.constantFrom("dtype", "shape", "data_offsets"),
    dtype: fc.constantFrom("F32", "I32", "I64", "U8", "I8", "F16", "BF16", "BOOL", "F64", "f32", ""),
  }).map((e): Mutation => ({
    label: `tensor edit ${JSON.stringify(e)}`,
    apply: (bytes) => {
      const { headerText, data } = splitSafetensors(bytes);
      const header = JSON.parse(headerText) as Header;
      const names = Object.keys(header).filter((n) => n !== "__metadata__");
      if (names.length === 0) return bytes;
      const name = names[e.pick % names.length];
      const entry = { ...(header[name] as Header) };
      const shape = entry.shape as number[];
      switch (e.kind) {
        case "dtype": entry.dtype = e.pick % 3 === 0 ? e.value : e.dtype; break;
        case "shape": entry.shape = e.pick % 2 === 0 ? e.value : shape.map((d, i) => (i === e.pick % Math.max(1, shape.length) ? e.number : d)); break;
        case "transpose": entry.shape = [...shape].reverse(); break;
        case "grow": entry.shape = e.pick % 2 === 0 ? [...shape, 1] : shape.length > 0 ? [shape.reduce((a, b) => a * b, 1)] : [1]; break;
        case "offsets": {
          const [b, end] = entry.data_offsets as number[];
          entry.data_offsets = [[b + e.number, end + e.number], [end, b], [b, end, 0], e.value, [b, e.number], [-b, end]][e.pick % 6];
          break;
        }
        case "missing-field": delete entry[e.field]; break;
        case "entry": header[name] = e.value; return joinSafetensors(JSON.stringify(header), data);
        case "remove": delete header[name]; return joinSafetensors(JSON.stringify(header), data);
        case "rename": {
          const other = [names[(e.pick + 1) % names.length] + "x", "__metadata__", "", names[0].replace(/\d/, "9")][e.pick % 4];
          delete header[name];
          header[other] = entry;
          return joinSafetensors(JSON.stringify(header), data);
        }
        case "duplicate": {
          const text = JSON.stringify({ [name]: entry }).slice(1, -1);
          return joinSafetensors(headerText.replace(text, `${text},${text}`), data);
        }
      }
      header[name] = entry;
      return joinSafetensors(JSON.stringify(header), data);
    },
  }));
  const metadataEdit = fc.record({
    pick: fc.nat(),
    kind: fc.constantFrom("json", "json", "json", "remove", "non-string", "text", "all"),
    edit: jsonEdit,
    text: fc.string({ maxLength: 12 }),
  }).map((e): Mutation => ({
    label: `metadata edit ${JSON.stringify(e)}`,
    apply: (bytes) => {
      const { headerText, data } = splitSafetensors(bytes);
      const header = JSON.parse(headerText) as Header;
      const metadata = { ...((header.__metadata__ as Record<string, unknown>) ?? {}) };
      const keys = Object.keys(metadata);
      if (keys.length === 0) return bytes;
      const key = keys[e.pick % keys.length];
      switch (e.kind) {
        case "json": {
          let parsed: unknown;
          try {
            parsed = JSON.parse(metadata[key] as string);
          } catch {
            parsed = metadata[key];
          }
          metadata[key] = JSON.stringify(applyJsonEdit(parsed, e.edit)) ?? "";
          break;
        }
        case "remove": delete metadata[key]; break;
        case "non-string": metadata[key] = e.edit.replacement; break;
        case "text": metadata[key] = e.text; break;
        case "all": header.__metadata__ = e.edit.replacement; return joinSafetensors(JSON.stringify(header), data);
      }
      header.__metadata__ = metadata;
      return joinSafetensors(JSON.stringify(header), data);
    },
  }));
  return fc.oneof(tensorEdit, metadataEdit);
}

/** Overwrites one value of a tensor in the data section with an awkward one (NaN, ±Infinity, negative, huge, out-of-range index). */
export function valueMutation(): fc.Arbitrary<Mutation> {
  return fc.record({
    pick: fc.nat(),
    index: fc.nat(),
    value: fc.constantFrom(NaN, Infinity, -Infinity, -1, -0.5, 0, 1, 2, 1e38, 2 ** 31, 2 ** 40, -(2 ** 40), 1e9),
  }).map((e): Mutation => ({
    label: `value edit ${JSON.stringify({ ...e, value: String(e.value) })}`,
    apply: (bytes) => {
      const { headerText, data } = splitSafetensors(bytes);
      const header = JSON.parse(headerText) as Record<string, { dtype: string; data_offsets: [number, number] }>;
      const names = Object.keys(header).filter((n) => n !== "__metadata__" && header[n].data_offsets[1] > header[n].data_offsets[0]);
      if (names.length === 0) return bytes;
      const { dtype, data_offsets: [begin, end] } = header[names[e.pick % names.length]];
      const width = dtype === "I64" ? 8 : dtype === "U8" || dtype === "I8" ? 1 : 4;
      const at = begin + (e.index % ((end - begin) / width)) * width;
      const out = new Uint8Array(data);
      const view = new DataView(out.buffer);
      if (dtype === "F32") view.setFloat32(at, e.value, true);
      else if (dtype === "I64") view.setBigInt64(at, BigInt(Number.isFinite(e.value) ? Math.trunc(e.value) : -1), true);
      else if (dtype === "I32") view.setInt32(at, Number.isFinite(e.value) ? e.value : -1, true);
      else view.setUint8(at, Number.isFinite(e.value) ? e.value & 255 : 9);
      return joinSafetensors(headerText, out);
    },
  }));
}

/** Any of the above, one or two in a row. */
export function safetensorsMutation(): fc.Arbitrary<Mutation> {
  const one = fc.oneof({ arbitrary: headerMutation(), weight: 5 }, { arbitrary: valueMutation(), weight: 2 }, { arbitrary: byteMutation(), weight: 2 });
  return fc.array(one, { minLength: 1, maxLength: 2 }).map((list): Mutation => ({
    label: list.map((m) => m.label).join(" then "),
    apply: (bytes) => list.reduce((b, m) => (isSafetensorsLike(b) ? applyOrKeep(m, b) : b), bytes),
  }));
}

/** A header edit that does not fit the (already edited) header, e.g. a value edit of an entry that is no longer an object, changes nothing. */
function applyOrKeep(mutation: Mutation, bytes: Uint8Array): Uint8Array {
  try {
    return mutation.apply(bytes);
  } catch {
    return bytes;
  }
}

/** Whether the header can still be split (later header edits need a parseable header; byte edits apply to anything). */
function isSafetensorsLike(bytes: Uint8Array): boolean {
  try {
    JSON.parse(splitSafetensors(bytes).headerText);
    return true;
  } catch {
    return false;
  }
}
