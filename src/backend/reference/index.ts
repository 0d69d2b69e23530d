// The full set of reference kernels; its type is the contract every kernel backend implements.
import { activationKernels } from "./activation.js";
import { convKernels } from "./conv.js";
import { elementwiseKernels } from "./elementwise.js";
import { gemmKernels } from "./gemm.js";
import { optimKernels } from "./optim.js";
import { reduceKernels } from "./reduce.js";
import { sparseKernels } from "./sparse.js";

export const referenceKernels = {
  ...elementwiseKernels,
  ...activationKernels,
  ...reduceKernels,
  ...gemmKernels,
  ...sparseKernels,
  ...convKernels,
  ...optimKernels,
};

/** Every kernel, by name, with its signature. The WebAssembly exports use the same names. */
export type KernelSet = typeof referenceKernels;
export type KernelName = keyof KernelSet;
