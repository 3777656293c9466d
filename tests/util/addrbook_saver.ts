/**
 * Child process for the crash-debris test: loads the address book at `Deno.args[0]` and saves
 * it again and again through the node's own save path (`saveAddrBookFile`, an atomic write)
 * until killed, or for at most {@link SAVE_LOOP_LIMIT_MS}. Prints "saving" once, before the
 * first save, so the parent knows when a kill lands mid-save.
 * @module
 */
import { loadAddrBookFile, saveAddrBookFile } from "../../p2p/pex/addrbook_file.ts";
import { nopLogger } from "../../libs/log.ts";

/** The loop stops itself after this long even if nobody kills it. */
export const SAVE_LOOP_LIMIT_MS = 20_000;

if (import.meta.main) {
  const path = Deno.args[0];
  const snap = await loadAddrBookFile(path, nopLogger);
  if (snap === null) throw new Error(`${path}: no address book to re-save`);
  console.log("saving");
  const end = Date.now() + SAVE_LOOP_LIMIT_MS;
  while (Date.now() < end) await saveAddrBookFile(path, snap);
}
