import { assert, assertEquals, assertThrows } from "./util/assert.ts";
import {
  type ChannelDescriptor,
  connectionStatusToJSON,
  type MConnConfig,
  MConnection,
  MConnectionError,
} from "../p2p/conn/mconnection.ts";
import {
  type DecodedPacket,
  decodePacket,
  delimitedPacketMsgSize,
  encodePacketMsg,
} from "../p2p/conn/packet.ts";
import type { ByteStream } from "../p2p/conn/stream.ts";
import { AlreadyStartedError, InvalidParametersError } from "../p2p/errors.ts";
import { Channel } from "../p2p/conn/channel.ts";
import { concat, memPipe, type MemStream, tcpPair } from "./util/mem_stream.ts";

const FAST: Partial<MConnConfig> = { sendRate: 0, recvRate: 0 };

/** Polls `cond` until true; fails the test after a generous deadline instead of hanging. */
async function waitFor(cond: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Splits wire bytes into decoded packets (data copied). */
function parseWire(bytes: Uint8Array): DecodedPacket[] {
  const out: DecodedPacket[] = [];
  let p = 0;
  while (p < bytes.length) {
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[p++];
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    const pkt = decodePacket(bytes.subarray(p, p + len));
    out.push(pkt.kind === "msg" ? { ...pkt, data: pkt.data.slice() } : pkt);
    p += len;
  }
  return out;
}

function delimited(ch: number, eof: boolean, data: Uint8Array): Uint8Array {
  const body = encodePacketMsg(ch, eof, data);
  return concat([Uint8Array.of(body.length), body]);
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

/** An MConnection plus what it delivered and reported. */
class Side {
  readonly received = new Map<number, Uint8Array[]>();
  readonly errors: MConnectionError[] = [];
  readonly conn: MConnection;
  constructor(
    stream: ByteStream,
    chs: ChannelDescriptor[],
    cfg: Partial<MConnConfig> = FAST,
    onMsg?: (ch: number, m: Uint8Array) => void,
  ) {
    this.conn = new MConnection(
      stream,
      chs,
      (ch, m) => {
        onMsg?.(ch, m);
        const list = this.received.get(ch) ?? [];
        list.push(m);
        this.received.set(ch, list);
      },
      (err) => this.errors.push(err as MConnectionError),
      cfg,
    );
  }
  count(ch: number): number {
    return this.received.get(ch)?.length ?? 0;
  }
}

const CHS: ChannelDescriptor[] = [
  { id: 0x01, priority: 1, sendQueueCapacity: 20 },
  { id: 0x20, priority: 5, sendQueueCapacity: 20 },
  { id: 0x80, priority: 3, sendQueueCapacity: 20 }, // 2-byte varint id: 1023-byte chunks
];
const SIZES = [0, 1, 1023, 1024, 1025, 4096, 65536, 1 << 20, 4 << 20];

async function exchangeAllSizes(sa: ByteStream, sb: ByteStream): Promise<void> {
  const a = new Side(sa, CHS);
  const b = new Side(sb, CHS);
  a.conn.start();
  b.conn.start();
  const sends: Promise<boolean>[] = [];
  for (const ch of CHS) {
    sends.push((async () => {
      for (const n of SIZES) {
        if (!await a.conn.send(ch.id, pattern(n, ch.id + n))) return false;
      }
      return true;
    })());
  }
  assertEquals(await Promise.all(sends), [true, true, true]);
  await waitFor(() => CHS.every((c) => b.count(c.id) === SIZES.length), "all messages");
  for (const ch of CHS) {
    const got = b.received.get(ch.id)!;
    assertEquals(got.map((m) => m.length), SIZES, `sizes on channel ${ch.id}`);
    got.forEach((m, i) => assertEquals(m, pattern(SIZES[i], ch.id + SIZES[i])));
  }
  assertEquals([a.errors.length, b.errors.length], [0, 0]);
  await a.conn.stop();
  await b.conn.stop();
  assertEquals(a.errors.length, 0, "a local stop reports nothing");
  assert(b.errors.every((e) => e.reason.code === "eof"), "the peer sees at most EOF");
}

Deno.test("mconnection: messages 0 B..4 MiB arrive intact, in order, on several channels (memory)", async () => {
  const [sa, sb] = memPipe();
  await exchangeAllSizes(sa, sb);
});

Deno.test("mconnection: messages 0 B..4 MiB arrive intact over loopback TCP", async () => {
  const [sa, sb] = await tcpPair();
  await exchangeAllSizes(sa, sb);
});

Deno.test("mconnection: after a 1 MiB message both ends go back to small buffers", async () => {
  const [sa, sb] = await tcpPair();
  const chs: ChannelDescriptor[] = [
    { id: 0x40, priority: 1, sendQueueCapacity: 4, recvBufferCapacity: 204800 },
  ];
  const a = new Side(sa, chs);
  const b = new Side(sb, chs);
  // Before anything moved: no output buffer, no reassembly buffer.
  assertEquals(a.conn.bufferStats().out, 0);
  assertEquals(a.conn.bufferStats().recv, [{ id: 0x40, size: 0 }]);
  a.conn.start();
  b.conn.start();
  const big = pattern(1 << 20, 3);
  assert(await a.conn.send(0x40, big));
  await waitFor(() => b.count(0x40) === 1, "the 1 MiB message");
  assertEquals(b.received.get(0x40)![0], big);
  // A small message after it: the receiver drains and waits in its small read buffer again.
  assert(await a.conn.send(0x40, Uint8Array.of(1, 2, 3)));
  await waitFor(() => b.count(0x40) === 2, "the small message");
  // The sender gives its output buffer back after the flush that left nothing pending.
  await waitFor(() => a.conn.bufferStats().out === 0, "output buffer released");
  const sb2 = b.conn.bufferStats();
  assert(sb2.read > 0 && sb2.read <= 2048, `read buffer ${sb2.read}`);
  assertEquals(sb2.recv, [{ id: 0x40, size: 0 }], "reassembly buffer released after delivery");
  assertEquals(sb2.out, 0);
  await a.conn.stop();
  await b.conn.stop();
  assertEquals(a.errors.length, 0);
});

Deno.test("mconnection: splitting and payload limits seen on the wire", async () => {
  const [sa, sb] = memPipe();
  const a = new Side(sa, CHS);
  a.conn.start();
  assert(a.conn.trySend(0x01, new Uint8Array(0)));
  await waitFor(() => sa.writes.length > 0, "flush");
  assert(a.conn.trySend(0x80, pattern(2050, 1)));
  await waitFor(() => parseWire(sa.written()).length === 4, "packets");
  const pkts = parseWire(sa.written());
  assertEquals(pkts[0], { kind: "msg", channelId: 1, eof: true, data: new Uint8Array(0) });
  assertEquals(
    pkts.slice(1).map((p) => p.kind === "msg" ? [p.channelId, p.eof, p.data.length] : p.kind),
    [[0x80, false, 1023], [0x80, false, 1023], [0x80, true, 4]],
  );
  await a.conn.stop();
  assert(sb.peer.closed);
});

Deno.test("mconnection: scheduler picks the least recentlySent/priority, first registered on ties", async () => {
  const [sa, sb] = memPipe();
  const chs = [{ id: 1, priority: 1 }, { id: 2, priority: 5 }];
  const a = new Side(sa, chs);
  const b = new Side(sb, chs);
  a.conn.start();
  b.conn.start();
  const size = 20 * 1024;
  assert(a.conn.trySend(1, pattern(size, 1)));
  assert(a.conn.trySend(2, pattern(size, 2)));
  await waitFor(() => b.count(1) === 1 && b.count(2) === 1, "both messages");
  const order = parseWire(sa.written()).map((p) => p.kind === "msg" ? p.channelId : 0);

  // Reference model of the rule (spec §5.4), computed independently of the implementation.
  const left = new Map([[1, size], [2, size]]);
  const recent = new Map([[1, 0], [2, 0]]);
  const expected: number[] = [];
  while ([...left.values()].some((v) => v > 0)) {
    let best = 0;
    let bestRatio = Infinity;
    for (const c of chs) {
      if (left.get(c.id)! <= 0) continue;
      const r = recent.get(c.id)! / c.priority;
      if (r < bestRatio) [best, bestRatio] = [c.id, r];
    }
    const chunk = Math.min(1024, left.get(best)!);
    left.set(best, left.get(best)! - chunk);
    const eof = left.get(best) === 0;
    recent.set(best, recent.get(best)! + delimitedPacketMsgSize(best, eof, chunk));
    expected.push(best);
  }
  assertEquals(order, expected);
  assertEquals(order[0], 1, "tie at zero goes to the first registered channel");
  assert(order.slice(0, 12).filter((c) => c === 2).length >= 9, "priority 5 gets ~5x the packets");
  const st = a.conn.status();
  assertEquals(st.channels.map((c) => c.recentlySent), [
    recent.get(1),
    recent.get(2),
  ]);
  // The 2 s stats tick decays recentlySent by x0.8, truncated.
  await waitFor(() => a.conn.status().channels[0].recentlySent !== recent.get(1), "decay");
  assertEquals(a.conn.status().channels.map((c) => c.recentlySent), [
    Math.trunc(recent.get(1)! * 0.8),
    Math.trunc(recent.get(2)! * 0.8),
  ]);
  assertThrows(() => a.conn.start(), AlreadyStartedError);
  await a.conn.stop();
  await b.conn.stop();
});

Deno.test("mconnection: many small sends are batched into few stream writes", async () => {
  const [sa, sb] = memPipe();
  const chs = [{ id: 7, priority: 1, sendQueueCapacity: 1000 }];
  const a = new Side(sa, chs);
  const b = new Side(sb, chs);
  a.conn.start();
  b.conn.start();
  for (let i = 0; i < 500; i++) assert(a.conn.trySend(7, pattern(10, i)));
  await waitFor(() => b.count(7) === 500, "500 messages");
  assert(sa.writes.length <= 3, `expected few writes, got ${sa.writes.length}`);
  assertEquals(b.received.get(7)![499], pattern(10, 499));
  await a.conn.stop();
  await b.conn.stop();
});

Deno.test("mconnection: pings are answered by pongs; the pong timer is cancelled", async () => {
  const [sa, sb] = memPipe();
  const chs = [{ id: 1, priority: 1 }];
  const a = new Side(sa, chs, { ...FAST, pingIntervalMs: 30, pongTimeoutMs: 20 });
  const b = new Side(sb, chs);
  a.conn.start();
  b.conn.start();
  const kinds = (s: MemStream, k: string) =>
    parseWire(s.written()).filter((p) => p.kind === k).length;
  await waitFor(() => kinds(sa, "ping") >= 4 && kinds(sb, "pong") >= 4, "4 ping/pong rounds");
  assertEquals([a.errors.length, b.errors.length], [0, 0]);
  assert(a.conn.isRunning && b.conn.isRunning);
  await a.conn.stop();
  await b.conn.stop();
});

Deno.test("mconnection: a burst of pings gets one pong, each later ping its own", async () => {
  const [sa, peer] = memPipe();
  const a = new Side(sa, [{ id: 1, priority: 1 }]);
  a.conn.start();
  const ping = Uint8Array.of(2, 0x0a, 0);
  await peer.write(concat([ping, ping, ping, ping, ping]));
  await waitFor(() => sa.writes.length === 1, "a pong");
  await peer.write(ping);
  await waitFor(() => sa.writes.length === 2, "a second pong");
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(parseWire(sa.written()), [{ kind: "pong" }, { kind: "pong" }]);
  await a.conn.stop();
});

Deno.test("mconnection: pong timeout when the peer never answers", async () => {
  const [sa, peer] = memPipe();
  const a = new Side(sa, [{ id: 1, priority: 1 }], {
    ...FAST,
    pingIntervalMs: 30,
    pongTimeoutMs: 20,
  });
  a.conn.start();
  await waitFor(() => a.errors.length > 0, "pong timeout");
  assertEquals(a.errors[0].reason, { code: "pong_timeout" });
  assertEquals(a.errors[0].message, "pong timeout");
  assert(sa.closed && !a.conn.isRunning);
  assertEquals(parseWire(concat(peer.peer.writes))[0], { kind: "ping" });
  await a.conn.stop();
  assertEquals(a.errors.length, 1);
});

/** Feeds `bytes` from a raw peer and returns the single error reported. */
async function errorFrom(
  bytes: Uint8Array | null,
  chs: ChannelDescriptor[] = [{ id: 1, priority: 1 }],
  onMsg?: (ch: number, m: Uint8Array) => void,
): Promise<MConnectionError> {
  const [sa, peer] = memPipe();
  const a = new Side(sa, chs, FAST, onMsg);
  a.conn.start();
  if (bytes) await peer.write(bytes);
  else peer.close();
  await waitFor(() => a.errors.length > 0, "an error");
  assert(sa.closed, "the stream is closed");
  assert(!a.conn.isRunning);
  assertEquals(a.conn.trySend(1, new Uint8Array(1)), false);
  await a.conn.stop();
  assertEquals(a.errors.length, 1, "onError fires once");
  assert(a.errors[0] instanceof MConnectionError);
  assertEquals(a.errors[0].kind, "closed");
  return a.errors[0];
}

Deno.test("mconnection: unknown channel stops with unknown_channel", async () => {
  const err = await errorFrom(delimited(9, true, Uint8Array.of(1)));
  assertEquals(err.reason, { code: "unknown_channel", channelId: 9 });
  const neg = await errorFrom(Uint8Array.of(13, 0x1a, 0x0b, 8, ...new Array(9).fill(0xff), 1));
  assertEquals(neg.reason, { code: "unknown_channel", channelId: -1 });
});

Deno.test("mconnection: a message over recvMessageCapacity stops with message_too_large", async () => {
  const err = await errorFrom(
    concat([delimited(1, false, new Uint8Array(60)), delimited(1, true, new Uint8Array(60))]),
    [{ id: 1, priority: 1, recvMessageCapacity: 100 }],
  );
  assertEquals(err.reason, {
    code: "message_too_large",
    channelId: 1,
    capacity: 100,
    received: 120,
  });
});

Deno.test("mconnection: bad packet bytes, oversize length and unknown packet type", async () => {
  for (
    const [bytes, detail] of [
      [Uint8Array.of(3, 0x1a, 1, 0xff), "unexpected end of varint"],
      [Uint8Array.of(3, 0x1a, 5, 0x08), "length exceeds packet"],
      [Uint8Array.of(0x8b, 0x08), "message exceeds max size (1035 > 1034)"],
      [Uint8Array.of(2, 0x22, 0), "unknown packet type (no oneof member set)"],
      [Uint8Array.of(0), "unknown packet type (no oneof member set)"],
      [new Uint8Array(11).fill(0x80), "length varint overflow"],
    ] as const
  ) {
    const err = await errorFrom(bytes);
    assertEquals(err.reason, { code: "bad_packet", detail });
  }
});

Deno.test("mconnection: EOF stops with eof; a throwing receiver with receive_threw", async () => {
  assertEquals((await errorFrom(null)).reason, { code: "eof" });
  const boom = new Error("reactor bug");
  const err = await errorFrom(delimited(1, true, Uint8Array.of(5)), undefined, () => {
    throw boom;
  });
  assertEquals(err.reason, { code: "receive_threw", channelId: 1, cause: boom });
  assert(err.cause === boom);
});

Deno.test("mconnection: send waits for room then times out; trySend fails at once", async () => {
  const [sa, sb] = memPipe();
  const a = new Side(sa, [{ id: 1, priority: 1 }]);
  a.conn.start();
  sa.stall(); // the socket accepts nothing: the first flush blocks
  assert(a.conn.trySend(1, pattern(200_000, 1)));
  await waitFor(() => a.conn.canSend(1), "the send routine to take the message");
  assert(a.conn.trySend(1, pattern(10, 2)), "one queue slot");
  assertEquals(a.conn.status().channels[0].sendQueueSize, 2);
  assertEquals(a.conn.trySend(1, pattern(10, 3)), false);
  assertEquals(a.conn.canSend(1), false);
  assertEquals(await a.conn.send(1, pattern(10, 3), { timeoutMs: 30 }), false);
  const ac = new AbortController();
  const aborted = a.conn.send(1, pattern(10, 3), { signal: ac.signal });
  ac.abort();
  assertEquals(await aborted, false);
  assertEquals(await a.conn.send(99, pattern(10, 3)), false, "unknown channel");
  assertEquals(a.conn.trySend(99, pattern(10, 3)), false);
  // A waiting send succeeds once the socket drains.
  const b = new Side(sb, [{ id: 1, priority: 1 }]);
  b.conn.start();
  const waiting = a.conn.send(1, pattern(10, 4));
  sa.unstall();
  assertEquals(await waiting, true);
  await waitFor(() => b.count(1) === 3, "three messages");
  // A send still waiting at stop resolves false.
  sa.stall();
  assert(a.conn.trySend(1, pattern(200_000, 5)));
  await waitFor(() => a.conn.canSend(1), "routine took it");
  assert(a.conn.trySend(1, pattern(1, 6)));
  const pending = a.conn.send(1, pattern(1, 7));
  await a.conn.stop();
  assertEquals(await pending, false);
  assertEquals(await a.conn.send(1, pattern(1, 8)), false, "stopped");
  await b.conn.stop();
});

Deno.test("mconnection: flushStop drains every queued message before closing", async () => {
  const [sa, sb] = memPipe();
  const chs = [{ id: 1, priority: 1, sendQueueCapacity: 100 }, {
    id: 2,
    priority: 3,
    sendQueueCapacity: 100,
  }];
  const a = new Side(sa, chs);
  const b = new Side(sb, chs);
  a.conn.start();
  b.conn.start();
  for (let i = 0; i < 50; i++) {
    assert(a.conn.trySend(1, pattern(5000, i)));
    assert(a.conn.trySend(2, pattern(3000, i)));
  }
  await a.conn.flushStop();
  assert(sa.closed);
  assertEquals(a.conn.trySend(1, new Uint8Array(1)), false);
  await waitFor(() => b.errors.length > 0, "EOF at b");
  assertEquals(b.errors[0].reason, { code: "eof" });
  assertEquals([b.count(1), b.count(2)], [50, 50], "everything arrived before EOF");
  b.received.get(1)!.forEach((m, i) => assertEquals(m, pattern(5000, i)));
  b.received.get(2)!.forEach((m, i) => assertEquals(m, pattern(3000, i)));
  assertEquals(a.errors.length, 0);
  await b.conn.stop();
});

Deno.test("mconnection: send and receive rate limits slow but deliver everything", async () => {
  const [sa, sb] = memPipe();
  const chs = [{ id: 1, priority: 1, sendQueueCapacity: 10 }];
  const a = new Side(sa, chs, { sendRate: 20_000, recvRate: 0 });
  const b = new Side(sb, chs, { sendRate: 0, recvRate: 20_000 });
  a.conn.start();
  b.conn.start();
  for (let i = 0; i < 10; i++) assert(a.conn.trySend(1, pattern(4000, i)));
  for (let i = 0; i < 10; i++) assert(b.conn.trySend(1, pattern(4000, i + 10)));
  await waitFor(() => b.count(1) === 10 && a.count(1) === 10, "40 kB each way");
  b.received.get(1)!.forEach((m, i) => assertEquals(m, pattern(4000, i)));
  a.received.get(1)!.forEach((m, i) => assertEquals(m, pattern(4000, i + 10)));
  assertEquals([a.errors.length, b.errors.length], [0, 0]);
  await a.conn.stop();
  await b.conn.stop();
});

Deno.test("mconnection: status and its Go JSON shape", async () => {
  const [sa] = memPipe();
  const a = new Side(sa, [{ id: 0x30, priority: 5 }, {
    id: 0,
    priority: 1,
    sendQueueCapacity: 10,
  }]);
  const st = a.conn.status();
  assertEquals(st.channels, [
    { id: 0x30, sendQueueCapacity: 1, sendQueueSize: 0, priority: 5, recentlySent: 0 },
    { id: 0, sendQueueCapacity: 10, sendQueueSize: 0, priority: 1, recentlySent: 0 },
  ]);
  const j = connectionStatusToJSON(st);
  assertEquals(Object.keys(j), ["Duration", "SendMonitor", "RecvMonitor", "Channels"]);
  assertEquals(j.Channels[0], {
    ID: 48,
    SendQueueCapacity: "1",
    SendQueueSize: "0",
    Priority: "5",
    RecentlySent: "0",
  });
  assert(/^\d+$/.test(j.Duration));
  assertEquals(j.SendMonitor.Bytes, "0");
  await a.conn.stop();
  assert(sa.closed, "stop before start still closes the stream");
});

Deno.test("mconnection: config and descriptor validation", () => {
  const [sa] = memPipe();
  const noop = () => {};
  assertThrows(
    () => new MConnection(sa, [], noop, noop, { pingIntervalMs: 100, pongTimeoutMs: 100 }),
    InvalidParametersError,
  );
  assertThrows(
    () => new MConnection(sa, [{ id: 1, priority: 1 }, { id: 1, priority: 2 }], noop, noop),
    InvalidParametersError,
  );
  assertThrows(() => new MConnection(sa, [{ id: 1, priority: 0 }], noop, noop), RangeError);
  assertThrows(() => new MConnection(sa, [{ id: 256, priority: 1 }], noop, noop), RangeError);
});

Deno.test("channel: 2,000 senders waiting on a full queue are admitted in FIFO order; timeouts and aborts give false", async () => {
  const ch = new Channel({ id: 0x10, priority: 1, sendQueueCapacity: 1 }, 1024, () => {});
  assert(ch.trySend(Uint8Array.of(0xff, 0xff)), "first message fills the queue");
  const abort = new AbortController();
  const N = 2000;
  const admitted: number[] = [];
  const results: Promise<boolean>[] = [];
  const expected: boolean[] = [];
  for (let i = 0; i < N; i++) {
    const msg = Uint8Array.of(i & 0xff, i >> 8);
    // i % 4: 0 = expires (1 ms, the queue is not drained before it did), 1 = aborted through a
    // shared signal, 2 and 3 = admitted (60 s timeout, drained long before).
    const kind = i % 4;
    const p = kind === 0
      ? ch.send(msg, 1)
      : kind === 1
      ? ch.send(msg, 60_000, abort.signal)
      : ch.send(msg, 60_000);
    expected.push(kind >= 2);
    results.push(p.then((ok) => {
      if (ok) admitted.push(i);
      return ok;
    }));
  }
  assert(!ch.canSend(), "senders are waiting");
  assertEquals(ch.trySend(Uint8Array.of(1)), false, "trySend never jumps the waiting senders");
  abort.abort();
  // Wait for every short-timeout sender to give up (they cannot be admitted: nothing drains).
  await Promise.all(results.filter((_, i) => i % 4 === 0));
  // Drain: each freed slot admits the oldest sender still waiting.
  const buf = new Uint8Array(2048);
  const drained: number[] = [];
  while (ch.isSendPending()) {
    const end = ch.writeNextPacket(buf, 0);
    const pkt = decodePacket(buf.subarray(1, end));
    if (pkt.kind === "msg") drained.push(pkt.data[0] | (pkt.data[1] << 8));
  }
  assertEquals(await Promise.all(results), expected);
  const want = expected.flatMap((ok, i) => (ok ? [i] : []));
  assertEquals(admitted, want, "sends resolve true in arrival order");
  assertEquals(drained, [0xffff, ...want], "messages leave in arrival order");
  assert(ch.canSend(), "no sender left waiting");
});

Deno.test("channel: cancelWaiters resolves every waiting send with false", async () => {
  const ch = new Channel({ id: 0x11, priority: 1, sendQueueCapacity: 2 }, 1024, () => {});
  assert(ch.trySend(Uint8Array.of(1)) && ch.trySend(Uint8Array.of(2)));
  const waits = Array.from({ length: 100 }, (_, i) => ch.send(Uint8Array.of(i), 60_000));
  ch.cancelWaiters();
  assertEquals(await Promise.all(waits), new Array(100).fill(false));
  assertEquals(ch.sendQueueSize, 2, "queued messages stay queued");
});
