// Reference activation kernels: the specification of assembly/activation.ts.

export const activationKernels = {};
