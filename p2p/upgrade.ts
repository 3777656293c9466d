/**
 * Connection upgrade: turns a fresh TCP socket into an authenticated, encrypted connection to a
 * compatible peer, as CometBFT's `MultiplexTransport.upgrade` / `handshake` do
 * (`p2p/transport.go`, spec §4.3–4.5):
 *
 * 1. SecretConnection handshake under its own deadline (3 s);
 * 2. outbound only: the authenticated ID must equal the dialed ID — checked before we send our
 *    NodeInfo, so a wrong peer learns nothing about us;
 * 3. NodeInfo exchange under a fresh deadline (3 s);
 * 4. `validateNodeInfo`; 5. NodeInfo ID == authenticated ID; 6. not ourselves; 7. `compatibleWith`.
 *
 * Any failure closes the socket before the error propagates. Also `dialTcp`, the 1 s TCP dial.
 * @module
 */
import { SecretConnection } from "./conn/secret_connection.ts";
import { closeQuietly, type RawConn } from "./conn/stream.ts";
import {
  DialFailedError,
  DialForbiddenError,
  HandshakeError,
  IdMismatchError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
  SelfConnectionError,
} from "./errors.ts";
import type { HostResolver, NetAddress } from "./netaddress.ts";
import { isLoopback } from "./ip.ts";
import { compatibleWith, exchangeNodeInfo, type NodeInfo, validateNodeInfo } from "./node_info.ts";

/** CometBFT v0.38's hard-coded transport dial timeout (the `dial_timeout` config key is unused). */
export const DEFAULT_DIAL_TIMEOUT_MS = 1_000;
/** CometBFT v0.38's hard-coded per-phase handshake deadline (`handshake_timeout` is unused). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 3_000;

/** The identity the upgrade authenticates with: `NodeKey` satisfies it. */
export interface UpgradeKey {
  readonly id: string;
  readonly pubKey: Uint8Array;
  sign(msg: Uint8Array): Promise<Uint8Array>;
}

/** Options shared by {@link upgradeInbound} and {@link upgradeOutbound}. */
export interface UpgradeOptions {
  /** Our node key. */
  nodeKey: UpgradeKey;
  /** The NodeInfo we send (its `id` should be `nodeKey.id`). */
  nodeInfo: NodeInfo;
  /** Deadline of each of the two phases (SecretConnection, NodeInfo). Default 3000 ms. */
  timeoutMs?: number;
  /** Aborting closes the socket and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called as each phase after the first begins (admission control: `p2p/transport.ts`). */
  onPhase?: (phase: HandshakePhase) => void;
  /**
   * Called with the peer's NodeInfo as soon as it arrived, before it is validated or checked
   * for compatibility: lets a crawler record a node on another network before the upgrade
   * rejects it.
   */
  onNodeInfo?: (theirs: NodeInfo) => void;
  /**
   * Resolves a host name in the peer's NodeInfo `listen_addr` while validating it (default:
   * /etc/hosts then DNS, unbounded, as Go's `LookupIP`); a crawler bounds it in time.
   */
  lookup?: HostResolver;
}

/**
 * The phases of an upgrade, in order: waiting for the peer's ephemeral key, the authentication
 * signatures (sealed), the NodeInfo exchange.
 */
export type HandshakePhase = "ephemeral_key" | "auth_sig" | "node_info";

/** Options of {@link upgradeOutbound}: also the ID we meant to reach. */
export interface OutboundUpgradeOptions extends UpgradeOptions {
  /** The ID from the dialed `id@host:port`. */
  dialedId: string;
}

/** A successfully upgraded connection. */
export interface UpgradedConn {
  /** The encrypted stream; owns the socket from now on. */
  secretConn: SecretConnection;
  /** The peer's validated, compatible NodeInfo. */
  nodeInfo: NodeInfo;
}

/** Upgrades a connection we dialed: also checks the authenticated ID against `dialedId`. */
export function upgradeOutbound(
  conn: RawConn,
  opts: OutboundUpgradeOptions,
): Promise<UpgradedConn> {
  return upgrade(conn, opts, opts.dialedId);
}

/** Upgrades a connection we accepted. */
export function upgradeInbound(conn: RawConn, opts: UpgradeOptions): Promise<UpgradedConn> {
  return upgrade(conn, opts, undefined);
}

/** Errors that already carry the right classification and pass through unchanged. */
function isClassified(err: unknown): boolean {
  return err instanceof HandshakeError || err instanceof IdMismatchError ||
    err instanceof InvalidNodeInfoError || err instanceof IncompatibleNodeInfoError ||
    err instanceof SelfConnectionError;
}

/** Wraps an unexpected failure of a handshake phase (I/O error, EOF, decode error). */
function asHandshakeError(phase: string, err: unknown): Error {
  if (isClassified(err)) return err as Error;
  const msg = err instanceof Error ? err.message : String(err);
  return new HandshakeError(`${phase} failed: ${msg}`, { cause: err });
}

async function upgrade(
  conn: RawConn,
  opts: UpgradeOptions,
  dialedId: string | undefined,
): Promise<UpgradedConn> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const signal = opts.signal;
  let secretConn: SecretConnection | undefined;
  // Closing the socket on abort unblocks whatever phase is pending, even if that phase does
  // not watch the signal itself.
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    try {
      secretConn = await SecretConnection.make(conn, opts.nodeKey, {
        timeoutMs,
        signal,
        onAuthPhase: opts.onPhase && (() => opts.onPhase!("auth_sig")),
      });
    } catch (err) {
      signal?.throwIfAborted();
      throw asHandshakeError("secret conn", err);
    }
    const connId = secretConn.remoteId;
    if (dialedId !== undefined && connId !== dialedId) {
      throw new IdMismatchError(`conn.ID (${connId}) dialed ID (${dialedId}) mismatch`, {
        remoteId: connId,
      });
    }

    opts.onPhase?.("node_info");
    let theirs: NodeInfo;
    try {
      theirs = await exchangeNodeInfo(secretConn, opts.nodeInfo, { timeoutMs, signal });
    } catch (err) {
      signal?.throwIfAborted();
      throw asHandshakeError("handshake", err);
    }
    opts.onNodeInfo?.(theirs);

    await validateNodeInfo(theirs, { lookup: opts.lookup });
    if (connId !== theirs.id) {
      throw new IdMismatchError(`conn.ID (${connId}) NodeInfo.ID (${theirs.id}) mismatch`);
    }
    if (theirs.id === opts.nodeKey.id || theirs.id === opts.nodeInfo.id) {
      throw new SelfConnectionError(`self ID<${theirs.id}>`);
    }
    compatibleWith(opts.nodeInfo, theirs);
    signal?.throwIfAborted();
    return { secretConn, nodeInfo: theirs };
  } catch (err) {
    if (secretConn) closeQuietly(secretConn);
    closeQuietly(conn);
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Test-run safety net: with `SWITCHYARD_LOOPBACK_ONLY=1` in the environment (set by
 * `deno task test` and `deno task bench`), {@link dialTcp} refuses every address outside
 * 127.0.0.0/8 and ::1, so no test or benchmark can ever send a packet off this machine even
 * when an address book holds made-up public addresses. Unreadable env (restricted
 * `--allow-env`) means off.
 */
export const LOOPBACK_ONLY: boolean = (() => {
  try {
    return Deno.env.get("SWITCHYARD_LOOPBACK_ONLY") === "1";
  } catch {
    return false;
  }
})();

/** Options of {@link dialTcp}. */
export interface DialOptions {
  /** TCP connect timeout; default 1000 ms as in CometBFT v0.38. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Opens a TCP connection to `addr` (its `dialString()`). Every failure — refused, unreachable,
 * unresolvable, timed out — is a {@link DialFailedError}; an abort rejects with the signal's reason.
 */
export async function dialTcp(addr: NetAddress, opts: DialOptions = {}): Promise<Deno.TcpConn> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const signal = opts.signal;
  signal?.throwIfAborted();
  if (LOOPBACK_ONLY && !isLoopback(addr.ipBytes())) {
    throw new DialForbiddenError(
      `dial ${addr.dialString()}: refused, SWITCHYARD_LOOPBACK_ONLY=1 allows loopback addresses only`,
    );
  }
  // A controller private to the connect call: once connected nothing may abort it.
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onAbort = () => ac.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const { hostname, port } = splitDialString(addr.dialString());
  try {
    const conn = await Deno.connect({ hostname, port, signal: ac.signal });
    setNoDelay(conn);
    return conn;
  } catch (err) {
    signal?.throwIfAborted();
    if (timedOut) {
      throw new DialFailedError(`dial ${addr.dialString()}: i/o timeout after ${timeoutMs} ms`, {
        cause: err,
      });
    }
    const msg = err instanceof Error ? err.message : String(err);
    throw new DialFailedError(`dial ${addr.dialString()}: ${msg}`, { cause: err });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Turns Nagle's algorithm off, as Go does on every TCP connection: the handshake is a series of
 * small request/response writes, and with Nagle on, each waits ~40 ms for the peer's delayed
 * ACK. MConnection batches its own writes, so nothing is lost by sending at once.
 */
export function setNoDelay(conn: Deno.TcpConn): void {
  try {
    conn.setNoDelay(true);
  } catch {
    // The socket is already closed; the next read or write reports it.
  }
}

/** Splits `host:port` / `[v6]:port` into Deno.connect's fields. */
function splitDialString(s: string): { hostname: string; port: number } {
  const i = s.lastIndexOf(":");
  let hostname = s.slice(0, i);
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  return { hostname, port: Number(s.slice(i + 1)) };
}
