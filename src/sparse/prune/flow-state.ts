// What a pruning flow keeps beyond the checkpoints so a resumed run continues exactly: the weight shapes before any shrinking and the lottery rewind values, in <run>/prune-flow.safetensors.
//
// Both are fixed once taken (the shapes at step 0, the rewind values at `rewindStep`), so one file
// per run serves every checkpoint of it. A resumed run reads the file beside the checkpoint it
// resumes from (or in its own folder) and writes it into its own folder, so it can be resumed again.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { readSafetensors, writeSafetensors, type TensorToWrite } from "../../io/safetensors.js";

export const FLOW_STATE_FILE = "prune-flow.safetensors";

export interface FlowState {
  /** PyTorch shapes of the prunable weights when the flow began, by name. */
  shapes: Record<string, number[]>;
  /** Lottery tickets: every parameter's values (dense positions) before step `rewindStep`, by name. */
  rewind: Map<string, Float32Array> | null;
  rewindStep?: number;
}

/** Writes the flow state of `flow` (its method name) into `runDir`. */
export function saveFlowState(runDir: string, flow: string, state: FlowState): void {
  const tensors: [string, TensorToWrite][] = [...(state.rewind ?? [])].map(([name, values]) => [`rewind.${name}`, { shape: [values.length], values }]);
  const metadata: Record<string, string> = { flow, shapes: JSON.stringify(state.shapes) };
  if (state.rewind !== null) metadata.rewindStep = String(state.rewindStep);
  writeSafetensors(join(runDir, FLOW_STATE_FILE), tensors, metadata);
}

/** The flow state file a resumed run continues with: beside the checkpoint it resumes from, else in its own folder; null if neither has one. */
export function findFlowState(runDir: string, resumeFrom: string | undefined): string | null {
  const candidates = [...(resumeFrom ? [join(dirname(resumeFrom), FLOW_STATE_FILE)] : []), join(runDir, FLOW_STATE_FILE)];
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** Reads a flow state written by `saveFlowState` for the same method. */
export function loadFlowState(path: string, flow: string): FlowState {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.flow !== flow) throw new Error(`${path}: holds the state of a ${metadata.flow ?? "unknown"} flow, not ${flow}`);
  const rewind = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (!name.startsWith("rewind.") || !(t.values instanceof Float32Array)) throw new Error(`${path}: unexpected tensor "${name}"`);
    rewind.set(name.slice("rewind.".length), t.values);
  }
  const hasRewind = metadata.rewindStep !== undefined;
  return { shapes: JSON.parse(metadata.shapes) as Record<string, number[]>, rewind: hasRewind ? rewind : null, ...(hasRewind ? { rewindStep: Number(metadata.rewindStep) } : {}) };
}
