// The dynamic sparsity methods a recipe can name, by method name.
import type { SparsityMethod } from "../method.js";

export const dynamicMethods: Record<string, SparsityMethod> = {};
