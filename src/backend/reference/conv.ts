// Reference conv kernels: the specification of assembly/conv.ts.

export const convKernels = {};
