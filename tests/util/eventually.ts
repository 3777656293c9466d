/**
 * Bounded polling, the one loop behind the tests' waits: the interop tests read their conditions
 * from Go nodes over RPC, where a probe that throws (an RPC not up yet, a node restarting) counts
 * as "not yet" and the last such error is kept for the timeout message; the daemon tests'
 * `waitFor` (tests/util/daemon.ts) lets a throwing probe fail the wait at once.
 * @module
 */

/** Bounds of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between probes (default 200 ms). */
  pollMs?: number;
  /** A probe that throws ends the wait with its error instead of counting as "not yet". */
  failOnError?: boolean;
}

/**
 * Polls `probe` until it returns a value other than undefined and returns that value; throws
 * after `timeoutMs`, naming `what` and the probe's last error, if any.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, pollMs = 200, failOnError = false }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      if (failOnError) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
