/**
 * The crawler's data model (what one crawl learns about each node and address) and the mapping
 * from the p2p layer's typed errors to the failure reasons a crawl reports. Shared by the engine
 * (`crawl.ts`), the history store, the outputs and the map page.
 * @module
 */
import {
  DialFailedError,
  DialForbiddenError,
  HandshakeError,
  HandshakeTimeoutError,
  IdMismatchError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
  SelfConnectionError,
} from "../p2p/errors.ts";

/** Why an address could not be crawled. */
export type FailureReason =
  /** TCP connect refused: nothing listens there. */
  | "refused"
  /** TCP connect or a handshake phase did not finish in time. */
  | "timeout"
  /** TCP connect failed otherwise (no route, host unresolvable, reset). */
  | "unreachable"
  /** SecretConnection or NodeInfo exchange failed, or the NodeInfo is invalid. */
  | "bad_handshake"
  /** The node is on another chain (NodeInfo `network` differs). */
  | "wrong_network"
  /** Same network, but another block protocol or no channel in common (no PEX). */
  | "incompatible"
  /** The authenticated key is not the ID the address was gossiped with. */
  | "id_mismatch"
  /**
   * Never dialed: our own dial policy refused the address (`SWITCHYARD_LOOPBACK_ONLY=1` and a
   * non-loopback host), so nothing is known about it.
   */
  | "not_dialed"
  /** The address is our own crawler (cannot happen with a fresh key; kept for completeness). */
  | "self";

/** Every {@link FailureReason}, in the order summaries list them. */
export const FAILURE_REASONS: readonly FailureReason[] = [
  "refused",
  "timeout",
  "unreachable",
  "bad_handshake",
  "wrong_network",
  "incompatible",
  "id_mismatch",
  "not_dialed",
  "self",
];

/** What became of one address of a node. */
export type AddrState = "reachable" | "failed" | "untried";

/** One `ip:port` a node was seen at. */
export interface AddrRecord {
  /** `ip:port` (dial string). */
  addr: string;
  state: AddrState;
  /** Set when `state` is `failed`. */
  reason?: FailureReason;
  /** The error text, for the operator. */
  error?: string;
  /** TCP connect + SecretConnection + NodeInfo exchange, ms (reachable only). */
  latencyMs?: number;
  /** Hops from a seed (seeds: 0). */
  depth: number;
}

/** What a node told us about itself in its NodeInfo. */
export interface NodeInfoRecord {
  moniker: string;
  version: string;
  protocol: { p2p: number; block: number; app: number };
  network: string;
  /** Upper-case hex, one byte per channel (as CometBFT's RPC shows them). */
  channels: string;
  txIndex: string;
  rpcAddress: string;
  listenAddr: string;
}

/** Everything one crawl learned about one node ID. */
export interface CrawlNode {
  id: string;
  /** Every address seen for the ID, in the order first seen. */
  addrs: AddrRecord[];
  /** At least one address completed the handshake. */
  reachable: boolean;
  /** From the first handshake that delivered a NodeInfo (also for wrong-network nodes). */
  info?: NodeInfoRecord;
  /** Best handshake latency over its reachable addresses, ms. */
  latencyMs?: number;
  /** IDs of the nodes whose PexAddrs listed it; `"seed"` when it came from `--seeds`. */
  gossipedBy: string[];
  /** Answer to our one PexRequest: address count, or undefined when not asked or not answered. */
  pexAddrs?: number;
  /**
   * Why a reached node's answer is missing (no PexAddrs in time, an oversized one, the
   * connection dropped after the handshake); undefined when answered or not asked.
   */
  pexError?: string;
  /** Unix ms: first heard of in this crawl. */
  firstSeenMs: number;
  /** Unix ms: last handshake (reachable) or last time it was gossiped. */
  lastSeenMs: number;
  /** For an unreachable node: the reason of its last failed address. */
  failure?: FailureReason;
}

/** The source marker in {@link CrawlNode.gossipedBy} for nodes given with `--seeds`. */
export const SEED_SOURCE = "seed";

/** Whether `err`'s cause chain (a few links) holds an instance of `cls`. */
function causedBy(err: Error, cls: new (...a: never[]) => Error): boolean {
  let c: unknown = err.cause;
  for (let i = 0; i < 4 && c instanceof Error; i++) {
    if (c instanceof cls) return true;
    c = (c as Error).cause;
  }
  return false;
}

/** Maps a failed probe's error to a {@link FailureReason}. */
export function classifyFailure(
  err: unknown,
  theirNetwork?: string,
  ourNetwork?: string,
): FailureReason {
  if (err instanceof DialForbiddenError) return "not_dialed";
  if (err instanceof DialFailedError) {
    const cause = err.cause;
    if (cause instanceof Deno.errors.ConnectionRefused) return "refused";
    if (cause instanceof Deno.errors.TimedOut) return "timeout";
    if (cause instanceof DOMException && cause.name === "AbortError") return "timeout";
    return "unreachable";
  }
  if (err instanceof HandshakeTimeoutError) return "timeout";
  if (err instanceof IdMismatchError) return "id_mismatch";
  if (err instanceof IncompatibleNodeInfoError) {
    return theirNetwork !== undefined && theirNetwork !== ourNetwork
      ? "wrong_network"
      : "incompatible";
  }
  if (err instanceof SelfConnectionError) return "self";
  // A NodeInfo whose listen_addr host did not resolve in time (`probe.ts` bounds the lookup).
  if (err instanceof InvalidNodeInfoError && causedBy(err, HandshakeTimeoutError)) return "timeout";
  if (err instanceof HandshakeError || err instanceof InvalidNodeInfoError) return "bad_handshake";
  if (err instanceof DOMException && err.name === "TimeoutError") return "timeout";
  return "bad_handshake";
}
