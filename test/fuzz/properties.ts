// Settings shared by the fuzz tests (fixed seed in `npm test`, random and larger in `npm run fuzz`) and the check that a failure is a clean, one-line error.
import assert from "node:assert/strict";
import fc from "fast-check";

/** The fixed seed of `npm test`; `npm run fuzz` sets SPARSETRAIN_FUZZ_SEED (printed, so a failure can be replayed). */
const DEFAULT_SEED = 20_250_909;

/** fast-check parameters: `runs` cases in `npm test`, scaled by SPARSETRAIN_FUZZ_SCALE for long runs. */
export function fuzzParameters(runs: number): fc.Parameters<unknown> {
  const seed = process.env.SPARSETRAIN_FUZZ_SEED !== undefined ? Number(process.env.SPARSETRAIN_FUZZ_SEED) : DEFAULT_SEED;
  const scale = process.env.SPARSETRAIN_FUZZ_SCALE !== undefined ? Number(process.env.SPARSETRAIN_FUZZ_SCALE) : 1;
  return { seed, numRuns: Math.max(1, Math.round(runs * scale)), endOnFailure: true, includeErrorInReport: true };
}

/** Messages of JavaScript and WebAssembly internals: never acceptable as the error a user sees. */
const internalMessage =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|Invalid typed array length|Invalid array length|Array buffer allocation failed|Maximum call stack|out of bounds|unreachable|Cannot convert|Cannot mix BigInt|offset is outside|Unexpected end of JSON/;

/**
 * Runs `read`; if it throws, the error must be one line per problem, each starting with one of
 * `names` (the file, or "--set"), and not an internal message. Returns the value, or undefined after a clean error.
 */
export function readsCleanly<T>(read: () => T, names: string[]): T | undefined {
  try {
    return read();
  } catch (error) {
    assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`);
    const lines = error.message.split("\n");
    for (const line of lines) {
      assert.ok(names.some((n) => line.startsWith(`${n}`)), `error does not name the file (${names.join(" or ")}): ${error.message}\n${error.stack}`);
    }
    assert.doesNotMatch(error.message, internalMessage, `internal error: ${error.stack}`);
    assert.ok(!(error instanceof WebAssembly.RuntimeError), `WebAssembly trap: ${error.stack}`);
    return undefined;
  }
}
