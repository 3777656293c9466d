/**
 * Atomic file replacement (CometBFT `libs/tempfile/tempfile.go` `WriteFileAtomic`) and the
 * clean-up of what a crash in the middle of one leaves behind. Every file the node rewrites
 * (`addrbook.json`, `node_key.json`, `config.toml`) goes through {@link writeFileAtomic}: the
 * bytes are written to `<path>.tmp-<random>` in the same directory, flushed, and renamed over
 * `path`, so a reader (or a crash) sees the old file or the new one, never half of one. A
 * `kill -9` before the rename leaves the temp file; {@link removeTempFiles}, run at start,
 * deletes those.
 * @module
 */

/** What separates a file's name from the random suffix of its temp files. */
export const TEMP_INFIX = ".tmp-";

/** Options of {@link writeFileAtomic}. */
export interface WriteAtomicOptions {
  /** Flush the file and the directory entry to disk (default true). */
  sync?: boolean;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Replaces `path` with `data` atomically, the file getting exactly `mode` (the umask may narrow
 * the mode on creation, so it is set again). The temp file is removed on every failure.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  mode: number,
  opts: WriteAtomicOptions = {},
): Promise<void> {
  const sync = opts.sync ?? true;
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16))
    .join("");
  const tmp = `${path}${TEMP_INFIX}${suffix}`;
  let renamed = false;
  try {
    const f = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      if (sync) await f.sync();
    } finally {
      f.close();
    }
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await Deno.remove(tmp).catch(() => {});
  }
  if (!sync) return;
  // Make the rename itself durable; not every platform lets a directory be opened.
  try {
    const d = await Deno.open(dirOf(path), { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // best effort
  }
}

/**
 * True for the name of a temp file of `base`: `<base>.tmp-<suffix>` (ours), and the shapes
 * earlier switchyard versions wrote: `<base>.<hex>.tmp`.
 */
export function isTempFileOf(base: string, name: string): boolean {
  if (name.startsWith(base + TEMP_INFIX) && name.length > base.length + TEMP_INFIX.length) {
    return true;
  }
  if (!name.startsWith(base + ".") || !name.endsWith(".tmp")) return false;
  return /^[0-9a-f-]{6,36}$/.test(name.slice(base.length + 1, -".tmp".length));
}

/**
 * Removes the temp files a crashed {@link writeFileAtomic} of `path` left next to it; returns
 * the paths removed. Run before the file is first read or written: a save in progress would
 * lose its temp file. A missing directory means there is nothing to clean.
 */
export async function removeTempFiles(path: string): Promise<string[]> {
  const dir = dirOf(path);
  const base = baseOf(path);
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !isTempFileOf(base, e.name)) continue;
      const p = `${dir}/${e.name}`;
      try {
        await Deno.remove(p);
        removed.push(p);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return removed;
    throw err;
  }
  return removed;
}
