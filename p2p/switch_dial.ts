/**
 * Outbound dialing helpers of the switch (CometBFT `Switch.DialPeersAsync` /
 * `dialPeersAsync`, spec §7.4), kept apart from `switch.ts` to keep both readable.
 * @module
 */
import { RejectedError, SelfConnectionError } from "./errors.ts";
import { NetAddress, NetAddressLookupError } from "./netaddress.ts";
import { DuplicatePeerIdError } from "./peer_set.ts";
import type { DialOutcome } from "./metrics.ts";
import type { Sleep } from "./reconnect.ts";
import type { Logger } from "../libs/log.ts";

/** `dialPeerWithAddress` refused: already dialing or connected (Go's error of the same name). */
export class CurrentlyDialingOrExistingAddressError extends RejectedError {
  readonly addr: NetAddress;
  constructor(addr: NetAddress) {
    super(`connection with ${addr} has been established or dialed`);
    this.addr = addr;
  }
}

/** The address-book hooks the switch calls (all optional; PEX's address book implements them). */
export interface SwitchAddrBook {
  addAddress?(addr: NetAddress, src: NetAddress): void | Promise<void>;
  addOurAddress?(addr: NetAddress): void;
  removeAddress?(addr: NetAddress): void;
  markGood?(id: string): void;
  addPrivateIds?(ids: readonly string[]): void;
  save?(): void | Promise<void>;
}

/** What {@link dialPeersAsync} needs from the switch. */
export interface DialContext {
  log: Logger;
  addrBook: SwitchAddrBook | undefined;
  signal: AbortSignal;
  sleep: Sleep;
  random: () => number;
  dialRandomizerMs: number;
  ourAddress(): NetAddress | undefined;
  dial(addr: NetAddress): Promise<void>;
  track<T>(p: Promise<T>): Promise<T>;
}

/** Parses a list of `id@host:port`; lookup failures are logged and skipped, others throw. */
export async function parsePeerAddresses(
  log: Logger,
  addrs: readonly string[],
): Promise<NetAddress[]> {
  const out: NetAddress[] = [];
  let firstErr: Error | undefined;
  for (const s of addrs) {
    try {
      out.push(await NetAddress.parse(s));
    } catch (e) {
      log.error("Error in peer's address", { err: e });
      if (!(e instanceof NetAddressLookupError)) firstErr ??= e as Error;
    }
  }
  if (firstErr) throw firstErr;
  return out;
}

/**
 * Go's `DialPeersAsync`: parse, add to the address book (source: our address) and save, then
 * dial each address in its own tracked task, in random order, after U[0, dialRandomizerMs).
 */
export async function dialPeersAsync(ctx: DialContext, addrs: readonly string[]): Promise<void> {
  const netAddrs = await parsePeerAddresses(ctx.log, addrs);
  const ours = ctx.ourAddress();
  if (ctx.addrBook?.addAddress && ours) {
    for (const a of netAddrs) {
      if (a.same(ours)) continue;
      try {
        await ctx.addrBook.addAddress(a, ours);
      } catch (e) {
        ctx.log.error("Can't add peer's address to addrbook", { err: e });
      }
    }
    await ctx.addrBook.save?.();
  }
  const order = netAddrs.map((a) => ({ a, k: ctx.random() })).sort((x, y) => x.k - y.k);
  for (const { a: addr } of order) {
    if (ours && addr.same(ours)) {
      ctx.log.debug("Ignore attempt to connect to ourselves", { addr, ourAddr: ours });
      continue;
    }
    ctx.track((async () => {
      try {
        await ctx.sleep(Math.floor(ctx.random() * ctx.dialRandomizerMs), ctx.signal);
        await ctx.dial(addr);
      } catch (e) {
        if (ctx.signal.aborted) return;
        const quiet = e instanceof CurrentlyDialingOrExistingAddressError ||
          e instanceof DuplicatePeerIdError || e instanceof SelfConnectionError;
        if (quiet) ctx.log.debug("Error dialing peer", { err: e });
        else ctx.log.error("Error dialing peer", { err: e });
      }
    })());
  }
}

/** The dial-outcome counter label of a dial error. */
export function dialOutcomeOf(e: unknown): DialOutcome {
  if (e instanceof CurrentlyDialingOrExistingAddressError) return "already_dialing_or_connected";
  const kind = (e as { kind?: unknown })?.kind;
  if (typeof kind === "string") return kind as DialOutcome;
  return "error";
}
