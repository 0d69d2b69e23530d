// The recipe's JSON Schema for editors (YAML language servers), generated from the same zod schema that validates recipes.
import { z } from "zod";
import { recipeSchema } from "./schema.js";

/** The JSON Schema of recipe files as written (input side: fields with defaults are optional). */
export function recipeJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(recipeSchema, { io: "input", target: "draft-2020-12" }),
    title: "sparsetrain recipe",
    description: "A training recipe: seed, data, model, optimizer, schedule, train and output sections.",
  };
}

/** The schema file's text: stable two-space JSON with a final newline, so regenerating changes nothing. */
export function recipeJsonSchemaText(): string {
  return `${JSON.stringify(recipeJsonSchema(), null, 2)}\n`;
}
