// What a pruning flow keeps beyond the checkpoints so a resumed run continues exactly: the weight shapes before any shrinking and the lottery rewind values, in <run>/prune-flow.safetensors.
//
// Both are fixed once taken (the shapes at step 0, the rewind values at `rewindStep`), so one file
// per run serves every checkpoint of it. A resumed run reads the file beside the checkpoint it
// resumes from (or in its own folder) and writes it into its own folder, so it can be resumed again.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { readSafetensors, writeSafetensors, type TensorToWrite } from "../../io/safetensors.js";

export const FLOW_STATE_FILE = "prune-flow.safetensors";
/** Prefix of the CSR structure saved with a sparse weight's rewind values. */
const CSR_PREFIX = "rewind_structure.";

/**
 * A parameter's values saved for rewinding: every entry of a dense tensor, or for a CSR weight the
 * values at its stored positions with its structure (never a rows×cols array).
 */
export interface SavedValues {
  values: Float32Array;
  csr?: { rowPtr: Int32Array; colIdx: Int32Array };
}

export interface FlowState {
  /** PyTorch shapes of the prunable weights when the flow began, by name. */
  shapes: Record<string, number[]>;
  /** Lottery tickets: every parameter's values before step `rewindStep`, by name. */
  rewind: Map<string, SavedValues> | null;
  rewindStep?: number;
}

/** Writes the flow state of `flow` (its method name) into `runDir`. */
export function saveFlowState(runDir: string, flow: string, state: FlowState): void {
  const tensors: [string, TensorToWrite][] = [...(state.rewind ?? [])].flatMap(([name, saved]): [string, TensorToWrite][] => [
    [`rewind.${name}`, { shape: [saved.values.length], values: saved.values }],
    ...(saved.csr ? [
      [`${CSR_PREFIX}${name}.crow_indices`, { shape: [saved.csr.rowPtr.length], values: saved.csr.rowPtr }],
      [`${CSR_PREFIX}${name}.col_indices`, { shape: [saved.csr.colIdx.length], values: saved.csr.colIdx }],
    ] as [string, TensorToWrite][] : []),
  ]);
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
  const rewind = new Map<string, SavedValues>();
  const structures = new Map<string, Int32Array>();
  for (const [name, t] of tensors) {
    if (name.startsWith(CSR_PREFIX) && t.values instanceof Int32Array) structures.set(name.slice(CSR_PREFIX.length), t.values);
    else if (name.startsWith("rewind.") && t.values instanceof Float32Array) rewind.set(name.slice("rewind.".length), { values: t.values });
    else throw new Error(`${path}: unexpected tensor "${name}"`);
  }
  for (const [name, saved] of rewind) {
    const rowPtr = structures.get(`${name}.crow_indices`), colIdx = structures.get(`${name}.col_indices`);
    structures.delete(`${name}.crow_indices`);
    structures.delete(`${name}.col_indices`);
    if ((rowPtr === undefined) !== (colIdx === undefined)) throw new Error(`${path}: the saved CSR structure of ${name} is incomplete`);
    if (rowPtr !== undefined && colIdx !== undefined) {
      if (colIdx.length !== saved.values.length) throw new Error(`${path}: ${name} has ${saved.values.length} saved values for ${colIdx.length} stored positions`);
      saved.csr = { rowPtr, colIdx };
    }
  }
  if (structures.size > 0) throw new Error(`${path}: CSR structures [${[...structures.keys()].join(", ")}] belong to no saved values`);
  const hasRewind = metadata.rewindStep !== undefined;
  return { shapes: JSON.parse(metadata.shapes) as Record<string, number[]>, rewind: hasRewind ? rewind : null, ...(hasRewind ? { rewindStep: Number(metadata.rewindStep) } : {}) };
}
