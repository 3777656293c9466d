/**
 * The address book's service lifecycle (Go `AddrBook.OnStart`/`OnStop`/`saveRoutine`): load the
 * file at start, save every `dumpAddressInterval`, save once more at stop. Split from
 * `addrbook.ts`, which delegates `start`/`stop`/`save`/`status` here.
 * @module
 */
import { AlreadyStartedError, NotStartedError } from "../errors.ts";
import type { Logger } from "../../libs/log.ts";
import { abortableSleep } from "../reconnect.ts";
import { type AddrBookSnapshot, loadAddrBookFile, saveAddrBookFile } from "./addrbook_file.ts";

/** Service lifecycle of the book. */
export type AddrBookStatus =
  | { readonly code: "inactive" }
  | { readonly code: "active"; readonly controller: AbortController; readonly loop: Promise<void> }
  | { readonly code: "stopped" };

/** What the service needs from its book. */
export interface AddrBookServiceOptions {
  /** `addrbook.json` path; without it nothing is loaded or saved. */
  readonly filePath: string | undefined;
  readonly log: Logger;
  /** Period of the save loop. */
  readonly saveIntervalMs: number;
  /** The book's state to write. */
  readonly snapshot: () => AddrBookSnapshot;
  /** Loads a state read from the file into the book. */
  readonly restore: (snap: AddrBookSnapshot) => void;
  /** Entries in the book (for the save log line). */
  readonly size: () => number;
}

/** Loads, periodically saves and finally saves one book. */
export class AddrBookService {
  readonly #o: AddrBookServiceOptions;
  #status: AddrBookStatus = { code: "inactive" };

  constructor(opts: AddrBookServiceOptions) {
    this.#o = opts;
  }

  /** Lifecycle state. */
  get status(): AddrBookStatus {
    return this.#status;
  }

  /** Loads the file (missing → empty; corrupt → moved aside) and starts the periodic save. */
  async start(): Promise<void> {
    if (this.#status.code !== "inactive") throw new AlreadyStartedError("addrbook already started");
    if (this.#o.filePath) {
      const snap = await loadAddrBookFile(this.#o.filePath, this.#o.log);
      if (snap) this.#o.restore(snap);
    }
    const controller = new AbortController();
    const loop = this.#saveLoop(controller.signal);
    this.#status = { code: "active", controller, loop };
  }

  /** Stops the periodic save, then saves once more. */
  async stop(): Promise<void> {
    const s = this.#status;
    if (s.code !== "active") throw new NotStartedError("addrbook not started");
    this.#status = { code: "stopped" };
    s.controller.abort();
    await s.loop;
    await this.save();
  }

  /** Writes the book atomically to the file (no-op without a path). Never throws. */
  save(): Promise<void> {
    return this.#save("info");
  }

  /** The periodic save logs at debug: every 2 min is churn, not news. */
  async #save(level: "debug" | "info"): Promise<void> {
    const { filePath, log } = this.#o;
    if (!filePath) return;
    log[level]("Saving AddrBook to file", { size: this.#o.size() });
    try {
      await saveAddrBookFile(filePath, this.#o.snapshot());
    } catch (err) {
      log.error("Failed to save AddrBook to file", { file: filePath, err: String(err) });
    }
  }

  async #saveLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await abortableSleep(this.#o.saveIntervalMs, signal);
      } catch {
        return; // stopped: stop() saves once more itself
      }
      await this.#save("debug");
    }
  }
}
