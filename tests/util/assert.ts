/**
 * Minimal assertion helpers with the same names and shapes as `jsr:@std/assert` (JSR is not
 * reachable from this build environment, so tests import these instead).
 * @module
 */
import { inspect, isDeepStrictEqual } from "node:util";

/** Thrown by a failed assertion. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Asserts `cond` is truthy. */
export function assert(cond: unknown, msg = "expected a truthy value"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/** Asserts deep strict equality (typed arrays compared element-wise). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\n  actual:   ${
        inspect(actual, { depth: 6 })
      }\n  expected: ${inspect(expected, { depth: 6 })}`,
    );
  }
}

/** Asserts deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}values are equal: ${inspect(actual)}`);
  }
}

/** Asserts `actual` contains `expected` as a substring. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}${JSON.stringify(actual)} does not include ${
        JSON.stringify(expected)
      }`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

function checkError<E extends Error>(
  err: unknown,
  cls?: ErrorClass<E>,
  includes?: string,
): E {
  if (cls && !(err instanceof cls)) {
    throw new AssertionError(
      `expected error of class ${cls.name}, got ${
        err instanceof Error ? `${err.name}: ${err.message}` : inspect(err)
      }`,
    );
  }
  if (includes !== undefined && !(err instanceof Error && err.message.includes(includes))) {
    throw new AssertionError(
      `expected error message to include ${JSON.stringify(includes)}, got ${
        err instanceof Error ? JSON.stringify(err.message) : inspect(err)
      }`,
    );
  }
  return err as E;
}

/** Asserts `fn` throws (optionally an instance of `cls` whose message includes `includes`). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  cls?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new AssertionError("expected function to throw");
}

/** Asserts the promise returned by `fn` rejects (optionally with `cls` / message text). */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  cls?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new AssertionError("expected promise to reject");
}
