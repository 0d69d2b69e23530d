// sparsetrain public API.
export * from "./tensor/tensor.js";
export * from "./tensor/rng.js";
export * from "./tensor/init.js";
export { backward, noGrad, zeroGrad, isGradEnabled } from "./autograd/engine.js";
export { kernels, setKernelBackend, kernelBackend, wasmProblem } from "./backend/kernels.js";
export { heapStats } from "./backend/heap.js";
