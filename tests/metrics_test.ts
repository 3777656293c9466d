/**
 * The daemon's metrics: CometBFT series names under the configured namespace with the constant
 * `chain_id` label (§17.2), per-peer labels only when enabled, our own series, and the metrics
 * HTTP server (any path, text exposition, 503 past `max_open_connections`).
 */
import { assert, assertEquals } from "./util/assert.ts";
import { NodeMetrics } from "../node/metrics.ts";
import { MetricsServer, parseMetricsAddr } from "../node/metrics_server.ts";
import { parsePrometheusText, type Sample } from "./util/prom_text.ts";

const PEER = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const PEER2 = "0000000000000000000000000000000000000002";

/** Samples named `name` carrying `labels`. */
function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
}

Deno.test("CometBFT p2p series under the namespace, with chain_id, aggregated without peer_id", async () => {
  const m = new NodeMetrics({ namespace: "cometbft", chainId: "test-chain", peerLabels: false });
  const peers = [{ id: PEER, isOutbound: true }, { id: PEER2, isOutbound: false }];
  m.bind({ peers: () => peers, addrBookSize: () => 7 });
  m.peersAdd(1);
  m.peersAdd(1);
  m.peerReceiveBytes(PEER, 0x00, "p2p_PexRequest", 10);
  m.peerReceiveBytes(PEER2, 0x00, "p2p_PexRequest", 5);
  m.peerSendBytes(PEER, 0x30, "mempool_Txs", 100);
  m.peerPendingSend(PEER, 2);
  m.peerPendingSend(PEER2, 3);
  m.dialOutcome("success");
  m.dialOutcome("unreachable");
  m.dialOutcome("unreachable");
  m.inboundRejected("incompatible");
  m.sendFailure("queue_full");
  const { samples: all, types } = parsePrometheusText(await m.metrics());
  // process_* are Go's process collector's, without chain_id (metrics_process_test.ts).
  const samples = all.filter((s) => !s.name.startsWith("process_"));
  for (const s of samples) assertEquals(s.labels.chain_id, "test-chain", s.name);
  for (const s of samples) assert(!("peer_id" in s.labels), `${s.name} has peer_id`);
  assertEquals(types.get("cometbft_p2p_peers"), "gauge");
  assertEquals(types.get("cometbft_p2p_peer_receive_bytes_total"), "counter");
  assertEquals(find(samples, "cometbft_p2p_peers")[0].value, 2);
  assertEquals(
    find(samples, "cometbft_p2p_peer_receive_bytes_total", { chID: "0x0" })[0].value,
    15,
  );
  assertEquals(find(samples, "cometbft_p2p_peer_send_bytes_total", { chID: "0x30" })[0].value, 100);
  assertEquals(
    find(samples, "cometbft_p2p_message_receive_bytes_total", { message_type: "p2p_PexRequest" })[0]
      .value,
    15,
  );
  assertEquals(
    find(samples, "cometbft_p2p_message_send_bytes_total", { message_type: "mempool_Txs" })[0]
      .value,
    100,
  );
  assertEquals(find(samples, "cometbft_p2p_peer_pending_send_bytes")[0].value, 5);
  assertEquals(find(samples, "cometbft_p2p_inbound_peers")[0].value, 1);
  assertEquals(find(samples, "cometbft_p2p_outbound_peers")[0].value, 1);
  assertEquals(find(samples, "cometbft_p2p_addrbook_size")[0].value, 7);
  assertEquals(find(samples, "cometbft_p2p_dials_total", { outcome: "unreachable" })[0].value, 2);
  assertEquals(find(samples, "cometbft_p2p_dials_total", { outcome: "success" })[0].value, 1);
  assertEquals(
    find(samples, "cometbft_p2p_inbound_rejected_total", { reason: "incompatible" })[0].value,
    1,
  );
  assertEquals(
    find(samples, "cometbft_p2p_send_failures_total", { reason: "queue_full" })[0].value,
    1,
  );

  // A peer that left no longer counts in the aggregated pending gauge.
  peers.pop();
  const after = parsePrometheusText(await m.metrics()).samples;
  assertEquals(find(after, "cometbft_p2p_peer_pending_send_bytes")[0].value, 2);
  assertEquals(find(after, "cometbft_p2p_inbound_peers")[0].value, 0);
});

Deno.test("peer_labels = true labels per-peer series with peer_id; namespace is configurable", async () => {
  const m = new NodeMetrics({ namespace: "sy", chainId: "c", peerLabels: true });
  m.peerReceiveBytes(PEER, 0x20, "consensus_NewRoundStep", 10);
  m.peerSendBytes(PEER2, 0x20, "consensus_HasVote", 4);
  m.peerPendingSend(PEER, 1);
  const { samples } = parsePrometheusText(await m.metrics());
  assertEquals(find(samples, "cometbft_p2p_peers"), []);
  assertEquals(
    find(samples, "sy_p2p_peer_receive_bytes_total")[0].labels,
    { peer_id: PEER, chID: "0x20", chain_id: "c" },
  );
  assertEquals(find(samples, "sy_p2p_peer_send_bytes_total", { peer_id: PEER2 })[0].value, 4);
  assertEquals(find(samples, "sy_p2p_peer_pending_send_bytes", { peer_id: PEER })[0].value, 1);
});

Deno.test("metrics addresses: host:port, :port (all interfaces), bad ones refused", () => {
  assertEquals(parseMetricsAddr(":26660"), { hostname: "0.0.0.0", port: 26660 });
  assertEquals(parseMetricsAddr("127.0.0.1:9"), { hostname: "127.0.0.1", port: 9 });
  assertEquals(parseMetricsAddr("[::1]:9"), { hostname: "::1", port: 9 });
  let threw = false;
  try {
    parseMetricsAddr("26660");
  } catch {
    threw = true;
  }
  assert(threw);
});

Deno.test("metrics server: any path gives the exposition; scrapes past the limit get 503", async () => {
  const gate = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  let slow = true;
  const source = {
    contentType: "text/plain; version=0.0.4; charset=utf-8",
    async metrics() {
      if (slow) {
        entered.resolve();
        await gate.promise;
      }
      return "# TYPE x_p2p_peers gauge\nx_p2p_peers 1\n";
    },
  };
  const srv = new MetricsServer({ listenAddr: "127.0.0.1:0", source, maxOpenConnections: 1 });
  const addr = srv.start();
  try {
    const base = `http://127.0.0.1:${addr.port}`;
    const first = fetch(`${base}/metrics`);
    await entered.promise;
    const second = await fetch(`${base}/anything`);
    assertEquals(second.status, 503);
    await second.body?.cancel();
    gate.resolve();
    const r1 = await first;
    assertEquals(r1.status, 200);
    assertEquals(r1.headers.get("content-type"), source.contentType);
    assertEquals(parsePrometheusText(await r1.text()).samples[0].value, 1);
    slow = false;
    const r3 = await fetch(`${base}/other/path`);
    assertEquals(r3.status, 200);
    await r3.body?.cancel();
  } finally {
    await srv.stop();
  }
});
