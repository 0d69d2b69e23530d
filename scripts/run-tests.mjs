// `npm test`: compiles the TypeScript (src and test) and runs every dist/test/**/*.test.js with node's test runner.
// Extra arguments are passed to `node --test` (e.g. `npm test -- --test-name-pattern=gemm`).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (args) => spawnSync(process.execPath, args, { stdio: "inherit", cwd: root }).status ?? 1;

const built = ["simd", "relaxed"].every((v) => existsSync(join(root, "build", "kernels", v))) && existsSync(join(root, "src", "runtime", "inference-wasm.ts"));
if (!built && run([join(root, "scripts", "build-kernels.mjs")]) !== 0) process.exit(1);
if (run([join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]) !== 0) process.exit(1);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith(".test.js") ? [path] : [];
  });
}

const files = testFiles(join(root, "dist", "test")).sort();
if (files.length === 0) {
  console.error("run-tests: no test files found in dist/test");
  process.exit(1);
}
process.exit(run(["--test", "--test-concurrency=2", ...process.argv.slice(2), ...files]));
