/**
 * One crawl probe of one address: TCP dial, the CometBFT handshake (`p2p/upgrade.ts`: the
 * SecretConnection must authenticate the gossiped ID, NodeInfo exchanged and checked), then,
 * when asked, one PexRequest over an MConnection on channel 0x00 and the PexAddrs answer
 * (`bench/util/seed_clients.ts` does the same exchange). The connection is closed on every path.
 *
 * We advertise channel 0x00 only: a Go peer never sends on a channel the other side did not
 * advertise (`peer.Send` checks), so the connection carries PEX and nothing else; and our
 * listen address is `0.0.0.0`, which a Go node's book refuses, so crawling leaves no trace of
 * the crawler in anyone's address book.
 * @module
 */
import { MConnection } from "../p2p/conn/mconnection.ts";
import type { SecretConnection } from "../p2p/conn/secret_connection.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";
import type { NodeKey } from "../p2p/key.ts";
import { DialFailedError, HandshakeTimeoutError, IdMismatchError } from "../p2p/errors.ts";
import { type HostResolver, NetAddress, resolveHost } from "../p2p/netaddress.ts";
import { makeNodeInfo, type NodeInfo } from "../p2p/node_info.ts";
import { encode } from "../p2p/proto.ts";
import { PEX_CHANNEL, PEX_MAX_MSG_SIZE, PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";
import { dialTcp, upgradeOutbound } from "../p2p/upgrade.ts";
import { classifyFailure, type FailureReason, type NodeInfoRecord } from "./types.ts";

/** The moniker the crawler advertises. */
export const CRAWLER_MONIKER = "switchyard-crawl";
/** An encoded `Message{pex_request: {}}`. */
const PEX_REQUEST = encode(PEX_MESSAGE, { pex_request: {} });

/** Options of {@link probe}. */
export interface ProbeOptions {
  /** The crawler's key (one per crawl). */
  nodeKey: NodeKey;
  /** The chain we crawl. */
  chainId: string;
  /**
   * Asked once the handshake succeeded: true to send a PexRequest and wait for the answer (the
   * caller records the request there, so a failed handshake spends no request).
   */
  askAddrs: () => boolean;
  /** TCP connect timeout, ms. */
  dialTimeoutMs: number;
  /** Per handshake phase, ms. */
  handshakeTimeoutMs: number;
  /** How long to wait for the PexAddrs answer, ms. */
  answerTimeoutMs: number;
  /**
   * Resolves a host name in a NodeInfo `listen_addr` (default {@link resolveHost}); each lookup
   * is bounded by `handshakeTimeoutMs` and the signal.
   */
  lookup?: HostResolver;
  signal: AbortSignal;
}

/** A probe that completed the handshake. */
export interface ProbeReached {
  readonly kind: "reached";
  readonly info: NodeInfoRecord;
  readonly latencyMs: number;
  /** The addresses of the PexAddrs answer; undefined when not asked or not answered in time. */
  readonly addrs?: NetAddress[];
  /** Why the answer is missing (asked but none came). */
  readonly answerError?: string;
}

/** A probe that failed before or during the handshake. */
export interface ProbeFailed {
  readonly kind: "failed";
  readonly reason: FailureReason;
  readonly error: string;
  /** Present when the NodeInfo arrived before the failure (wrong network, bad NodeInfo). */
  readonly info?: NodeInfoRecord;
  /** On an ID mismatch: the ID that really answered at the address. */
  readonly remoteId?: string;
}

/** The outcome of {@link probe}. */
export type ProbeResult = ProbeReached | ProbeFailed;

/** Our NodeInfo for a crawl: PEX channel only, unroutable listen address. */
export function crawlerNodeInfo(nodeKey: NodeKey, chainId: string): NodeInfo {
  return makeNodeInfo({
    id: nodeKey.id,
    network: chainId,
    moniker: CRAWLER_MONIKER,
    channels: [PEX_CHANNEL],
  });
}

/** The crawl's view of a peer's NodeInfo. */
export function nodeInfoRecord(ni: NodeInfo): NodeInfoRecord {
  return {
    moniker: ni.moniker,
    version: ni.version,
    protocol: { ...ni.protocolVersion },
    network: ni.network,
    channels: Array.from(ni.channels, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(
      "",
    ),
    txIndex: ni.other.txIndex,
    rpcAddress: ni.other.rpcAddress,
    listenAddr: ni.listenAddr,
  };
}

/**
 * Probes `addr`. Never throws for the peer's behaviour: every failure is a {@link ProbeFailed};
 * rejects only with the signal's reason when `opts.signal` aborts.
 */
export async function probe(addr: NetAddress, opts: ProbeOptions): Promise<ProbeResult> {
  let info: NodeInfoRecord | undefined;
  const started = performance.now();
  let upgraded;
  try {
    const conn = await dialTcp(addr, { timeoutMs: opts.dialTimeoutMs, signal: opts.signal });
    upgraded = await upgradeOutbound(conn, {
      nodeKey: opts.nodeKey,
      nodeInfo: crawlerNodeInfo(opts.nodeKey, opts.chainId),
      dialedId: addr.id,
      timeoutMs: opts.handshakeTimeoutMs,
      signal: opts.signal,
      lookup: boundedLookup(opts.lookup ?? resolveHost, opts.handshakeTimeoutMs, opts.signal),
      onNodeInfo: (ni) => {
        info = nodeInfoRecord(ni);
      },
    });
  } catch (err) {
    opts.signal.throwIfAborted();
    // A connect that failed only when our own dial timer fired is a timeout, whatever error
    // the aborted connect reported.
    const dialTimedOut = err instanceof DialFailedError &&
      performance.now() - started >= opts.dialTimeoutMs;
    const reason = dialTimedOut ? "timeout" : classifyFailure(err, info?.network, opts.chainId);
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const remoteId = err instanceof IdMismatchError ? err.remoteId : undefined;
    return { kind: "failed", reason, error: boundedError(error), info, remoteId };
  }
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  const reachedInfo = nodeInfoRecord(upgraded.nodeInfo);
  if (!opts.askAddrs()) {
    closeQuietly(upgraded.secretConn);
    return { kind: "reached", info: reachedInfo, latencyMs };
  }
  try {
    const addrs = await askAddrs(upgraded.secretConn, opts);
    return { kind: "reached", info: reachedInfo, latencyMs, addrs };
  } catch (err) {
    opts.signal.throwIfAborted();
    const answerError = boundedError(err instanceof Error ? err.message : String(err));
    return { kind: "reached", info: reachedInfo, latencyMs, answerError };
  }
}

/**
 * `lookup` bounded in time and by `signal`: a hostile NodeInfo naming a host whose DNS never
 * answers must not hold a crawl slot (or Ctrl-C) for the resolver's own timeouts. A lookup left
 * behind settles later, unobserved.
 */
function boundedLookup(lookup: HostResolver, timeoutMs: number, signal: AbortSignal): HostResolver {
  return (host) => {
    const done = Promise.withResolvers<string[]>();
    const timer = setTimeout(() => {
      done.reject(
        new HandshakeTimeoutError(`lookup of listen_addr host ${host} took over ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const onAbort = () => done.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    lookup(host).then(done.resolve, done.reject);
    return done.promise.finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  };
}

/** Longest error text kept per address (a hostile NodeInfo's fields end up in messages). */
export const MAX_ERROR_TEXT = 512;

/** The error text on one line, control characters replaced, at most {@link MAX_ERROR_TEXT}. */
function boundedError(s: string): string {
  // deno-lint-ignore no-control-regex
  const line = s.replace(/[\x00-\x1f\x7f-\x9f]/g, " ");
  return line.length <= MAX_ERROR_TEXT ? line : `${line.slice(0, MAX_ERROR_TEXT - 1)}…`;
}

type PexAnswer = { pex_addrs?: { addrs?: { id?: string; ip?: string; port?: number }[] } };

/** No PexAddrs came within the answer timeout. */
export class NoAnswerError extends Error {
  override name = "NoAnswerError";
}

/** Sends one PexRequest over a fresh MConnection and resolves with the decodable addresses. */
async function askAddrs(secretConn: SecretConnection, opts: ProbeOptions): Promise<NetAddress[]> {
  const got = Promise.withResolvers<NetAddress[]>();
  // Settled by callbacks at any time, possibly before it is awaited: never an unhandled rejection.
  got.promise.catch(() => {});
  const mconn = new MConnection(
    secretConn,
    [{
      id: PEX_CHANNEL,
      priority: 1,
      sendQueueCapacity: 10,
      recvMessageCapacity: PEX_MAX_MSG_SIZE,
    }],
    (_ch, msg) => {
      try {
        const m = PEX_MESSAGE.decode(msg) as unknown as PexAnswer;
        if (m.pex_addrs === undefined) return; // a PexRequest to us: we have nothing to serve
        const out: NetAddress[] = [];
        for (const a of m.pex_addrs.addrs ?? []) {
          try {
            out.push(NetAddress.fromProto(a));
          } catch {
            // An undecodable entry is skipped; the rest of the answer still counts.
          }
        }
        got.resolve(out);
      } catch (err) {
        got.reject(err);
      }
    },
    (err) => got.reject(err),
    { flushThrottleMs: 0 },
  );
  const timer = setTimeout(
    () => got.reject(new NoAnswerError(`no PexAddrs within ${opts.answerTimeoutMs} ms`)),
    opts.answerTimeoutMs,
  );
  const onAbort = () => got.reject(opts.signal.reason);
  opts.signal.addEventListener("abort", onAbort, { once: true });
  mconn.start();
  try {
    if (!(await mconn.send(PEX_CHANNEL, PEX_REQUEST))) {
      throw new NoAnswerError("PexRequest could not be queued (connection stopped)");
    }
    return await got.promise;
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener("abort", onAbort);
    await mconn.stop();
    closeQuietly(secretConn);
  }
}
