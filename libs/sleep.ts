/**
 * The one cancellable pause of the code base (accept-loop back-off, flow-rate limiting, relay
 * retries, the demo).
 * @module
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects, never leaks a timer). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
