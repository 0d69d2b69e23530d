// `npm run fuzz`: the fuzz tests of test/fuzz/ with many more cases and a random seed (printed), or `--seed N` to replay a failure.
// Usage: npm run fuzz [-- --seed N] [--scale K (default 20: K times the cases of npm test)]
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { seed: { type: "string" }, scale: { type: "string", default: "20" } } });
const seed = values.seed ?? String(randomInt(2 ** 31));
if (!/^\d+$/.test(seed) || !(Number(values.scale) > 0)) {
  console.error("fuzz: --seed must be an integer >= 0 and --scale a number > 0");
  process.exit(2);
}
console.log(`fuzz: seed ${seed}, scale ${values.scale} (replay with: npm run fuzz -- --seed ${seed} --scale ${values.scale})`);

const run = (args, env = {}) => spawnSync(process.execPath, args, { stdio: "inherit", cwd: root, env: { ...process.env, ...env } }).status ?? 1;
if (run([join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]) !== 0) process.exit(1);
const dir = join(root, "dist", "test", "fuzz");
const files = readdirSync(dir).filter((name) => name.endsWith(".test.js")).sort().map((name) => join(dir, name));
const status = run(["--test", "--test-concurrency=1", "--test-timeout=3600000", ...files], { SPARSETRAIN_FUZZ_SEED: seed, SPARSETRAIN_FUZZ_SCALE: values.scale });
if (status !== 0) console.error(`fuzz: failed with seed ${seed} (replay with: npm run fuzz -- --seed ${seed} --scale ${values.scale})`);
process.exit(status);
