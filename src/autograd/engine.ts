// Reverse-mode automatic differentiation: recording op nodes, no-grad mode and `backward`.
//
// An op computes its output, then calls `record(output, inputs, backward)` with a closure that
// maps the output gradient to one gradient per input (null where an input needs none). Forward
// math and its derivative therefore sit together in one function per op.
import { kernels } from "../backend/kernels.js";
import { clone, empty, formatShape, keep, ones, Tensor } from "../tensor/tensor.js";

export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input given the output gradient (same shapes as the inputs). */
  readonly backward: (gradOutput: Tensor) => readonly (Tensor | null)[];
}

let gradEnabled = true;

/** True when ops record their backward (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording gradients (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** True if an op over `inputs` must record a node. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

/** Attaches a backward node to `output` when any input requires a gradient; returns `output`. */
export function record(
  op: string,
  output: Tensor,
  inputs: readonly Tensor[],
  backward: (gradOutput: Tensor) => readonly (Tensor | null)[],
): Tensor {
  if (needsGrad(inputs)) {
    output.requiresGrad = true;
    output.node = { op, inputs, backward };
  }
  return output;
}

/** Tensors reachable from `root` through nodes, inputs before the tensors computed from them. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: deep graphs (long sequences of ops) must not overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, next] = top;
    const inputs = t.node?.inputs ?? [];
    if (next < inputs.length) {
      top[1]++;
      const input = inputs[next];
      if (input.requiresGrad && !visited.has(input)) {
        visited.add(input);
        stack.push([input, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

/**
 * Computes gradients of `root` (a scalar unless `gradOutput` is given) with respect to every leaf
 * that requires a gradient, adding them into each leaf's `.grad`. Nodes are released afterwards.
 */
export function backward(root: Tensor, gradOutput?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward: ${root} does not require a gradient (no input of its graph has requiresGrad)`);
  if (gradOutput === undefined && root.size !== 1) {
    throw new Error(`backward: ${root} is not a scalar; pass the output gradient explicitly`);
  }
  if (gradOutput !== undefined && gradOutput.size !== root.size) {
    throw new Error(`backward: gradient shape ${formatShape(gradOutput.shape)} does not match output ${formatShape(root.shape)}`);
  }
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, gradOutput ?? ones(root.shape));
  const order = topologicalOrder(root);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = grads.get(t);
    if (g === undefined) continue;
    grads.delete(t);
    if (t.node === null) {
      accumulateLeaf(t, g);
      continue;
    }
    const inputGrads = t.node.backward(g);
    t.node.inputs.forEach((input, k) => {
      const gi = inputGrads[k];
      if (gi === null || gi === undefined || !input.requiresGrad) return;
      if (gi.size !== input.size) {
        throw new Error(`backward of ${t.node!.op}: gradient ${formatShape(gi.shape)} for input ${k} of shape ${formatShape(input.shape)}`);
      }
      const existing = grads.get(input);
      if (existing === undefined) {
        grads.set(input, gi);
      } else {
        // Out of place: a backward closure may hand the same tensor to several inputs.
        const sum = clone(existing);
        kernels.axpy(sum.size, 1, gi.ptr, sum.ptr);
        grads.set(input, sum);
      }
    });
    t.node = null;
  }
}

/** Adds `g` into the leaf's persistent gradient (created outside any tidy scope). */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad === null) {
    const grad = keep(empty(leaf.shape));
    kernels.copy(g.size, g.ptr, grad.ptr);
    leaf.grad = grad;
  } else {
    kernels.axpy(g.size, 1, g.ptr, leaf.grad.ptr);
  }
}

/** Clears the gradients of `params` (keeps their storage, sets them to zero). */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) if (p.grad !== null) kernels.fill(p.grad.size, 0, p.grad.ptr);
}
