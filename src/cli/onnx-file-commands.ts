// `info` of an exported ONNX model (opset, operators, initializers with type, shape and bytes), and the `eval` refusal that points to onnxruntime.
import { readFileSync, statSync } from "node:fs";
import { onnx } from "../export/onnx-protos.js";

/** ONNX models are recognized by their extension: protobuf bytes carry no magic number. */
export function isOnnxFile(path: string): boolean {
  return /\.onnx$/i.test(path);
}

const dataTypeNames: Record<number, string> = { 1: "float32", 3: "int8", 6: "int32", 7: "int64", 10: "float16", 22: "int4" };

export function evalOnnxFile(path: string): never {
  throw new Error(`${path}: an ONNX model; eval reads checkpoints and compact model files (run ONNX models with an ONNX runtime such as onnxruntime, or eval the checkpoint it was exported from)`);
}

export function infoOnnxFile(path: string, options: { json?: boolean }): void {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(readFileSync(path));
  } catch (error) {
    throw new Error(`${path}: not a readable ONNX model (${(error as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new Error(`${path}: an ONNX model without a graph`);
  const initializers = (graph.initializer ?? []).map((t) => ({
    name: t.name ?? "", type: dataTypeNames[t.dataType ?? 0] ?? `type ${t.dataType}`, shape: (t.dims ?? []).map(Number), bytes: t.rawData?.length ?? 0,
  }));
  const opset = Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 0);
  const operators = (graph.node ?? []).map((n) => n.opType ?? "");
  const summary = { file: path, format: "onnx", opset, producer: model.producerName ?? "", operators, file_bytes: statSync(path).size, initializers };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const rows = [["initializer", "type", "shape", "bytes"], ...initializers.map((t) => [t.name, t.type, `[${t.shape.join(", ")}]`, String(t.bytes)])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd()).join("\n") + "\n");
  process.stdout.write(`ONNX model (opset ${opset}, by ${summary.producer || "unknown"}): ${operators.join(" → ")}; file ${summary.file_bytes} bytes (dense weights: ONNX runtimes compute sparse weights densely)\n`);
}
