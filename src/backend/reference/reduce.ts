// Reference reduce kernels: the specification of assembly/reduce.ts.

export const reduceKernels = {};
