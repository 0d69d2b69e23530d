// The prune sparsity methods a recipe can name, by method name.
import type { SparsityMethod } from "../method.js";

export const pruneMethods: Record<string, SparsityMethod> = {};
