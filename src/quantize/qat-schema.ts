// The recipe's `quantize:` section: quantization-aware fine-tuning of the weights (bits, granularity, first epoch).
import { z } from "zod";
import { expected, nonNegativeInt, oneOf, section } from "../recipe/fields.js";
import { QUANT_BITS, QUANT_GRANULARITIES } from "./rows.js";

export const quantizeSchema = section({
  bits: z.literal(QUANT_BITS, expected(`one of ${QUANT_BITS.join(" | ")} (bits per weight)`)).default(8)
    .describe("Width of the integer codes: 8 (int8) or 4 (int4), symmetric with zero point 0, so a zero stays exactly zero."),
  granularity: oneOf(QUANT_GRANULARITIES).default("per-row")
    .describe("per-row: one scale per output row of a linear layer (output channel of a convolution); per-tensor: one scale per weight."),
  startEpoch: nonNegativeInt().default(0)
    .describe("Epochs trained in float before fake quantization starts (0: from the first step). The final weights are quantized either way."),
}).describe(
  "Quantization-aware training: the forward and backward passes see the weights fake-quantized (straight-through estimator) while the optimizer updates "
  + "float masters; the mask and the non-zeros never change. Validation measures the quantized model; final.safetensors holds the weights on the grid.",
);

export type QuantizeConfig = z.output<typeof quantizeSchema>;
