// The full set of reference kernels; its type is the contract every kernel backend implements.
import { elementwiseKernels } from "./elementwise.js";

export const referenceKernels = {
  ...elementwiseKernels,
};

/** Every kernel, by name, with its signature. The WebAssembly exports use the same names. */
export type KernelSet = typeof referenceKernels;
export type KernelName = keyof KernelSet;
