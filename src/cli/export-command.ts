// `sparsetrain export`: a checkpoint (float or quantized; dense, masked or CSR) as a compact model file or an ONNX model taking raw inputs, written atomically, with its size against the checkpoint's.
import { statSync } from "node:fs";
import { IMAGE_CLASS_NAMES } from "../data/mnist.js";
import { exportCompactModel } from "../export/compact-writer.js";
import { exportOnnxModel, ONNX_OPSET } from "../export/onnx-export.js";
import { atomicWrite } from "../io/atomic-write.js";
import { loadCheckpoint, statePath, type LoadedCheckpoint } from "../io/checkpoint.js";
import type { QuantBits, QuantGranularity } from "../quantize/rows.js";
import { samePath } from "./parse-options.js";

export const EXPORT_FORMATS = ["compact", "onnx"] as const;
const QUANTIZE_CHOICES = ["int8", "int4"] as const;
const FLOAT_VALUES = ["float32", "float16"] as const;

export interface ExportCommandOptions {
  format: string;
  quantize?: string;
  values?: string;
  out: string;
  json?: boolean;
}

function choice<T extends string>(value: string, allowed: readonly T[], option: string, hint = ""): T {
  if (!allowed.includes(value as T)) throw new RangeError(`${option} must be ${allowed.join(" or ")}${hint}, got "${value}"`);
  return value as T;
}

/** The bits and granularity to export with: the checkpoint's own if it is quantized (a different request is an error), else --quantize's, else none. */
export function exportQuantization(checkpoint: LoadedCheckpoint, quantize: string | undefined, values: string | undefined): { bits: QuantBits; granularity: QuantGranularity } | null {
  const own = checkpoint.quantization;
  if (own === undefined) return quantize === undefined ? null : { bits: quantize === "int8" ? 8 : 4, granularity: "per-row" };
  const described = `int${own.bits} ${own.granularity}`;
  if (quantize !== undefined && quantize !== `int${own.bits}`) {
    throw new Error(`${checkpoint.path}: --quantize ${quantize} conflicts with the checkpoint's own ${described} quantization; a quantized checkpoint exports with its codes (omit --quantize, or export the float checkpoint it came from)`);
  }
  if (values !== undefined) {
    throw new Error(`${checkpoint.path}: --values ${values} conflicts with the checkpoint's own ${described} quantization; a quantized checkpoint exports with its int${own.bits} codes (omit --values)`);
  }
  return { bits: own.bits, granularity: own.granularity };
}

export function exportCommand(path: string, options: ExportCommandOptions): void {
  const format = choice(options.format, EXPORT_FORMATS, "--format");
  const quantize = options.quantize === undefined ? undefined : choice(options.quantize, QUANTIZE_CHOICES, "--quantize");
  const values = options.values === undefined ? undefined : choice(options.values, FLOAT_VALUES, "--values", " (integer codes: --quantize int8 or int4)");
  if (quantize !== undefined && values !== undefined) throw new Error(`--values ${values} and --quantize ${quantize} conflict: give one (float values, or integer codes)`);
  if (format === "onnx" && values === "float16") throw new Error(`--values float16 is for --format compact; ONNX export stores float32 weights, or int8/int4 codes with --quantize`);
  if (samePath(path, options.out) || samePath(statePath(path), options.out)) {
    throw new Error(`--out ${options.out} is the input checkpoint${samePath(path, options.out) ? "" : "'s state file"}; export never overwrites its input`);
  }
  const checkpoint = loadCheckpoint(path);
  const quantization = exportQuantization(checkpoint, quantize, values);
  const valueType = quantization !== null ? (`int${quantization.bits}` as const) : values ?? "float32";
  const dataset = (checkpoint.recipe as { data?: { dataset?: string } } | undefined)?.data?.dataset;
  const names = dataset === "mnist" || dataset === "fashion-mnist" ? [...IMAGE_CLASS_NAMES[dataset]] : undefined;
  const classNames = names !== undefined && names.length === checkpoint.spec.classes ? names : undefined;
  const bytes = format === "compact"
    ? exportCompactModel(checkpoint.model, { values: valueType, normalizer: checkpoint.normalizer, granularity: quantization?.granularity, classNames })
    : exportOnnxModel(checkpoint.model, { normalizer: checkpoint.normalizer, quantize: quantization });
  atomicWrite(options.out, bytes);

  const checkpointBytes = statSync(path).size;
  const ratio = bytes.length / checkpointBytes;
  const described = format === "compact" ? `compact, ${valueType} values` : `ONNX opset ${ONNX_OPSET}, ${valueType === "float32" ? "float32" : `${valueType} QDQ`} weights`;
  process.stdout.write(`wrote ${options.out} (${described}): ${bytes.length} bytes, ${ratio <= 1 ? `${(1 / ratio).toFixed(1)}× smaller` : `${ratio.toFixed(1)}× larger`} than the checkpoint's ${checkpointBytes} bytes\n`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      out: options.out, checkpoint: path, format, values: valueType,
      quantization: quantization ? { bits: quantization.bits, granularity: quantization.granularity } : null,
      ...(format === "onnx" ? { opset: ONNX_OPSET } : {}),
      bytes: bytes.length, checkpoint_bytes: checkpointBytes, size_ratio: ratio,
    })}\n`);
  }
}
