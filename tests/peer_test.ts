import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { bytePipe, type PipeStream } from "./util/pipe.ts";
import { bytesChannel, payload, TestReactor, waitFor } from "./util/p2p_harness.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { makeNodeInfo } from "../p2p/node_info.ts";
import { type ChannelRoute, Peer, type PeerConn } from "../p2p/peer.ts";
import { ChannelCodec, type StreamDescriptor } from "../p2p/reactor.ts";
import type { StopReason } from "../p2p/stop_reason.ts";
import { nopMetrics, type P2PMetrics } from "../p2p/metrics.ts";

const CHS: StreamDescriptor[] = [bytesChannel(0x20, 1), bytesChannel(0x21, 3)];

function conn(stream: PipeStream, advertise: number[]): PeerConn & { closed: number } {
  const key = NodeKey.generate();
  const c = {
    closed: 0,
    stream,
    nodeInfo: makeNodeInfo({ id: key.id, network: "n", moniker: "m", channels: advertise }),
    outbound: true,
    remoteIP: "127.0.0.1",
    remoteAddr: { hostname: "127.0.0.1", port: 1 },
    socketAddr: NetAddress.fromIPPort("127.0.0.1", 1, key.id),
    close() {
      c.closed++;
      stream.close();
    },
  };
  return c;
}

interface Side {
  peer: Peer;
  reactor: TestReactor;
  errors: StopReason[];
  conn: PeerConn & { closed: number };
  sent: { ch: number; label: string; n: number }[];
}

function pair(advertiseA = [0x20, 0x21], advertiseB = [0x20, 0x21]): [Side, Side] {
  const [sa, sb] = bytePipe();
  const mk = (stream: PipeStream, adv: number[]): Side => {
    const reactor = new TestReactor("test", CHS);
    const routes = new Map<number, ChannelRoute>(
      CHS.map((d) => [d.id, { reactor, reactorName: "test", codec: new ChannelCodec(d) }]),
    );
    const errors: StopReason[] = [];
    const sent: Side["sent"] = [];
    const metrics: P2PMetrics = {
      ...nopMetrics,
      peerSendBytes: (_id, ch, label, n) => sent.push({ ch, label, n }),
    };
    const c = conn(stream, adv);
    const peer = new Peer({
      conn: c,
      persistent: false,
      channels: CHS,
      routes,
      onPeerError: (_p, r) => errors.push(r),
      metrics,
    });
    return { peer, reactor, errors, conn: c, sent };
  };
  // Each side's conn describes the *remote* node, so swap the advertised channel lists.
  return [mk(sa, advertiseB), mk(sb, advertiseA)];
}

Deno.test("peer: lifecycle created → running → stopped; quit resolves; kv store", async () => {
  const [a, b] = pair();
  assertEquals(a.peer.state, "created");
  assertEquals(a.peer.isRunning, false);
  a.peer.start();
  b.peer.start();
  assertEquals(a.peer.state, "running");
  a.peer.set("k", { h: 1 });
  assertEquals(a.peer.get("k"), { h: 1 });
  assertEquals(a.peer.get("missing"), undefined);
  const st = a.peer.status();
  assertEquals(st.channels.map((c) => c.id), [0x20, 0x21]);
  const stopping = a.peer.stop();
  assertEquals(a.peer.state, "stopping");
  assert(a.peer.quitSignal.aborted);
  await stopping;
  await a.peer.quit();
  assertEquals(a.peer.state, "stopped");
  assertEquals(a.peer.stop(), stopping); // idempotent
  await b.peer.stop();
  assert(a.conn.closed >= 1);
  assertEquals(a.errors, []); // a local stop is not an error
});

Deno.test("peer: messages are decoded and routed to the channel's reactor; send counts bytes", async () => {
  const [a, b] = pair();
  a.peer.start();
  b.peer.start();
  try {
    const m = payload(3000, 5);
    assert(await a.peer.send({ channelId: 0x21, message: { value: m } }));
    assert(a.peer.trySend({ channelId: 0x20, message: { value: new Uint8Array([9]) } }));
    await b.reactor.until(() => b.reactor.count(0x21) === 1 && b.reactor.count(0x20) === 1);
    assertEquals(b.reactor.received.get(0x21), [m]);
    assertEquals(a.sent.map((s) => [s.ch, s.label]), [[0x21, "protobuf_BytesValue"], [
      0x20,
      "protobuf_BytesValue",
    ]]);
    assertEquals(a.sent[0].n, 3000 + 3); // tag + 2-byte length + payload
  } finally {
    await a.peer.stop();
    await b.peer.stop();
  }
});

Deno.test("peer: channel not advertised by the remote → false and counted", async () => {
  const [a, b] = pair([0x20, 0x21], [0x20]); // b advertises only 0x20
  a.peer.start();
  b.peer.start();
  try {
    assert(a.peer.hasChannel(0x20) && !a.peer.hasChannel(0x21));
    assertEquals(
      await a.peer.send({ channelId: 0x21, message: { value: new Uint8Array(1) } }),
      false,
    );
    assertEquals(a.peer.sendFailures.channel_not_advertised, 1);
  } finally {
    await a.peer.stop();
    await b.peer.stop();
  }
});

Deno.test("peer: undecodable bytes → one protocol_violation naming the reactor, then silence", async () => {
  const [a, b] = pair();
  a.peer.start();
  b.peer.start();
  try {
    // 0x0a 0x05 claims 5 bytes but only 1 follows: invalid BytesValue.
    assert(await a.peer.sendBytes(0x20, new Uint8Array([0x0a, 0x05, 1]), "x"));
    assert(await a.peer.sendBytes(0x20, new Uint8Array([0x0a, 0x01, 1]), "x"));
    await waitFor(() => b.errors.length === 1, "error reported");
    const r = b.errors[0] as { kind: string; reactor?: string; error: Error };
    assertEquals(r.kind, "protocol_violation");
    assertEquals(r.reactor, "test");
    assertStringIncludes(r.error.message, "unmarshaling message");
    assertEquals(b.reactor.count(0x20), 0); // the valid message after the bad one is dropped
  } finally {
    await a.peer.stop();
    await b.peer.stop();
  }
  assertEquals(b.errors.length, 1);
});

Deno.test("peer: remote close is reported once as a connection_error", async () => {
  const [a, b] = pair();
  a.peer.start();
  b.peer.start();
  await a.peer.stop();
  await waitFor(() => b.errors.length === 1, "EOF reported");
  assertEquals(b.errors[0].kind, "connection_error");
  await b.peer.stop();
  assertEquals(b.errors.length, 1);
});

Deno.test("peer: flushStop writes queued messages before closing", async () => {
  const [a, b] = pair();
  a.peer.start();
  b.peer.start();
  const msgs = [1, 2, 3].map((i) => payload(5000, i));
  for (const m of msgs) assert(a.peer.trySend({ channelId: 0x21, message: { value: m } }));
  await a.peer.flushStop();
  await b.reactor.until(() => b.reactor.count(0x21) === 3, "all three");
  assertEquals(b.reactor.received.get(0x21), msgs);
  await b.peer.stop();
});

Deno.test("peer: stopping a never-started peer closes its connection", async () => {
  const [a, b] = pair();
  await a.peer.stop();
  await b.peer.stop();
  assertEquals(a.peer.state, "stopped");
  assert(a.conn.closed >= 1 && b.conn.closed >= 1);
  assertEquals(a.peer.trySend({ channelId: 0x20, message: { value: new Uint8Array(1) } }), false);
});
