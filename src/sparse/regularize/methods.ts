// The regularize sparsity methods a recipe can name, by method name.
import type { SparsityMethod } from "../method.js";

export const regularizeMethods: Record<string, SparsityMethod> = {};
