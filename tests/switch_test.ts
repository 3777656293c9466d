import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./util/assert.ts";
import {
  assertGrammar,
  bytesChannel,
  makeNode,
  payload,
  type TestNode,
  TestReactor,
  waitFor,
} from "./util/p2p_harness.ts";
import { protoType } from "../p2p/proto.ts";
import { abortableSleep } from "../p2p/reconnect.ts";
import { ReactorRegistrationError } from "../p2p/switch.ts";
import { CurrentlyDialingOrExistingAddressError } from "../p2p/switch_dial.ts";
import { SelfConnectionError } from "../p2p/errors.ts";
import type { NetAddress } from "../p2p/netaddress.ts";

async function connect(a: TestNode, b: TestNode): Promise<void> {
  await a.sw.dialPeerWithAddress(b.addr);
  await waitFor(() => b.sw.peers().has(a.key.id), "inbound peer");
}

async function stopAll(...nodes: TestNode[]): Promise<void> {
  for (const n of nodes) await n.stop();
  for (const n of nodes) {
    assertEquals(n.transport.numConnections, 0, "connection set empty after stop");
    assertEquals(n.sw.peers().size, 0);
  }
  assertGrammar(...nodes);
}

const CHANNELS = [bytesChannel(0x20, 1), bytesChannel(0x21, 5), bytesChannel(0x22, 10)];
const newReactor = () => new TestReactor("test", CHANNELS);

Deno.test("switch: peers connect both ways; 1 B..4 MiB messages arrive intact and in order per channel", async () => {
  const a = await makeNode({ reactors: [newReactor()] });
  const b = await makeNode({ reactors: [newReactor()] });
  const c = await makeNode({ reactors: [newReactor()] });
  try {
    await connect(a, b); // a → b
    await connect(c, a); // c → a
    assertEquals(a.sw.numPeers(), { outbound: 1, inbound: 1, dialing: 0 });
    assertEquals(b.sw.numPeers(), { outbound: 0, inbound: 1, dialing: 0 });
    const pb = a.sw.peers().get(b.key.id)!;
    assert(pb.isOutbound && pb.isRunning && !pb.isPersistent);
    assertEquals(pb.socketAddr.toString(), b.addr.toString());
    assertEquals(pb.remoteIP, "127.0.0.1");
    assertEquals(pb.nodeInfo.id, b.key.id);
    const pa = b.sw.peers().get(a.key.id)!;
    assert(!pa.isOutbound);

    const sizes = [1, 2, 100, 1023, 1024, 1025, 65536, 1 << 20, 4 << 20];
    const sent = new Map<number, Uint8Array[]>();
    const sends: Promise<boolean>[] = [];
    for (const ch of [0x20, 0x21, 0x22]) {
      const list = sizes.map((n, i) => payload(n, ch * 100 + i));
      sent.set(ch, list);
      // Each channel's messages go in order from one sequential sender; channels run in parallel.
      sends.push((async () => {
        for (const m of list) {
          if (!await pb.send({ channelId: ch, message: { value: m } })) return false;
          if (!await pa.send({ channelId: ch, message: { value: m } })) return false;
        }
        return true;
      })());
    }
    assertEquals(await Promise.all(sends), [true, true, true]);
    const total = sizes.length * 3;
    const count = (r: TestReactor) => [0x20, 0x21, 0x22].reduce((s, ch) => s + r.count(ch), 0);
    await b.reactors[0].until(() => count(b.reactors[0]) === total, "b receives all");
    await a.reactors[0].until(() => count(a.reactors[0]) === total, "a receives all");
    for (const ch of [0x20, 0x21, 0x22]) {
      assertEquals(b.reactors[0].received.get(ch), sent.get(ch), `b channel ${ch}`);
      assertEquals(a.reactors[0].received.get(ch), sent.get(ch), `a channel ${ch}`);
    }

    // Broadcast: per-peer results keyed by ID; marshalled once.
    const res = await a.sw.broadcast({ channelId: 0x21, message: { value: new Uint8Array([7]) } });
    assertEquals(new Map(res), new Map([[b.key.id, true], [c.key.id, true]]));
    await c.reactors[0].until(() => c.reactors[0].count(0x21) === 1, "c got broadcast");
    const bad = await a.sw.broadcast({ channelId: 0x77, message: { value: new Uint8Array([7]) } });
    assertEquals(new Map(bad), new Map([[b.key.id, false], [c.key.id, false]]));
  } finally {
    await stopAll(a, b, c);
  }
});

Deno.test("switch: send/trySend return false for unregistered, unadvertised channel, bad message, full queue, stopped peer", async () => {
  const tiny = [bytesChannel(0x20, 1, { sendQueueCapacity: 1 }), bytesChannel(0x21, 1)];
  const a = await makeNode({ reactors: [new TestReactor("test", tiny)] });
  // b registers 0x20 and 0x21 but only advertises 0x20.
  const b = await makeNode({ reactors: [new TestReactor("test", tiny)], advertise: [0x20] });
  try {
    await connect(a, b);
    const p = a.sw.peers().get(b.key.id)!;
    assertEquals(await p.send({ channelId: 0x55, message: { value: new Uint8Array(1) } }), false);
    assertEquals(p.trySend({ channelId: 0x55, message: { value: new Uint8Array(1) } }), false);
    assertEquals(await p.send({ channelId: 0x21, message: { value: new Uint8Array(1) } }), false);
    assertEquals(p.trySend({ channelId: 0x21, message: { value: new Uint8Array(1) } }), false);
    assertEquals(await p.send({ channelId: 0x20, message: { value: 12345 } }), false);
    assertEquals(p.sendFailures.unknown_channel, 2);
    assertEquals(p.sendFailures.channel_not_advertised, 2);
    assertEquals(p.sendFailures.marshal_error, 1);
    // Queue capacity 1: synchronous trySends fill it before the send routine can run.
    const big = { channelId: 0x20, message: { value: payload(1 << 20, 1) } };
    let results = 0;
    let ok = 0;
    while (results < 20) {
      results++;
      if (p.trySend(big)) ok++;
      else break;
    }
    assert(ok >= 1 && ok < 20, `some trySend filled the queue (ok=${ok})`);
    assertEquals(p.sendFailures.queue_full, 1);
    await a.sw.stopPeerGracefully(p);
    assertEquals(p.isRunning, false);
    assert(p.quitSignal.aborted);
    await p.quit();
    assertEquals(await p.send({ channelId: 0x20, message: { value: new Uint8Array(1) } }), false);
    assertEquals(p.trySend({ channelId: 0x20, message: { value: new Uint8Array(1) } }), false);
    assertEquals(p.sendFailures.not_running, 2);
    assertEquals(a.reactors[0].removed.at(-1)?.reason.kind, "graceful");
  } finally {
    await stopAll(a, b);
  }
});

Deno.test("switch: get/set is shared between reactors (registration order is deterministic)", async () => {
  const r1 = new TestReactor("first", [bytesChannel(0x20)]);
  const r2 = new TestReactor("second", [bytesChannel(0x21)]);
  let seen: unknown;
  r1.addPeer = function (peer) {
    peer.set("height", 42);
    TestReactor.prototype.addPeer.call(this, peer);
  };
  r2.addPeer = function (peer) {
    seen = peer.get("height");
    TestReactor.prototype.addPeer.call(this, peer);
  };
  const a = await makeNode({ reactors: [r1, r2] });
  const b = await makeNode({
    reactors: [new TestReactor("t", [bytesChannel(0x20), bytesChannel(0x21)])],
  });
  try {
    await connect(a, b);
    assertEquals(seen, 42);
    assertEquals(a.sw.peers().get(b.key.id)!.get("height"), 42);
    assertEquals(a.sw.reactor("second"), a.recorders[1]);
  } finally {
    await stopAll(a, b);
  }
});

Deno.test("switch: stopPeerForError → removePeer with typed reasons on both sides", async () => {
  const a = await makeNode();
  const b = await makeNode();
  try {
    await connect(a, b);
    const p = a.sw.peers().get(b.key.id)!;
    await a.sw.stopPeerForError(p, new Error("bad block"));
    const ra = a.reactors[0].removed;
    assertEquals(ra.length, 1);
    assertEquals(ra[0].reason.kind, "protocol_violation");
    assertEquals((ra[0].reason as { error: Error }).error.message, "bad block");
    assertEquals(a.sw.peers().size, 0);
    await b.reactors[0].until(() => b.reactors[0].removed.length === 1, "b removes a");
    assertEquals(b.reactors[0].removed[0].reason.kind, "connection_error");
    // A protocol violation is an error for the operator; the other side's hang-up is churn.
    assert(a.logs.some((l) => l.startsWith("E Stopping peer for error")));
    assert(b.logs.some((l) => l.startsWith("D Stopping peer for error")));
    assert(!b.logs.some((l) => l.startsWith("E Stopping peer for error")));
  } finally {
    await stopAll(a, b);
  }
});

Deno.test("switch: a reactor that throws in receive gets the peer stopped, not the process", async () => {
  const a = await makeNode();
  const b = await makeNode();
  b.reactors[0].throwOn = (env) => (env.message as { value: Uint8Array }).value[0] === 0xff;
  try {
    await connect(a, b);
    const p = a.sw.peers().get(b.key.id)!;
    assert(await p.send({ channelId: 0x20, message: { value: new Uint8Array([1]) } }));
    assert(await p.send({ channelId: 0x20, message: { value: new Uint8Array([0xff]) } }));
    assert(await p.send({ channelId: 0x20, message: { value: new Uint8Array([2]) } }));
    const rb = b.reactors[0];
    await rb.until(() => rb.removed.length === 1, "b stops a");
    assertEquals(rb.removed[0].reason.kind, "protocol_violation");
    assertEquals((rb.removed[0].reason as { reactor?: string }).reactor, "test");
    assertEquals(rb.received.get(0x20), [new Uint8Array([1])]); // nothing after the throw
    await a.reactors[0].until(() => a.reactors[0].removed.length === 1, "a sees disconnect");
  } finally {
    await stopAll(a, b);
  }
});

Deno.test("switch: oneof envelope channels give the member; an unset oneof stops the peer", async () => {
  const msgType = protoType("tendermint.p2p.Message");
  const mk = () =>
    new TestReactor("pex", [{ id: 0x00, priority: 1, messageType: msgType, unwrap: true }]);
  const a = await makeNode({ reactors: [mk()] });
  const b = await makeNode({ reactors: [mk()] });
  const members: (string | undefined)[] = [];
  b.reactors[0].onReceive = (env) => members.push(env.member);
  try {
    await connect(a, b);
    const p = a.sw.peers().get(b.key.id)!;
    assert(await p.send({ channelId: 0x00, message: { pex_request: {} } }));
    await b.reactors[0].until(() => members.length === 1, "pex_request");
    assertEquals(members, ["pex_request"]);
    assert(await p.send({ channelId: 0x00, message: {} })); // encodes to zero bytes: unset oneof
    await b.reactors[0].until(() => b.reactors[0].removed.length === 1, "b stops a");
    const reason = b.reactors[0].removed[0].reason as { kind: string; error: Error };
    assertEquals(reason.kind, "protocol_violation");
    assertStringIncludes(reason.error.message, "is not set");
  } finally {
    await stopAll(a, b);
  }
});

function recordingSleep(sleeps: number[]) {
  return (ms: number, signal: AbortSignal) => {
    sleeps.push(ms);
    return abortableSleep(Math.min(ms, 20), signal);
  };
}

Deno.test("switch: persistent peer is redialed after the remote restarts (scaled schedule)", async () => {
  const b = await makeNode();
  const sleeps: number[] = [];
  const a = await makeNode({
    config: { reconnect: { intervalMs: 30, jitterMs: 10 } },
    switchOptions: { sleep: recordingSleep(sleeps) },
  });
  let b2: TestNode | undefined;
  try {
    await a.sw.addPersistentPeers([b.addr.toString()]);
    await connect(a, b);
    assert(a.sw.peers().get(b.key.id)!.isPersistent);
    await b.stop();
    await a.reactors[0].until(() => a.reactors[0].removed.length === 1, "a sees b gone");
    assertEquals(a.reactors[0].removed[0].reason.kind, "connection_error");
    b2 = await makeNode({ key: b.key, port: b.addr.port });
    await waitFor(() => a.sw.peers().has(b.key.id), "a redials b");
    assert(
      a.logs.some((l) =>
        l.includes("Persistent peer stopped for a connection error; redialing now")
      ),
    );
    assert(!sleeps.includes(a.sw.config.reactorErrorCooldownMs));
  } finally {
    await stopAll(a, ...(b2 ? [b2] : []));
    assertGrammar(b);
  }
});

Deno.test("switch: protocol violation by a persistent peer redials only after the cooldown", async () => {
  const b = await makeNode();
  const sleeps: number[] = [];
  const a = await makeNode({
    config: { reactorErrorCooldownMs: 60_000, reconnect: { intervalMs: 30, jitterMs: 10 } },
    switchOptions: { sleep: recordingSleep(sleeps) },
  });
  try {
    await a.sw.addPersistentPeers([b.addr.toString()]);
    await connect(a, b);
    const first = a.sw.peers().get(b.key.id)!;
    await a.sw.stopPeerForError(first, new Error("invalid vote"));
    assert(a.sw.isReconnecting(b.key.id));
    await waitFor(() => a.sw.peers().has(b.key.id), "redial after cooldown");
    assertEquals(sleeps[0], 60_000); // the cooldown came before any dial
    assert(a.logs.some((l) => l.includes("protocol violation; redialing after cooldown")));
    assert(a.sw.peers().get(b.key.id) !== first);
  } finally {
    await stopAll(a, b);
  }
});

Deno.test("switch: duplicate IP is refused unless allowDuplicateIP", async () => {
  const b = await makeNode({ transport: { allowDuplicateIP: false } });
  const a = await makeNode();
  const c = await makeNode();
  try {
    await connect(a, b);
    await assertRejects(() => c.sw.dialPeerWithAddress(b.addr));
    await waitFor(() => b.logs.some((l) => l.includes("Inbound Peer rejected")), "b rejects");
    assert(
      b.logs.some((l) => l.includes(`filtered CONN<127.0.0.1:`) && l.includes("duplicate CONN<")),
    );
    assertEquals(b.sw.peers().size, 1);
    assertEquals(c.sw.peers().size, 0);
  } finally {
    await stopAll(a, b, c);
  }
});

Deno.test("switch: inbound cap and unconditional bypass", async () => {
  const b = await makeNode({ config: { maxNumInboundPeers: 1 } });
  const a = await makeNode();
  const c = await makeNode();
  const u = await makeNode();
  try {
    b.sw.addUnconditionalPeerIds([u.key.id]);
    await connect(a, b);
    // c is over the cap: the handshake completes, then b drops it.
    await c.sw.dialPeerWithAddress(b.addr).catch(() => {});
    await waitFor(
      () =>
        b.logs.some((l) =>
          l.includes("Ignoring inbound connection: already have enough inbound peers")
        ),
      "cap log",
    );
    // u is unconditional: admitted and not counted.
    await connect(u, b);
    assertEquals(b.sw.numPeers(), { outbound: 0, inbound: 1, dialing: 0 });
    assertEquals(b.sw.peers().size, 2);
    // Dialing an address already connected is refused before any socket.
    await assertRejects(
      () => a.sw.dialPeerWithAddress(b.addr),
      CurrentlyDialingOrExistingAddressError,
    );
  } finally {
    await stopAll(a, b, c, u);
  }
});

Deno.test("switch: a second connection with a connected peer's ID is refused", async () => {
  const b = await makeNode();
  const a = await makeNode();
  const a2 = await makeNode({ key: a.key });
  try {
    await connect(a, b);
    // a2 has a's ID: refused as a duplicate.
    await a2.sw.dialPeerWithAddress(b.addr).catch(() => {});
    await waitFor(
      () =>
        b.logs.some((l) => l.includes("error while adding peer") && l.includes("duplicate ID<")),
      "dup",
    );
    assertEquals(b.sw.peers().size, 1);
  } finally {
    await stopAll(a, b, a2);
  }
});

Deno.test("switch: dialing ourselves is refused and reported to the address book", async () => {
  const ours: NetAddress[] = [];
  const a = await makeNode({ addrBook: { addOurAddress: (x) => ours.push(x) } });
  try {
    await assertRejects(() => a.sw.dialPeerWithAddress(a.addr), SelfConnectionError);
    // Both ends of the loop learn an address of ours: the dialed one, and the inbound
    // socket's (ephemeral port), as Go records them.
    // (Which side notices first is a race, so the order is not asserted.)
    await waitFor(() => ours.length === 2, "both sides");
    assertEquals(ours.filter((x) => x.toString() === a.addr.toString()).length, 1);
    assert(ours.every((x) => x.id === a.key.id));
  } finally {
    await stopAll(a);
  }
});

Deno.test("switch: dialPeersAsync dials every address after a random delay", async () => {
  const b = await makeNode();
  const c = await makeNode();
  const sleeps: number[] = [];
  const a = await makeNode({ switchOptions: { sleep: recordingSleep(sleeps), random: () => 0.5 } });
  try {
    await a.sw.dialPeersAsync([b.addr.toString(), c.addr.toString(), a.addr.toString()]);
    await waitFor(() => a.sw.peers().size === 2, "both dialed");
    assertEquals(sleeps, [1500, 1500]); // U[0,3000) per dial; our own address skipped
    await assertRejects(() => a.sw.dialPeersAsync(["not-an-address"]));
  } finally {
    await stopAll(a, b, c);
  }
});

Deno.test("switch: addReactor refuses duplicate names and channels, bad descriptors, and late registration", async () => {
  const a = await makeNode({ start: false });
  try {
    assertThrows(
      () => a.sw.addReactor("test", new TestReactor("x", [bytesChannel(0x30)])),
      ReactorRegistrationError,
    );
    assertThrows(
      () => a.sw.addReactor("other", new TestReactor("y", [bytesChannel(0x20)])),
      ReactorRegistrationError,
      "Channel 20 has multiple reactors test & other",
    );
    assertThrows(
      () =>
        a.sw.addReactor("twice", new TestReactor("z", [bytesChannel(0x31), bytesChannel(0x31)])),
      ReactorRegistrationError,
    );
    assertThrows(
      () =>
        a.sw.addReactor("unwrap", new TestReactor("w", [bytesChannel(0x32, 1, { unwrap: true })])),
      ReactorRegistrationError,
      "no oneof",
    );
    assertEquals([...a.sw.channelIds()], [0x20]);
    await a.sw.start();
    assertThrows(
      () => a.sw.addReactor("late", new TestReactor("l", [bytesChannel(0x40)])),
      ReactorRegistrationError,
    );
  } finally {
    await stopAll(a);
  }
});
