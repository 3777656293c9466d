/**
 * 50 peers connecting and disconnecting concurrently with a hub whose reactor callbacks take
 * seeded random delays (async `initPeer`, `addPeer`, `removePeer`, `receive`): the hub's trace
 * must satisfy the reactor grammar by node ID (one peer management per ID at a time, ordered
 * callbacks, nothing after removal or stop), with both sides dialing and hanging up.
 */
import { assert, assertEquals } from "./util/assert.ts";
import {
  assertGrammar,
  bytesChannel,
  makeNode,
  type TestNode,
  waitFor,
} from "./util/p2p_harness.ts";
import { delay, HookReactor, seededRandom } from "./util/hook_reactor.ts";

const PEERS = 50;
const SEED = 10;
const CH = 0x20;

Deno.test("churn: 50 peers connect and disconnect concurrently with seeded random callback delays; grammar by ID holds", async () => {
  const random = seededRandom(SEED);
  const jitter = (maxMs: number) => delay(Math.floor(random() * maxMs));
  let open = 0;
  let maxOpen = 0;
  const hubReactor = new HookReactor("hub", [bytesChannel(CH)], {
    initPeer: () => {
      maxOpen = Math.max(maxOpen, ++open);
      return jitter(15);
    },
    addPeer: () => jitter(15),
    removePeer: () => {
      open--;
      return jitter(15);
    },
    receive: () => jitter(5),
  });
  const hub = await makeNode({
    reactors: [hubReactor],
    config: { maxNumInboundPeers: PEERS * 2 },
  });
  const clients: TestNode[] = [];
  for (let i = 0; i < PEERS; i++) clients.push(await makeNode());
  try {
    await Promise.all(clients.map(async (c, i) => {
      await jitter(50);
      // Half dial the hub, half are dialed by it; some of each pair also race the other way.
      const dials = [
        i % 2 === 0 ? c.sw.dialPeerWithAddress(hub.addr) : hub.sw.dialPeerWithAddress(c.addr),
      ];
      if (i % 5 === 0) {
        dials.push(
          i % 2 === 0 ? hub.sw.dialPeerWithAddress(c.addr) : c.sw.dialPeerWithAddress(hub.addr),
        );
      }
      await Promise.allSettled(dials);
      const p = c.sw.peers().get(hub.key.id);
      if (p) {
        for (let k = 0; k < 3; k++) {
          await p.send({ channelId: CH, message: { value: new Uint8Array([i, k]) } });
        }
      }
      await jitter(50);
      // Hang up from either side; a third reconnect once.
      const hp = hub.sw.peers().get(c.key.id);
      if (i % 3 === 0 && hp) await hub.sw.stopPeerGracefully(hp);
      else if (p) await c.sw.stopPeerGracefully(p);
      if (i % 3 === 1) {
        await jitter(30);
        await c.sw.dialPeerWithAddress(hub.addr).catch(() => {});
      }
    }));
    // The hub's accept routine admits inbound connections one at a time (each through the
    // slow callbacks): wait until every client got through, and none is half-way.
    await waitFor(
      () =>
        new Set(hubReactor.inited.map((p) => p.id)).size === PEERS &&
        hubReactor.inited.length === hubReactor.removed.length + hub.sw.peers().size,
      "hub callbacks settle",
    );
  } finally {
    for (const c of clients) await c.stop();
    await hub.stop();
  }
  assertEquals(hub.sw.peers().size, 0);
  assertEquals(hubReactor.inited.length, hubReactor.removed.length);
  assertGrammar(hub, ...clients);
  // The churn really overlapped: every client reached the reactor, many at once.
  const ids = new Set(hubReactor.inited.map((p) => p.id));
  assertEquals(ids.size, PEERS, "every client reached the hub's reactor");
  assert(maxOpen >= 10, `peer managements overlapped (at most ${maxOpen} at once)`);
});
