/**
 * Switch interop with our Go echo program (`tests/interop/go/`: CometBFT v0.38.25's `Switch`,
 * `MultiplexTransport` and MConnection as a library, with an echo reactor on BytesValue test
 * channels 0x70/0x71/0x72 at priorities 1/5/10; CometBFT's default rates, flush throttle and
 * 1024-byte packets on both sides).
 *
 * Messages of 1 byte to 4 MiB (and empty ones alone), on the three channels at once, arrive intact and in order per
 * channel in both directions:
 * - we send, Go echoes: Go reports each payload's length and SHA-256 in order, and the echoes
 *   we receive are byte-equal to what we sent, in order;
 * - Go sends (its `send` command, payload byte i = i mod 256), we echo: we receive the exact
 *   payloads in order, and Go reports our echoes' hashes in order.
 * Our reactor is wrapped in the grammar recorder; zero violations.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { goPeerTest, type ReceivedEvent, startGoPeer } from "./interop/go_peer.ts";
import {
  DEFAULT_ECHO_CHANNELS,
  EchoReactor,
  makeEchoNode,
  patternPayload,
  sha256Hex,
} from "./util/echo_reactor.ts";
import { payload } from "./util/p2p_harness.ts";
import type { Peer } from "../p2p/reactor_api.ts";
import { NetAddress } from "../p2p/netaddress.ts";

/**
 * Payload sizes sent on every channel: edges of the 1024-byte packet and big messages. No empty
 * message here: CometBFT's MConnection loses an empty message that it pulls into a channel's
 * `sending` slot when another channel wins that scheduling round (`isSendPending` sees an empty
 * `sending` again and takes the next message over it), so Go's echo of an empty message on a
 * busy connection may never be sent. Empty messages are checked alone, one channel at a time.
 */
const SIZES = [
  1,
  2,
  255,
  1023,
  1024,
  1025,
  4096,
  65_535,
  65_536,
  1 << 20,
  (1 << 20) + 1,
  4 << 20,
];
const CHANNELS = DEFAULT_ECHO_CHANNELS.map((c) => c.id);
/** Safety net for a whole direction (≈16 MiB each way at CometBFT's 5.12 MB/s default rate). */
const TRANSFER_WAIT_MS = 60_000;

function goReceived(events: unknown[], from: string, channel: number): ReceivedEvent[] {
  return (events as ReceivedEvent[]).filter((e) =>
    e.event === "received" && e.peer === from && e.channel === channel
  );
}

async function connect(goAddr: string, node: Awaited<ReturnType<typeof makeEchoNode>>) {
  await node.sw.dialPeerWithAddress(NetAddress.parseNoLookup(goAddr));
  const peer = node.reactor.peers.get(goAddr.split("@")[0]);
  assert(peer !== undefined, "the Go peer was added to our reactor");
  return peer;
}

goPeerTest(
  "interop echo: our messages 0 B–4 MiB on three channels come back intact and in order",
  async () => {
    const go = await startGoPeer({ echo: true });
    const node = await makeEchoNode({ reactor: new EchoReactor({ echo: false }) });
    try {
      const peer: Peer = await connect(go.addr, node);
      const added = await go.waitFor((e) => e.event === "peer_added" && e.id === node.key.id);
      assertEquals((added as { channels: number[] }).channels, CHANNELS);

      // Empty messages, one at a time: each comes back empty on its channel.
      for (const [i, ch] of CHANNELS.entries()) {
        assert(await peer.send({ channelId: ch, message: { value: new Uint8Array(0) } }));
        await node.reactor.until(() => node.reactor.received.length === i + 1, "empty echo");
        assertEquals(node.reactor.received[i].channelId, ch);
        assertEquals(node.reactor.received[i].payload.length, 0);
      }
      node.reactor.received.length = 0;
      const burstStart = go.mark();

      // Payloads differ per channel and index, so a cross-channel mix-up cannot go unnoticed.
      const sent = new Map(
        CHANNELS.map((ch) => [ch, SIZES.map((n, i) => payload(n, ch * 100 + i))]),
      );
      // Three concurrent senders, one per channel: packets of different priorities interleave.
      const results = await Promise.all(CHANNELS.map(async (ch) => {
        const oks: boolean[] = [];
        for (const p of sent.get(ch)!) {
          oks.push(await peer.send({ channelId: ch, message: { value: p } }));
        }
        return oks;
      }));
      assert(results.flat().every((ok) => ok), "every send was queued");

      const total = CHANNELS.length * SIZES.length;
      await node.reactor.until(
        () => node.reactor.received.length >= total,
        "all echoes",
        TRANSFER_WAIT_MS,
      );
      assertEquals(node.reactor.received.length, total);
      for (const ch of CHANNELS) {
        const got = node.reactor.receivedOn(ch, go.id);
        assertEquals(
          got.map((p) => p.length),
          SIZES,
          `echo lengths in order on 0x${ch.toString(16)}`,
        );
        got.forEach((p, i) =>
          assertEquals(p, sent.get(ch)![i], `echo #${i} on 0x${ch.toString(16)}`)
        );
        // What Go received, in its order.
        const seen = goReceived(go.events().slice(burstStart), node.key.id, ch);
        assertEquals(seen.map((e) => e.len), SIZES);
        const want = await Promise.all(sent.get(ch)!.map(sha256Hex));
        assertEquals(
          seen.map((e) => e.sha256),
          want,
          `Go saw our payloads in order on 0x${ch.toString(16)}`,
        );
      }
      assert(!go.events().some((e) => e.event === "echo_failed" || e.event === "peer_removed"));
      assert(peer.isRunning);
    } finally {
      await node.stop();
      await go.stop();
    }
    assertEquals(node.recorder.violations(), []);
  },
);

goPeerTest(
  "interop echo: Go's messages 1 B–4 MiB on three channels arrive intact and in order, and our echoes too",
  async () => {
    const go = await startGoPeer({ echo: false });
    const node = await makeEchoNode({ reactor: new EchoReactor({ echo: true }) });
    try {
      const peer = await connect(go.addr, node);
      await go.waitFor((e) => e.event === "peer_added" && e.id === node.key.id);
      // Go's commands run one after another on its side; issue them all, then await the replies.
      const replies = await Promise.all(
        CHANNELS.flatMap((ch) => SIZES.map((n) => go.send(n, { channel: ch, peer: node.key.id }))),
      );
      for (const r of replies) assert(r.event === "sent" && r.ok, `Go send: ${JSON.stringify(r)}`);

      const total = CHANNELS.length * SIZES.length;
      await node.reactor.until(
        () => node.reactor.received.length >= total,
        "Go's messages",
        TRANSFER_WAIT_MS,
      );
      const hashes = await Promise.all(SIZES.map((n) => sha256Hex(patternPayload(n))));
      for (const ch of CHANNELS) {
        const got = node.reactor.receivedOn(ch, go.id);
        assertEquals(got.map((p) => p.length), SIZES, `lengths in order on 0x${ch.toString(16)}`);
        got.forEach((p, i) =>
          assertEquals(p, patternPayload(SIZES[i]), `message #${i} on 0x${ch.toString(16)}`)
        );
      }
      // Our echoes reach Go intact and in order.
      await go.waitFor(
        () =>
          CHANNELS.every((ch) => goReceived(go.events(), node.key.id, ch).length === SIZES.length),
        TRANSFER_WAIT_MS,
      );
      for (const ch of CHANNELS) {
        const seen = goReceived(go.events(), node.key.id, ch);
        assertEquals(
          seen.map((e) => e.sha256),
          hashes,
          `Go saw our echoes in order on 0x${ch.toString(16)}`,
        );
      }
      await node.reactor.drained();
      assertEquals(node.reactor.stats.echoFailed, 0);
      assertEquals(node.reactor.stats.echoed, total);
      assert(peer.isRunning);
    } finally {
      await node.stop();
      await go.stop();
    }
    assertEquals(node.recorder.violations(), []);
  },
);
