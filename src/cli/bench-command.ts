// `sparsetrain bench kernels`: prints a table (or JSON lines) of kernel speeds and ratios measured in one run.
import { availableVariants, kernelBackend, variantProblem, type ResolvedKernelBackend } from "../backend/kernels.js";
import { benchKernels, type KernelBenchRow } from "../bench/kernels.js";
import { loadTfjsWasm, type TfjsPeer } from "../bench/tfjs-peer.js";

function formatRow(r: KernelBenchRow): string[] {
  const ratio = (v?: number) => (v === undefined ? "" : `${v.toFixed(2)}×`);
  return [r.kernel, r.variant, `${r.m}×${r.k}×${r.n}`, `${(100 * r.density).toFixed(0)}%`, r.gflops.toFixed(1), r.ms.toFixed(3), ratio(r.vs_dense), ratio(r.vs_tfjs_wasm)];
}

/** `--variant`: relaxed, simd, reference, a comma-separated list of them, or all (every WebAssembly variant that loads). */
export function parseVariants(value: string | undefined): ResolvedKernelBackend[] {
  if (value === undefined) return [kernelBackend()];
  if (value === "all") return availableVariants();
  const names = value.split(",").map((v) => v.trim());
  for (const name of names) {
    if (name !== "relaxed" && name !== "simd" && name !== "reference") {
      throw new Error(`--variant: "${name}" is not a kernel variant (expected relaxed, simd, reference or all)`);
    }
    const problem = name === "reference" ? null : variantProblem(name);
    if (problem !== null) throw new Error(`--variant ${name}: ${problem}`);
  }
  return names as ResolvedKernelBackend[];
}

export async function benchKernelsCommand(options: { json?: boolean; quick?: boolean; variant?: string }): Promise<void> {
  const variants = parseVariants(options.variant);
  let peer: TfjsPeer | null = null;
  try {
    peer = await loadTfjsWasm();
  } catch (error) {
    process.stderr.write(`TensorFlow.js skipped: ${(error as Error).message}; timing our kernels alone\n`);
  }
  if (!options.json) {
    const peerText = peer === null ? "no peer" : `peer: TensorFlow.js ${peer.version} wasm, ${peer.threads} thread`;
    process.stdout.write(`kernels: ${variants.join(", ")} (default ${kernelBackend()}); ${peerText}; single thread; medians\n`);
    process.stdout.write("shape m×k×n: dense C(m×n) = A(m×k)·B(k×n); sparse W(m×k, CSR) with batch n. gflops = useful work (2·nnz·n for sparse)\n");
  }
  const header = ["kernel", "variant", "m×k×n", "density", "GFLOP/s", "ms", "vs dense", "vs tfjs"];
  const widths = [15, 9, 15, 8, 8, 8, 9, 9];
  if (!options.json) process.stdout.write(header.map((h, i) => h.padEnd(widths[i])).join(" ") + "\n");
  await benchKernels({
    peer,
    quick: options.quick,
    variants,
    onRow: (row) => {
      if (options.json) process.stdout.write(`${JSON.stringify(row)}\n`);
      else process.stdout.write(formatRow(row).map((v, i) => v.padEnd(widths[i])).join(" ") + "\n");
    },
  });
}
