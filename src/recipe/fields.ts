// Schema building blocks whose every error says what is allowed ("expected a number > 0"), and strict sections that list their keys.
import { z } from "zod";

/** One message for every way a field can be wrong: the formatter appends what was found. */
export function expected(what: string) {
  return { error: `expected ${what}` };
}

export const positiveNumber = () => z.number(expected("a number > 0")).gt(0, expected("a number > 0"));
export const nonNegativeNumber = () => z.number(expected("a number >= 0")).min(0, expected("a number >= 0"));
/** [0, 1): fractions of a dataset, momentum, dropout. */
export const fraction = () => z.number(expected("a number in [0, 1)")).min(0, expected("a number in [0, 1)")).lt(1, expected("a number in [0, 1)"));
/** [0, 1]: factors of a learning rate. */
export const unitInterval = () => z.number(expected("a number in [0, 1]")).min(0, expected("a number in [0, 1]")).max(1, expected("a number in [0, 1]"));
/** (0, 1): both ends excluded. */
export const openUnitInterval = () => z.number(expected("a number in (0, 1)")).gt(0, expected("a number in (0, 1)")).lt(1, expected("a number in (0, 1)"));
/** (0, 1]: densities (1 = dense). */
export const density = () => z.number(expected("a density in (0, 1]")).gt(0, expected("a density in (0, 1]")).max(1, expected("a density in (0, 1]"));
export const positiveInt = () => z.int(expected("an integer >= 1")).min(1, expected("an integer >= 1"));
export const nonNegativeInt = () => z.int(expected("an integer >= 0")).min(0, expected("an integer >= 0"));
export const flag = () => z.boolean(expected("true or false"));
export const text = () => z.string(expected("a non-empty string")).min(1, expected("a non-empty string"));

/** One of a fixed set of names; the message lists them. */
export function oneOf<const T extends readonly [string, ...string[]]>(names: T) {
  return z.enum(names, expected(`one of ${names.join(" | ")}`));
}

/**
 * A strict object: unknown keys are errors. The message carries the allowed keys so the formatter
 * can list them; `z.strictObject` itself only reports the unknown ones.
 */
export function section<S extends z.core.$ZodLooseShape>(shape: S) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `allowed keys: ${allowed}` : "expected a mapping of keys to values"),
  });
}
