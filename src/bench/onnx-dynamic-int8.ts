// Rewrites our int8 QDQ ONNX export into onnxruntime's dynamic-quantization form (int8 × uint8 integer matrix products), the int8 peer at its strongest for `bench infer`.
//
// Our export stores int8 weights that DequantizeLinear turns back into float32, so onnxruntime
// multiplies in float32. `onnxruntime.quantization.quantize_dynamic` instead quantizes the
// activations at run time and multiplies integers; its pattern (DynamicQuantizeLinear →
// MatMulInteger → Cast → Mul by x_scale·w_scale → Add bias) is what onnxruntime fuses into one
// DynamicQuantizeMatMul kernel. This writes that pattern for every Gemm whose weight comes from a
// DequantizeLinear, with the same codes and per-output-channel scales; convolutions keep QDQ.
import { codeTensor, encodeModel, node, onnx, ONNX_FLOAT, type NodeProto, type TensorProto } from "../export/onnx-protos.js";

function int8Codes(tensor: TensorProto): Int8Array {
  const raw = tensor.rawData!;
  return new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** The dynamic-int8 form of an int8 QDQ model from exportOnnxModel (same weights, scales and biases). */
export function dynamicInt8Onnx(qdqBytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(qdqBytes);
  const graph = model.graph!;
  const initializers = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const dequantized = new Map(graph.node!.filter((n) => n.opType === "DequantizeLinear").map((n) => [n.output![0], n]));
  const used = new Set<string>();
  const nodes: NodeProto[] = [];
  const added: TensorProto[] = [];
  for (const n of graph.node!) {
    const dq = n.opType === "Gemm" ? dequantized.get(n.input![1]) : undefined;
    if (dq === undefined) {
      nodes.push(n);
      continue;
    }
    const [codesName, scaleName] = dq.input!;
    const codes = initializers.get(codesName)!;
    const [rows, cols] = codes.dims!.map((d) => (typeof d === "number" ? d : d.toNumber()));
    // MatMulInteger multiplies x [batch, cols] by B [cols, rows]: the [rows, cols] codes transposed.
    const source = int8Codes(codes), transposed = new Int8Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) transposed[c * rows + r] = source[r * cols + c];
    const name = n.output![0];
    added.push(codeTensor(`${name}.codes_t`, [cols, rows], transposed, 8), codeTensor(`${name}.codes_zero`, [rows], new Int8Array(rows), 8));
    nodes.push(
      node("DynamicQuantizeLinear", [n.input![0]], [`${name}.x_q`, `${name}.x_scale`, `${name}.x_zero`]),
      node("Mul", [`${name}.x_scale`, scaleName], [`${name}.scale`]),
      node("MatMulInteger", [`${name}.x_q`, `${name}.codes_t`, `${name}.x_zero`, `${name}.codes_zero`], [`${name}.int32`]),
      node("Cast", [`${name}.int32`], [`${name}.float`], { to: ONNX_FLOAT }),
      node("Mul", [`${name}.float`, `${name}.scale`], [`${name}.scaled`]),
      node("Add", [`${name}.scaled`, n.input![2]], [name]),
    );
    used.add(dq.output![0]);
  }
  graph.node = nodes.filter((n) => !(n.opType === "DequantizeLinear" && used.has(n.output![0])));
  const stillRead = new Set(graph.node.flatMap((n) => n.input!));
  graph.initializer = [...graph.initializer!.filter((t) => stillRead.has(t.name!)), ...added];
  return encodeModel(model);
}
