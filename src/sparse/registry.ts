// Every sparsity method a recipe can name, and the schema of the recipe's `sparsity` section built from them.
import { z } from "zod";
import { dynamicMethods } from "./dynamic/methods.js";
import type { SparsityMethod } from "./method.js";
import { pruneMethods } from "./prune/methods.js";
import { regularizeMethods } from "./regularize/methods.js";

export const sparsityMethods: Record<string, SparsityMethod> = { ...dynamicMethods, ...pruneMethods, ...regularizeMethods };

/** The `sparsity` section: one method, chosen by `method`. */
export function sparsitySchema() {
  const schemas = Object.values(sparsityMethods).map((m) => m.schema) as unknown as z.ZodObject[];
  const names = Object.keys(sparsityMethods);
  if (schemas.length === 0) return z.never({ error: "no sparsity methods are available" });
  if (schemas.length === 1) return schemas[0];
  return z.discriminatedUnion("method", schemas as [z.ZodObject, z.ZodObject, ...z.ZodObject[]])
    .describe(`A sparsity method: ${names.join(" | ")}.`);
}

/** The configured method with its implementation, or null when the recipe has no sparsity section. */
export function resolveSparsity(section: { method: string } | undefined): { config: { method: string }; method: SparsityMethod } | null {
  if (section === undefined) return null;
  const method = sparsityMethods[section.method];
  if (method === undefined) throw new Error(`sparsity.method: unknown method "${section.method}" (known: ${Object.keys(sparsityMethods).join(", ")})`);
  return { config: section, method };
}
