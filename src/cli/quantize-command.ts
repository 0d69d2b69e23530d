// `sparsetrain quantize`: post-training int8/int4 quantization of a float checkpoint into a new quantized checkpoint, with per-layer non-zeros and bytes.
import { statSync } from "node:fs";
import { loadCheckpoint, statePath } from "../io/checkpoint.js";
import { readSafetensors } from "../io/safetensors.js";
import { saveQuantizedCheckpoint } from "../quantize/checkpoint-write.js";
import { quantizeModel } from "../quantize/quantize-model.js";
import { isQuantGranularity, QUANT_BITS, QUANT_GRANULARITIES, type QuantBits } from "../quantize/rows.js";
import { countParameters } from "../train/run.js";
import { layerBytes, range } from "./checkpoint-commands.js";
import { samePath } from "./parse-options.js";

export interface QuantizeCommandOptions {
  bits: string;
  granularity: string;
  out: string;
  json?: boolean;
}

/** `--bits` as given: exactly one of the supported widths, written as a plain integer. */
export function parseBits(text: string): QuantBits {
  const bits = QUANT_BITS.find((b) => String(b) === text.trim());
  if (bits === undefined) throw new RangeError(`--bits must be ${QUANT_BITS.join(" or ")}, got "${text}"`);
  return bits;
}

export function quantizeCommand(path: string, options: QuantizeCommandOptions): void {
  const bits = parseBits(options.bits);
  if (!isQuantGranularity(options.granularity)) throw new RangeError(`--granularity must be ${QUANT_GRANULARITIES.join(" or ")}, got "${options.granularity}"`);
  if (samePath(path, options.out)) throw new Error(`--out must differ from the input checkpoint (${path}): quantize never overwrites its input`);
  if (samePath(statePath(path), options.out)) {
    throw new Error(`--out ${options.out} is the state file of the input checkpoint (${statePath(path)}): quantize never overwrites its input`);
  }
  const checkpoint = loadCheckpoint(path);
  if (checkpoint.quantization) {
    throw new Error(`${path}: already quantized (int${checkpoint.quantization.bits} ${checkpoint.quantization.granularity}); quantize the float checkpoint it was made from`);
  }
  const quantization = quantizeModel(checkpoint.model, { bits, granularity: options.granularity });
  saveQuantizedCheckpoint(options.out, checkpoint.model, quantization, {
    recipe: checkpoint.recipe, normalizer: checkpoint.normalizer, metrics: checkpoint.metrics,
    step: checkpoint.step, epoch: checkpoint.epoch, seed: checkpoint.seed,
  });

  const written = readSafetensors(options.out).tensors;
  const layers = quantization.layers.map((l) => {
    const [scaleMin, scaleMax] = range(l.scales);
    return {
      name: l.name, storage: l.storage, shape: l.shape,
      nonzero_before: l.nonzeroBefore, nonzero_after: l.nonzeroAfter, stored_before: l.storedBefore, stored_after: l.storedAfter,
      scale_min: scaleMin, scale_max: scaleMax, bytes: layerBytes(written, l.name),
    };
  });
  const counts = countParameters(checkpoint.model.net.parameters());
  const fileBytes = statSync(options.out).size, inputBytes = statSync(path).size;
  for (const l of layers) {
    process.stdout.write(`${l.name.padEnd(16)} ${l.storage.padEnd(7)} [${l.shape.join(", ")}]`.padEnd(44)
      + `non-zero ${String(l.nonzero_before).padStart(8)} → ${String(l.nonzero_after).padEnd(8)} int${bits}  ${l.bytes} bytes\n`);
  }
  process.stdout.write(`int${bits} ${quantization.granularity} (symmetric, zero point 0): ${counts.nonzero}/${counts.total} parameters non-zero; wrote ${options.out} (${fileBytes} bytes, input ${inputBytes} bytes)\n`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      checkpoint: options.out, input: path, bits, granularity: quantization.granularity, scheme: quantization.scheme,
      params_total: counts.total, params_nonzero: counts.nonzero, sparsity: 1 - counts.nonzero / counts.total,
      file_bytes: fileBytes, input_file_bytes: inputBytes, layers,
    })}\n`);
  }
}
