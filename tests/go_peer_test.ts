/**
 * Proves the Go interop harness on its own, with no switchyard code: two `interop-peer serve`
 * processes (CometBFT v0.38.25's p2p stack) connect and echo messages; the bench modes run
 * with tiny counts. Skipped without Go locally; fails without Go when CI=true.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { assert, assertEquals } from "./util/assert.ts";
import {
  type DialEvent,
  type GoPeer,
  type GoPeerEvent,
  goPeerTest,
  type PeerAddedEvent,
  type PeerRemovedEvent,
  type ReceivedEvent,
  runGoBench,
  type SentEvent,
  startGoPeer,
} from "./interop/go_peer.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const sha256Hex = (b: Uint8Array) => hex(sha256(b));

/** The `len`-form payload of the `send` command: byte i = i mod 256. */
function pattern(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = i & 0xff;
  return b;
}

const peerAdded = (id: string) => (e: GoPeerEvent): e is PeerAddedEvent =>
  e.event === "peer_added" && e.id === id;
const received =
  (peer: string, channel: number, sha: string) => (e: GoPeerEvent): e is ReceivedEvent =>
    e.event === "received" && e.peer === peer && e.channel === channel && e.sha256 === sha;

function asSent(e: GoPeerEvent): SentEvent {
  assertEquals(e.event, "sent", `send reply: ${JSON.stringify(e)}`);
  return e as SentEvent;
}

/** Starts a peer and always stops it after `fn`. */
async function withPeer<T>(
  opts: Parameters<typeof startGoPeer>[0],
  fn: (p: GoPeer) => Promise<T>,
): Promise<T> {
  const p = await startGoPeer(opts);
  try {
    return await fn(p);
  } finally {
    await p.stop();
  }
}

goPeerTest("go peer: two instances connect and echo on the test channels", async () => {
  await withPeer({ moniker: "alpha" }, async (a) => {
    assert(/^[0-9a-f]{40}@127\.0\.0\.1:\d+$/.test(a.addr), `addr ${a.addr}`);
    assertEquals(a.ready.channels, [0x70, 0x71, 0x72]);
    assertEquals(a.ready.chain_id, "test-chain");

    let bId = "";
    await withPeer({ moniker: "beta", echo: false, dial: [a.addr] }, async (b) => {
      bId = b.id;
      const dial = await b.waitFor((e): e is DialEvent => e.event === "dial");
      assert(dial.ok, `dial failed: ${JSON.stringify(dial)}`);

      const seenByA = await a.waitFor(peerAdded(b.id));
      assertEquals(seenByA.outbound, false);
      assertEquals(seenByA.moniker, "beta");
      assertEquals(seenByA.network, "test-chain");
      assertEquals(seenByA.channels, [0x70, 0x71, 0x72]);
      const seenByB = await b.waitFor(peerAdded(a.id));
      assertEquals(seenByB.outbound, true);
      assertEquals(seenByB.moniker, "alpha");

      // Small message: A prints it (with hex) and echoes it; B receives the echo.
      const hello = new TextEncoder().encode("hello switchyard");
      assert(asSent(await b.send(hello, { channel: 0x70, peer: a.id })).ok);
      const atA = await a.waitFor(received(b.id, 0x70, sha256Hex(hello)));
      assertEquals(atA.hex, hex(hello));
      assertEquals(atA.len, hello.length);
      const echoed = await b.waitFor(received(a.id, 0x70, sha256Hex(hello)));
      assertEquals(echoed.hex, hex(hello));

      // 1 MiB on another channel: reassembled from 1024-byte packets both ways.
      const big = pattern(1 << 20);
      assert(asSent(await b.send(big.length, { channel: 0x71, peer: a.id })).ok);
      const bigEcho = await b.waitFor(received(a.id, 0x71, sha256Hex(big)), 30_000);
      assertEquals(bigEcho.len, big.length);
      assertEquals(bigEcho.hex, undefined);

      // Empty payload is a valid (empty) message.
      assert(asSent(await b.send(new Uint8Array(0), { channel: 0x72, peer: a.id })).ok);
      await b.waitFor(received(a.id, 0x72, sha256Hex(new Uint8Array(0))));

      // A send to an unknown peer is refused with an error event.
      const bad = await b.send(hello, { channel: 0x70, peer: "00".repeat(20) });
      assertEquals(bad.event, "error");

      const stats = await a.request({ cmd: "stats" });
      assertEquals(stats.event, "stats");
      if (stats.event === "stats") {
        assertEquals(stats.received, 3);
        assertEquals(stats.echoed, 3);
      }
    });
    const removed = await a.waitFor((e): e is PeerRemovedEvent =>
      e.event === "peer_removed" && e.id === bId
    );
    assertEquals(typeof removed.reason, "string");
  });
});

goPeerTest("go peer: PEX reactor adds channel 0x00 and peers still echo", async () => {
  await withPeer({ pex: true, moniker: "pex-a" }, async (a) => {
    assertEquals(a.ready.channels, [0x70, 0x71, 0x72, 0x00]);
    await withPeer({ pex: true, echo: false, moniker: "pex-b" }, async (b) => {
      const dial = await b.dial(a.addr);
      assert(dial.event === "dial" && dial.ok, `dial: ${JSON.stringify(dial)}`);
      const seen = await a.waitFor(peerAdded(b.id));
      assert(seen.channels.includes(0x00), "PEX channel advertised");
      const msg = pattern(300);
      assert(asSent(await b.send(msg.length, { channel: 0x70 })).ok);
      await b.waitFor(received(a.id, 0x70, sha256Hex(msg)));
      const peers = await b.request({ cmd: "peers" });
      assert(peers.event === "peers" && peers.peers.some((p) => p.id === a.id));
    });
  });
});

goPeerTest("go peer: bench modes produce a result line", async () => {
  await withPeer({
    quiet: true,
    flushThrottleMs: 1,
    sendRate: 1e12,
    recvRate: 1e12,
  }, async (a) => {
    const res = await runGoBench([
      `--dial=${a.addr}`,
      "--flush-throttle=1ms",
      "--warmup=10",
      "--rtt-count=5",
      "--small-count=200",
      "--large-count=2",
    ]);
    assertEquals(res.mode, "echo");
    assertEquals(res.small_count, 200);
    assertEquals(res.large_count, 2);
    for (const k of ["small_msgs_per_sec", "large_mb_per_sec", "rtt_p50_ms", "rtt_p99_ms"]) {
      assert(typeof res[k] === "number" && res[k] > 0, `${k}: ${res[k]}`);
    }
  });
  const ab = await runGoBench([
    "--mode=addrbook-bench",
    "--ab-addrs=2000",
    "--ab-picks=100",
    "--ab-selections=10",
    "--ab-file-addrs=3000",
  ]);
  assertEquals(ab.mode, "addrbook-bench");
  assertEquals(ab.loaded_size, 3000);
  assert(typeof ab.book_size_after_add === "number" && ab.book_size_after_add > 0);
});
