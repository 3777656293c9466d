/**
 * A crawl's summary (counts by version and failure reason, reachable share), its text and
 * NDJSON renderings, and the live progress line.
 * @module
 */
import type { CrawlProgress, CrawlResult } from "./crawl.ts";
import { type CrawlNode, FAILURE_REASONS, type FailureReason } from "./types.ts";

/** The summary of one crawl (the `--json` output). */
export interface CrawlSummary {
  chain_id: string;
  end: CrawlResult["end"];
  started: string;
  duration_ms: number;
  /** Node IDs heard of. */
  found: number;
  /** Nodes that completed a handshake. */
  reached: number;
  /** Nodes every tried address of which failed. */
  failed: number;
  /** Nodes never tried (beyond the depth limit, or the crawl ended first). */
  untried: number;
  /** reached / (reached + failed); 0 when nothing was tried. */
  reachable_share: number;
  edges: number;
  /** Reached nodes per software version. */
  by_version: Record<string, number>;
  /** Failed nodes per reason. */
  by_failure: Partial<Record<FailureReason, number>>;
  /** Nodes on another network, per network. */
  other_networks: Record<string, number>;
  /** New IDs learned after the node table was full (`--max-nodes`), not crawled. */
  dropped: number;
}

/** Whether the node was tried at all. */
export function wasTried(n: CrawlNode): boolean {
  return n.addrs.some((a) => a.state !== "untried");
}

/** Counts a crawl's outcome. */
export function summarize(r: CrawlResult): CrawlSummary {
  let reached = 0, failed = 0, untried = 0;
  // Keyed by peer-supplied strings: no prototype, so a version or network named `constructor` or
  // `__proto__` is counted like any other, never read as an inherited property.
  const byVersion: Record<string, number> = Object.create(null);
  const byFailure: Partial<Record<FailureReason, number>> = {};
  const otherNetworks: Record<string, number> = Object.create(null);
  for (const n of r.nodes) {
    if (n.reachable) {
      reached++;
      const v = n.info?.version || "(empty)";
      byVersion[v] = (byVersion[v] ?? 0) + 1;
    } else if (n.failure !== undefined) {
      failed++;
      byFailure[n.failure] = (byFailure[n.failure] ?? 0) + 1;
    } else {
      untried++;
    }
    if (n.info && n.info.network !== r.chainId) {
      otherNetworks[n.info.network] = (otherNetworks[n.info.network] ?? 0) + 1;
    }
  }
  const ordered: Partial<Record<FailureReason, number>> = {};
  for (const k of FAILURE_REASONS) if (byFailure[k] !== undefined) ordered[k] = byFailure[k];
  return {
    chain_id: r.chainId,
    end: r.end,
    started: new Date(r.startedMs).toISOString(),
    duration_ms: r.finishedMs - r.startedMs,
    found: r.nodes.length,
    reached,
    failed,
    untried,
    reachable_share: reached + failed === 0 ? 0 : round3(reached / (reached + failed)),
    edges: r.edges.length,
    by_version: sortByCount(byVersion),
    by_failure: ordered,
    other_networks: sortByCount(otherNetworks),
    dropped: r.droppedNodes ?? 0,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function sortByCount(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(m).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
  );
}

/**
 * A peer-supplied string made safe for a terminal: control characters (C0, DEL, C1: escape
 * sequences could retitle or clear the operator's terminal) and bidirectional or invisible
 * format characters (they could reorder what is shown) become `\u{XX}` escapes.
 */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** The human summary printed at the end of a crawl (peer strings through {@link printable}). */
export function formatSummary(s: CrawlSummary): string {
  const lines = [
    `crawl of ${s.chain_id} ${s.end} in ${(s.duration_ms / 1000).toFixed(1)} s: ` +
    `${s.found} nodes found, ${s.reached} reached, ${s.failed} failed, ${s.untried} untried ` +
    `(reachable ${(s.reachable_share * 100).toFixed(1)}%), ${s.edges} edges`,
  ];
  if (s.dropped > 0) lines.push(`node table full: ${s.dropped} more IDs not recorded`);
  const versions = Object.entries(s.by_version);
  if (versions.length > 0) {
    lines.push("by version:");
    for (const [v, n] of versions) lines.push(`  ${printable(v).padEnd(24)} ${n}`);
  }
  const failures = Object.entries(s.by_failure);
  if (failures.length > 0) {
    lines.push("by failure:");
    for (const [r, n] of failures) lines.push(`  ${r.padEnd(24)} ${n}`);
  }
  const nets = Object.entries(s.other_networks);
  if (nets.length > 0) {
    lines.push("other networks:");
    for (const [net, n] of nets) lines.push(`  ${printable(net).padEnd(24)} ${n}`);
  }
  return lines.join("\n");
}

/** One NDJSON line for a finished node. */
export function nodeLine(n: CrawlNode): string {
  return JSON.stringify({
    type: "node",
    id: n.id,
    reachable: n.reachable,
    failure: n.failure,
    moniker: n.info?.moniker,
    version: n.info?.version,
    protocol: n.info?.protocol,
    network: n.info?.network,
    channels: n.info?.channels,
    tx_index: n.info?.txIndex,
    rpc_address: n.info?.rpcAddress,
    listen_addr: n.info?.listenAddr,
    latency_ms: n.latencyMs,
    pex_addrs: n.pexAddrs,
    pex_error: n.pexError,
    addrs: n.addrs.map((a) => ({
      addr: a.addr,
      state: a.state,
      reason: a.reason,
      error: a.error,
      latency_ms: a.latencyMs,
      depth: a.depth,
    })),
    gossiped_by: n.gossipedBy,
    first_seen: new Date(n.firstSeenMs).toISOString(),
    last_seen: new Date(n.lastSeenMs).toISOString(),
  });
}

/** The TTY progress line. */
export function progressLine(p: CrawlProgress, elapsedMs: number): string {
  const s = elapsedMs / 1000;
  const rate = s > 0 ? p.probes / s : 0;
  return `found ${p.found}  reached ${p.reached}  failed ${p.failed}  in flight ${p.inFlight}` +
    `  queued ${p.queued}  ${rate.toFixed(1)} probes/s  ${s.toFixed(1)} s`;
}
