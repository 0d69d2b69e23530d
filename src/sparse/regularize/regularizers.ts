// Regularizers of weights as small objects: a penalty added to the loss (through its gradient) or a proximal step after the optimizer step.
import type { NamedParameter } from "../../nn/sequential.js";
import type { Tensor } from "../../tensor/tensor.js";
import { addGroupLassoSubgradient, groupL2Sum, groupSoftThreshold } from "./group-lasso.js";
import { addL1Subgradient, l1Norm, softThreshold } from "./l1.js";
import { weightGroups, type GroupStructure, type WeightGroups } from "./weight-groups.js";

/**
 * A regularizer R(w). Exactly one of `addGradient` (the penalty λR(w) joins the loss: the trainer
 * computes only the data loss, so its gradient λ∇R is added after backward) and `proximalStep`
 * (w ← prox_{t·R}(w) after each optimizer step, t = lr·λ: proximal gradient descent) is defined.
 */
export interface Regularizer {
  readonly name: string;
  /** R(w) of one weight (for logs). */
  penalty(param: NamedParameter): number;
  addGradient?(param: NamedParameter, lambda: number): void;
  proximalStep?(param: NamedParameter, stepSize: number): void;
}

function gradientOf(param: NamedParameter): Float32Array | null {
  return param.tensor.grad?.data ?? null;
}

/** λ‖w‖₁ added to the loss: the classic L1 recipe (subgradient steps; threshold at the end). */
export function l1Penalty(): Regularizer {
  return {
    name: "l1",
    penalty: (param) => l1Norm(param.tensor.data),
    addGradient(param, lambda) {
      const grads = gradientOf(param);
      if (grads) addL1Subgradient(param.tensor.data, grads, lambda);
    },
  };
}

/** Proximal L1: soft-thresholding after each step, which yields exact zeros during training. */
export function proximalL1(): Regularizer {
  return {
    name: "prox-l1",
    penalty: (param) => l1Norm(param.tensor.data),
    proximalStep(param, stepSize) {
      softThreshold(param.tensor.data, stepSize);
    },
  };
}

/**
 * Group lasso λ Σ_g √p_g‖w_g‖₂ over `structure` groups, as a loss penalty ("subgradient") or by
 * block soft-thresholding ("proximal", which zeroes whole groups exactly).
 */
export function groupLasso(structure: GroupStructure, mode: "proximal" | "subgradient"): Regularizer {
  // Group indices depend only on the structure; a new tensor (CSR rebuilt) gets new ones.
  const cache = new WeakMap<Tensor, WeightGroups>();
  const groupsOf = (param: NamedParameter): WeightGroups => {
    let groups = cache.get(param.tensor);
    if (groups === undefined) cache.set(param.tensor, (groups = weightGroups(param, structure)));
    return groups;
  };
  const penalty = (param: NamedParameter) => {
    const g = groupsOf(param);
    return Math.sqrt(g.groupSize) * groupL2Sum(param.tensor.data, g.group, g.count);
  };
  if (mode === "subgradient") {
    return {
      name: `group-lasso(${structure}, subgradient)`,
      penalty,
      addGradient(param, lambda) {
        const grads = gradientOf(param);
        const g = groupsOf(param);
        if (grads) addGroupLassoSubgradient(param.tensor.data, grads, g.group, g.count, lambda * Math.sqrt(g.groupSize));
      },
    };
  }
  return {
    name: `group-lasso(${structure}, proximal)`,
    penalty,
    proximalStep(param, stepSize) {
      const g = groupsOf(param);
      groupSoftThreshold(param.tensor.data, g.group, g.count, stepSize * Math.sqrt(g.groupSize));
    },
  };
}
