// Writes schema/recipe.schema.json from the zod recipe schema (src/recipe/schema.ts); `--check` fails if the file is stale.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "schema", "recipe.schema.json");

register();
const { recipeJsonSchemaText } = await import("../src/recipe/json-schema.ts");
const text = recipeJsonSchemaText();

if (process.argv.includes("--check")) {
  const current = existsSync(target) ? readFileSync(target, "utf8") : "";
  if (current !== text) {
    console.error(`${target} is out of date: run node scripts/generate-schema.mjs`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${target} (${text.length} bytes)`);
}
