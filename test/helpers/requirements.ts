// Tests that need something outside the repository (PyTorch, a Debian data package, WebAssembly SIMD): skipped on a developer's machine, failed on CI.
import type { TestContext } from "node:test";

/**
 * True when `available`; otherwise skips the test (returns false, the caller returns) or, when
 * CI=true, throws: CI installs every dependency (.ci/run), so a missing one there is a failure,
 * not a silently smaller test suite.
 */
export function requireOrSkip(t: Pick<TestContext, "skip">, available: boolean, reason: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (available) return true;
  if (env.CI === "true") throw new Error(`required on CI (CI=true): ${reason}`);
  t.skip(reason);
  return false;
}
