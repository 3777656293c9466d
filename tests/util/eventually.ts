/**
 * Bounded polling for the interop tests, whose conditions are read from Go nodes over RPC: a
 * probe that throws (an RPC not up yet, a node restarting) counts as "not yet", not as a
 * failure, and the last such error is kept for the timeout message. Shared by
 * tests/interop_lines_test.ts and tests/interop_reactors_test.ts, which only differ in their
 * bounds.
 * @module
 */

/** Bounds of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between probes (default 200 ms). */
  pollMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined and returns that value; throws
 * after `timeoutMs`, naming `what` and the probe's last error, if any.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, pollMs = 200 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
