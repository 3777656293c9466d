/**
 * Connection establishment for the switch, kept apart from `switch.ts` to keep both readable:
 * outbound (`Switch.DialPeersAsync`, spec §7.4) and the inbound accept routine (Go
 * `Switch.acceptRoutine`, spec §7.2: rejections, inbound cap, then `addPeer`).
 * @module
 */
import { RejectedError, SelfConnectionError } from "./errors.ts";
import { NetAddress, NetAddressLookupError } from "./netaddress.ts";
import { DuplicatePeerIdError } from "./peer_set.ts";
import type { DialOutcome, P2PMetrics } from "./metrics.ts";
import type { Sleep } from "./reconnect.ts";
import type { Logger } from "../libs/log.ts";
import type { Transport, TransportConn } from "./transport.ts";

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
  transport: Transport;
  metrics: P2PMetrics;
  /** The switch's add-peer flow; closes the connection itself on failure. */
  addPeer(conn: TransportConn): Promise<void>;
  /** Starts a redial loop if `addr` is a persistent peer and the switch runs. */
  redialPersistent(addr: NetAddress): void;
}

/**
 * Go's `addOutboundPeerWithConfig`: dial through the transport, then the add-peer flow. A
 * transport failure (except "self") of a persistent address starts a redial loop; an
 * add-peer failure does not. "Self" teaches the address book one of our addresses.
 */
export async function addOutboundPeer(ctx: DialContext, addr: NetAddress): Promise<void> {
  ctx.log.debug("Dialing peer", { address: addr });
  let conn: TransportConn;
  try {
    conn = await ctx.transport.dial(addr, { signal: ctx.signal });
  } catch (e) {
    ctx.metrics.dialOutcome(dialOutcomeOf(e));
    if (e instanceof SelfConnectionError) {
      ctx.addrBook?.removeAddress?.(addr);
      ctx.addrBook?.addOurAddress?.(addr);
    } else {
      ctx.redialPersistent(addr);
    }
    throw e;
  }
  try {
    await ctx.addPeer(conn);
  } catch (e) {
    ctx.metrics.dialOutcome("add_peer_failed");
    throw e;
  }
  ctx.metrics.dialOutcome("success");
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
        // Unreachable addresses are routine (PEX and dial_peers lists go stale): info, not error.
        if (quiet) ctx.log.debug("Error dialing peer", { err: e });
        else ctx.log.info("Error dialing peer", { err: e });
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

/** What {@link acceptRoutine} needs from the switch. */
export interface AcceptContext {
  transport: Transport;
  log: Logger;
  addrBook: SwitchAddrBook | undefined;
  maxInbound: number;
  isRunning(): boolean;
  isUnconditional(id: string): boolean;
  /** Inbound peers, unconditional ones excluded. */
  numInbound(): number;
  numPeers(): number;
  /** The switch's add-peer flow; closes the connection itself on failure. */
  addPeer(conn: TransportConn): Promise<void>;
}

/**
 * Takes upgraded inbound connections one at a time (so the inbound cap check and the add are
 * not raced by another inbound peer) until the transport closes.
 */
export async function acceptRoutine(ctx: AcceptContext): Promise<void> {
  for (;;) {
    const r = await ctx.transport.accept();
    if (r === null) {
      if (ctx.isRunning()) {
        ctx.log.error("Stopped accept routine, as transport is closed", {
          numPeers: ctx.numPeers(),
        });
      }
      return;
    }
    if (!r.ok) {
      if (r.error instanceof SelfConnectionError) {
        // Go records the ID plus the inbound socket's address as one of ours.
        const id = ctx.transport.nodeInfo.id;
        const ours = NetAddress.fromIPPort(r.remoteAddr.hostname, r.remoteAddr.port, id);
        ctx.addrBook?.removeAddress?.(ours);
        ctx.addrBook?.addOurAddress?.(ours);
      }
      // Duplicates, self-dials and scanners are routine; CometBFT logs them at info. The
      // remote address is ours to add: without it an operator cannot tell who was refused.
      const { hostname, port } = r.remoteAddr;
      ctx.log.debug("Inbound Peer rejected", {
        addr: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
        err: r.error,
        numPeers: ctx.numPeers(),
      });
      continue;
    }
    const conn = r.conn;
    if (!ctx.isRunning()) {
      conn.close();
      continue;
    }
    if (!ctx.isUnconditional(conn.nodeInfo.id)) {
      const have = ctx.numInbound();
      if (have >= ctx.maxInbound) {
        ctx.log.info("Ignoring inbound connection: already have enough inbound peers", {
          address: conn.socketAddr,
          have,
          max: ctx.maxInbound,
        });
        conn.close();
        continue;
      }
    }
    try {
      await ctx.addPeer(conn);
    } catch (e) {
      ctx.log.debug("Ignoring inbound connection: error while adding peer", {
        err: e,
        id: conn.nodeInfo.id,
      });
    }
  }
}
