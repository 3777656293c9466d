/**
 * A temporary directory for the duration of one test body, removed (recursively) afterwards
 * whether the body passes or throws.
 * @module
 */

/** Runs `fn` with a fresh temp directory (name starting with `prefix`), then removes it. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix?: string,
): Promise<T> {
  const dir = await Deno.makeTempDir(prefix === undefined ? undefined : { prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
