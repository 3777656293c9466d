/**
 * `process_*` series as Go's process collector exports them (no chain_id label), fd and
 * virtual-memory series only when /proc/self can be read, and `instrumentation.peer_labels`
 * deciding the consensus watcher's per-peer series.
 */
import { assert, assertEquals } from "./util/assert.ts";
import client from "prom-client";
import { NodeMetrics } from "../node/metrics.ts";
import { parseLimit, parseVsize, processMetricsRegistry } from "../node/process_metrics.ts";
import { promWatcherMetrics } from "../reactors/demo_entries.ts";
import { parsePrometheusText } from "./util/prom_text.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            65536                1048576              files
Max address space         unlimited            unlimited            bytes
`;

Deno.test("/proc/self parsing: limits and vsize", () => {
  assertEquals(parseLimit(LIMITS, "Max open files"), 65536);
  assertEquals(parseLimit(LIMITS, "Max address space"), Infinity);
  assertEquals(parseLimit(LIMITS, "Max nothing"), undefined);
  const stat = "4242 (deno (x) y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 123456789 99 0";
  assertEquals(parseVsize(stat), 123456789);
});

Deno.test("process_* series: always cpu, rss, start time; fds and vsize when /proc reads", async () => {
  const stats = { openFds: 17, maxFds: 1024, vsizeBytes: 5e8, vsizeMaxBytes: Infinity };
  const full = parsePrometheusText(await processMetricsRegistry(() => stats).metrics());
  const value = (name: string) => full.samples.find((s) => s.name === name)?.value;
  assertEquals(value("process_open_fds"), 17);
  assertEquals(value("process_max_fds"), 1024);
  assertEquals(value("process_virtual_memory_bytes"), 5e8);
  assertEquals(value("process_virtual_memory_max_bytes"), 18446744073709551615);
  assert(value("process_resident_memory_bytes")! > 1e6);
  assert(value("process_cpu_seconds_total")! > 0);
  const start = value("process_start_time_seconds")!;
  assert(Math.abs(start - Date.now() / 1000) < 3600, String(start));
  assertEquals(full.types.get("process_cpu_seconds_total"), "counter");
  assertEquals(full.types.get("process_open_fds"), "gauge");
  const bare = parsePrometheusText(await processMetricsRegistry(() => undefined).metrics());
  assertEquals([...new Set(bare.samples.map((s) => s.name))].sort(), [
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
  ]);
});

Deno.test("a node's scrape has its p2p series with chain_id and process_* without", async () => {
  const m = new NodeMetrics({ namespace: "cometbft", chainId: "c1", peerLabels: false });
  const { samples } = parsePrometheusText(await m.metrics());
  const proc = samples.filter((s) => s.name.startsWith("process_"));
  assert(proc.length >= 3);
  for (const s of proc) assertEquals(s.labels, {}, s.name);
  assertEquals(samples.find((s) => s.name === "cometbft_p2p_peers")?.labels.chain_id, "c1");
});

Deno.test("consensus watcher: per-peer height series only with peer_labels", async () => {
  for (const peerLabels of [false, true]) {
    const registry = new client.Registry();
    const w = promWatcherMetrics(registry, "cometbft", peerLabels);
    w.peerHeight("a".repeat(40), 7);
    w.maxHeight(7);
    const { samples } = parsePrometheusText(await registry.metrics());
    const perPeer = samples.filter((s) => s.name === "cometbft_consensus_watcher_peer_height");
    assertEquals(perPeer.length, peerLabels ? 1 : 0);
    if (peerLabels) assertEquals(perPeer[0].labels.peer_id, "a".repeat(40));
    assertEquals(
      samples.find((s) => s.name === "cometbft_consensus_watcher_max_height")?.value,
      7,
    );
    w.peerRemoved("a".repeat(40));
  }
});
