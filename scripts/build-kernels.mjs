// Compiles every AssemblyScript kernel module in assembly/ (one file = one module) twice, to
// build/kernels/simd/<name>.wasm (plain 128-bit SIMD) and build/kernels/relaxed/<name>.wasm (with
// relaxed SIMD, whose f32x4.relaxed_madd is a fused multiply-add; see assembly/_fma.ts): one source,
// two builds, chosen at load time by src/backend/kernels.ts. Files starting with "_" are shared
// helpers imported by the modules, not modules. All modules import one shared memory (env.memory) owned by src/backend/heap.ts; each gets its own
// small static-data slot below the heap base so that modules never overwrite each other.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sourceDir = join(root, "assembly");
const kernelDir = join(root, "build", "kernels");
const VARIANTS = [
  { name: "simd", flags: [] },
  { name: "relaxed", flags: ["--enable", "relaxed-simd"] },
];
mkdirSync(kernelDir, { recursive: true });
// Modules of older builds lay directly in build/kernels; remove them so nothing loads a stale one.
for (const f of readdirSync(kernelDir).filter((f) => f.endsWith(".wasm"))) rmSync(join(kernelDir, f));

// NOTE: keep in sync with STATIC_SLOT_BYTES / HEAP_BASE in src/backend/heap.ts.
const STATIC_SLOT_BYTES = 4096;
const MAX_MODULES = 15;

const modules = readdirSync(sourceDir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_") && f !== "tsconfig.json")
  .sort();
if (modules.length > MAX_MODULES) throw new Error(`too many kernel modules (${modules.length} > ${MAX_MODULES})`);

// `node scripts/build-kernels.mjs gemm sparse` builds only those modules (slots stay those of the full build).
const only = process.argv.slice(2);
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
let failed = false;
for (const variant of VARIANTS) {
  const outDir = join(kernelDir, variant.name);
  mkdirSync(outDir, { recursive: true });
  modules.forEach((file, index) => {
    const name = file.replace(/\.ts$/, "");
    if (only.length > 0 && !only.includes(name)) return;
    const out = join(outDir, `${name}.wasm`);
    const tmp = `${out}.tmp`;
    const args = [
      asc, join(sourceDir, file), "-o", tmp,
      "-O3", "--noAssert", "--runtime", "stub", "--use", "abort=",
      "--enable", "simd", "--enable", "threads", ...variant.flags,
      "--importMemory", "--sharedMemory", "--initialMemory", "1", "--maximumMemory", "65536",
      "--memoryBase", String((index + 1) * STATIC_SLOT_BYTES),
    ];
    const result = spawnSync(process.execPath, args, { stdio: "inherit" });
    if (result.status !== 0) {
      console.error(`build-kernels: ${file} (${variant.name}) failed to compile`);
      failed = true;
      return;
    }
    renameSync(tmp, out);
    console.log(`build-kernels: ${file} -> build/kernels/${variant.name}/${name}.wasm`);
  });
}
if (failed) process.exit(1);
