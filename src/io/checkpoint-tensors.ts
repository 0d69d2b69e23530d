// Checks a checkpoint's tensors against the model its metadata describes (names, dtypes, shapes, values) before any layer is allocated.
import { planModel, type LayerPlan, type ModelSpec } from "../nn/presets.js";
import type { SafetensorsDtype, StoredTensor } from "./safetensors.js";

const indexDtypes: SafetensorsDtype[] = ["I64", "I32"];

/** One tensor the planned model needs: its name, allowed dtypes, exact shape and a check of its values. */
interface Expectation {
  name: string;
  dtypes: SafetensorsDtype[];
  shape: number[];
  /** What the shape means, for the error message. */
  meaning: string;
  check?: (values: StoredTensor["values"]) => string | undefined;
}

/**
 * Validates every tensor the model of `spec` will read, so that sizes in the metadata never decide an
 * allocation the file does not back (absurd widths fail here, not in a hanging allocation), and
 * a transposed, integer-typed, NaN-holding or otherwise inconsistent tensor is refused by name.
 * Tensors the plan does not name are left for the loader to report.
 */
export function checkTensorsFitModel(spec: ModelSpec, tensors: Map<string, StoredTensor>, sparseShapes: Record<string, [number, number]> | undefined, path: string): void {
  let plan: LayerPlan[];
  try {
    plan = planModel(spec);
  } catch (error) {
    throw new Error(`${path}: metadata "model": ${(error as Error).message}`);
  }
  const sparse = spec.sparse ?? {};
  const weightLayers = plan.flatMap((l, i) => (l.kind === "linear" || l.kind === "conv" ? [String(i)] : []));
  for (const key of Object.keys(sparse)) {
    if (!weightLayers.includes(key)) throw new Error(`${path}: metadata "model" field sparse: layer "${key}" is not a weight layer of ${spec.preset} (weight layers: ${weightLayers.join(", ")})`);
  }
  const sparseNames = weightLayers.filter((i) => sparse[i] !== undefined).map((i) => `layers.${i}.weight`);
  for (const name of Object.keys(sparseShapes ?? {})) {
    if (!sparseNames.includes(name)) throw new Error(`${path}: metadata "sparse" names ${name}, which the model stores dense (sparse weights: ${sparseNames.join(", ") || "none"})`);
  }
  for (const expectation of plan.flatMap((layer, i) => expectations(layer, i, sparse[String(i)] !== undefined, tensors, sparseShapes, path))) {
    checkTensor(tensors.get(expectation.name), expectation, path);
  }
}

function expectations(layer: LayerPlan, index: number, isSparse: boolean, tensors: Map<string, StoredTensor>, sparseShapes: Record<string, [number, number]> | undefined, path: string): Expectation[] {
  const prefix = `layers.${index}`;
  const what = layer.kind === "linear" ? `Linear ${prefix}` : `Conv2d ${prefix}`;
  const finite = (v: StoredTensor["values"]) => firstBad(v, (x) => Number.isFinite(x), "is not finite");
  if (layer.kind === "linear" || layer.kind === "conv") {
    const out = layer.kind === "linear" ? layer.outFeatures : layer.outChannels;
    const weightShape = layer.kind === "linear" ? [layer.outFeatures, layer.inFeatures] : [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel];
    const bias: Expectation = { name: `${prefix}.bias`, dtypes: ["F32"], shape: [out], meaning: `the outputs of ${what}`, check: finite };
    const weight = `${prefix}.weight`;
    if (!isSparse) {
      const list: Expectation[] = [{ name: weight, dtypes: ["F32"], shape: weightShape, meaning: layer.kind === "linear" ? "out × in features" : "Cout × Cin × k × k", check: finite }];
      if (tensors.has(`${weight}_mask`)) {
        list.push({ name: `${weight}_mask`, dtypes: ["U8"], shape: weightShape, meaning: `the shape of ${weight}`, check: (v) => firstBad(v, (x) => x === 0 || x === 1, "is not 0 or 1") });
      }
      return [...list, bias];
    }
    const rows = out, cols = weightShape.slice(1).reduce((a, b) => a * b, 1);
    const recorded = sparseShapes?.[weight];
    if (recorded !== undefined && (recorded[0] !== rows || recorded[1] !== cols)) {
      throw new Error(`${path}: metadata "sparse" gives ${weight} as [${recorded.join(", ")}], but the model needs [${rows}, ${cols}]`);
    }
    const nnz = tensors.get(`${weight}.col_indices`)?.shape[0] ?? 0;
    return [
      { name: `${weight}.crow_indices`, dtypes: indexDtypes, shape: [rows + 1], meaning: `rows + 1 of the ${rows}×${cols} CSR weight of ${what}` },
      { name: `${weight}.col_indices`, dtypes: indexDtypes, shape: [nnz], meaning: "one index per stored weight" },
      { name: `${weight}.values`, dtypes: ["F32"], shape: [nnz], meaning: `one value per entry of ${weight}.col_indices`, check: finite },
      bias,
    ];
  }
  if (layer.kind === "batchnorm") {
    const c = layer.channels;
    const perChannel = (name: string, check: Expectation["check"]): Expectation => ({ name: `${prefix}.${name}`, dtypes: ["F32"], shape: [c], meaning: `the ${c} channels of BatchNorm ${prefix}`, check });
    return [
      perChannel("weight", finite), perChannel("bias", finite), perChannel("running_mean", finite),
      perChannel("running_var", (v) => firstBad(v, (x) => Number.isFinite(x) && x >= 0, "is not a variance (a finite number >= 0)")),
      { name: `${prefix}.num_batches_tracked`, dtypes: indexDtypes, shape: [], meaning: "a scalar", check: (v) => firstBad(v, (x) => x >= 0, "is negative") },
    ];
  }
  return [];
}

function checkTensor(tensor: StoredTensor | undefined, e: Expectation, path: string): void {
  if (tensor === undefined) throw new Error(`${path}: tensor "${e.name}" is missing (the model needs it with shape [${e.shape.join(", ")}])`);
  if (!e.dtypes.includes(tensor.dtype)) throw new Error(`${path}: tensor "${e.name}" is ${tensor.dtype}, expected ${e.dtypes.join(" or ")}`);
  if (tensor.shape.length !== e.shape.length || tensor.shape.some((d, i) => d !== e.shape[i])) {
    throw new Error(`${path}: tensor "${e.name}" has shape [${tensor.shape.join(", ")}], expected [${e.shape.join(", ")}] (${e.meaning})`);
  }
  const problem = e.check?.(tensor.values);
  if (problem !== undefined) throw new Error(`${path}: tensor "${e.name}": ${problem}`);
}

/** "value NaN at index 3 is not finite" for the first value failing `ok`, else undefined. */
function firstBad(values: StoredTensor["values"], ok: (x: number) => boolean, problem: string): string | undefined {
  for (let i = 0; i < values.length; i++) {
    const x = Number(values[i]);
    if (!ok(x)) return `value ${x} at index ${i} ${problem}`;
  }
  return undefined;
}
