// The recipe's `distill:` section: a teacher checkpoint, the temperature T and the weight α of its soft targets.
import { z } from "zod";
import { positiveNumber, section, text, unitInterval } from "../recipe/fields.js";

/** SparseML's defaults (T 2, α 0.5); Hinton et al. 2015 used T in 2–20. */
export const distillSchema = section({
  teacher: text().describe("Checkpoint of the teacher (any architecture sparsetrain trains, dense or sparse) with the data's input size and classes."),
  temperature: positiveNumber().default(2).describe("T > 0: teacher and student logits are softened as softmax(logits / T)."),
  alpha: unitInterval().default(0.5).describe("α in [0, 1]: loss = α·T²·KL(teacher ‖ student) + (1 − α)·cross-entropy with the labels."),
}).describe("Knowledge distillation from a teacher checkpoint (Hinton et al. 2015); validation and test stay plain cross-entropy.");

export type DistillConfig = z.output<typeof distillSchema>;
