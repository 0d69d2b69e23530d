// Runs a kernel test once per WebAssembly variant this runtime has (relaxed SIMD, plain SIMD), each against the reference.
import { test } from "node:test";
import { availableVariants, variantKernels, type KernelVariant } from "../../src/backend/kernels.js";
import type { KernelSet } from "../../src/backend/reference/index.js";

const variants = availableVariants();
let current: Partial<KernelSet> = variants.length > 0 ? variantKernels(variants[0]) : {};

/**
 * The kernels of the variant whose test is running. A proxy, so that the test files read
 * `wasmKernels.gemm` as before while `variantTest` swaps the variant underneath (tests in one
 * file run one after another).
 */
export const wasmKernels: Partial<KernelSet> = new Proxy({} as Partial<KernelSet>, {
  get: (_, name) => current[name as keyof KernelSet],
  has: (_, name) => name in current,
  ownKeys: () => Reflect.ownKeys(current),
  getOwnPropertyDescriptor: (_, name) => Object.getOwnPropertyDescriptor(current, name),
});

/** Registers `name [variant]` for every available variant, with `wasmKernels` set to that variant's kernels. */
export function variantTest(name: string, body: (variant: KernelVariant) => void | Promise<void>): void {
  if (variants.length === 0) {
    test(name, () => {
      throw new Error("no WebAssembly kernel variant loads in this runtime");
    });
    return;
  }
  for (const variant of variants) {
    test(`${name} [${variant}]`, async () => {
      const previous = current;
      current = variantKernels(variant);
      try {
        await body(variant);
      } finally {
        current = previous;
      }
    });
  }
}
