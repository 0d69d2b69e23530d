// Reference sparse kernels: the specification of assembly/sparse.ts.

export const sparseKernels = {};
