/**
 * Async reactor callbacks (issue 10, point 2): a `receive` promise holds back that peer's next
 * message and its socket reads (the sender feels it), per-peer order is kept and other peers
 * are not held up; the waiting senders of a peer are bounded; a throw or rejection from any
 * callback stops only that peer; `stopPeerForError` works from every callback. Every test ends
 * with the by-ID grammar check.
 */
import { assert, assertEquals } from "./util/assert.ts";
import {
  assertGrammar,
  bytesChannel,
  makeNode,
  type MakeNodeOptions,
  payload,
  type TestNode,
  waitFor,
} from "./util/p2p_harness.ts";
import { HookReactor, type Hooks } from "./util/hook_reactor.ts";
import type { InboundEnvelope, Peer } from "../p2p/reactor_api.ts";

const CH = 0x20;
/** Largest number of 64 KiB trySends a blocked receiver may absorb before the sender is full. */
const FILL_LIMIT = 2000;

async function stopAll(...nodes: TestNode[]): Promise<void> {
  for (const n of nodes) await n.stop();
  assertGrammar(...nodes);
}

function node(hooks: Hooks = {}, extra: MakeNodeOptions = {}): Promise<TestNode> {
  return makeNode({ reactors: [new HookReactor("hooked", [bytesChannel(CH)], hooks)], ...extra });
}

function valueOf(env: InboundEnvelope): Uint8Array {
  return (env.message as { value?: Uint8Array }).value ?? new Uint8Array();
}

async function connect(a: TestNode, b: TestNode): Promise<void> {
  await a.sw.dialPeerWithAddress(b.addr);
  await waitFor(() => b.sw.peers().has(a.key.id), "inbound peer");
}

/** trySends 64 KiB messages from `a` to `b` until the queue is full; returns how many went. */
function fillUntilFull(a: TestNode, b: TestNode, tag: number): number {
  const p = a.sw.peers().get(b.key.id)!;
  for (let i = 0; i < FILL_LIMIT; i++) {
    const value = payload(64 * 1024, tag + i);
    value[0] = i & 0xff;
    if (!p.trySend({ channelId: CH, message: { value } })) return i;
  }
  throw new Error(`sender never felt backpressure after ${FILL_LIMIT} messages`);
}

Deno.test("async receive: the peer's next message waits for the promise, its reads pause, the sender fills up; order kept; other peers flow", async () => {
  const gate = Promise.withResolvers<void>();
  let calls = 0;
  let gated = true;
  const seen: number[] = [];
  const b = await node({
    receive: async (env) => {
      calls++;
      if (env.src.id === a.key.id) seen.push(valueOf(env)[0]);
      if (gated && env.src.id === a.key.id) await gate.promise;
    },
  });
  const a = await node();
  const c = await node();
  try {
    await connect(a, b);
    await connect(c, b);
    const sent = fillUntilFull(a, b, 1);
    const pb = b.sw.peers().get(a.key.id)!;
    await waitFor(() => pb.receivePaused, "b's reads from a are paused");
    assertEquals(seen.length, 1, "only the first message reached the reactor");
    // c is not held up by a's pending receive.
    const pc = c.sw.peers().get(b.key.id)!;
    assert(await pc.send({ channelId: CH, message: { value: new Uint8Array([7]) } }));
    const rb = b.reactors[0];
    await waitFor(() => rb.received.get(CH)?.some((v) => v.length === 1 && v[0] === 7) ?? false);
    gated = false;
    gate.resolve();
    await waitFor(() => seen.length === sent, "every message of a delivered");
    assertEquals(seen, Array.from({ length: sent }, (_, i) => i & 0xff), "order per peer kept");
    assert(calls >= sent + 1);
  } finally {
    gate.resolve();
    await stopAll(a, b, c);
  }
});

Deno.test("waiting senders per peer are bounded: past maxWaitingSends, send returns false at once", async () => {
  const gate = Promise.withResolvers<void>();
  const b = await node({ receive: () => gate.promise });
  const a = await node({}, { config: { mconnConfig: { maxWaitingSends: 2 } } });
  try {
    await connect(a, b);
    fillUntilFull(a, b, 3);
    const p = a.sw.peers().get(b.key.id)!;
    const msg = { channelId: CH, message: { value: new Uint8Array([1]) } };
    const waiting = [p.send(msg, { timeoutMs: 60_000 }), p.send(msg, { timeoutMs: 60_000 })];
    assertEquals(p.waitingSends, 2);
    const refused = await Promise.all([p.send(msg), p.send(msg), p.send(msg)]);
    assertEquals(refused, [false, false, false]);
    assertEquals(p.sendFailures.too_many_waiting, 3);
    gate.resolve();
    assertEquals(await Promise.all(waiting), [true, true], "the waiting ones get through");
  } finally {
    gate.resolve();
    await stopAll(a, b);
  }
});

type Callback = "initPeer" | "addPeer" | "receive" | "removePeer";
const CALLBACKS: Callback[] = ["initPeer", "addPeer", "receive", "removePeer"];

/** A reactor whose `cb` misbehaves as `how`, for the peer whose ID `target()` returns. */
function misbehaving(
  cb: Callback,
  how: "throw" | "reject" | "stopPeerForError",
  target: () => string,
): HookReactor {
  const reactor = new HookReactor("hooked", [bytesChannel(CH)]);
  const act = (peer: Peer): void | Promise<void> => {
    if (peer.id !== target()) return;
    if (how === "throw") throw new Error(`${cb} throws`);
    if (how === "reject") return Promise.reject(new Error(`${cb} rejects`));
    // Awaited (returned): stopping a peer from inside its own callback must not wait on itself.
    return reactor.switch!.stopPeerForError(peer, new Error(`${cb} stops the peer`));
  };
  if (cb === "receive") reactor.hooks.receive = (env) => act(env.src);
  else if (cb === "removePeer") reactor.hooks.removePeer = (p) => act(p);
  else reactor.hooks[cb] = (p) => act(p);
  return reactor;
}

for (const cb of CALLBACKS) {
  for (const how of ["throw", "reject", "stopPeerForError"] as const) {
    Deno.test(`callbacks: ${cb} that ${how === "stopPeerForError" ? "calls stopPeerForError" : how + "s"} stops only that peer, never the process`, async () => {
      let target = "";
      const reactor = misbehaving(cb, how, () => target);
      const b = await makeNode({ reactors: [reactor] });
      const a = await node();
      target = a.key.id;
      const c = await node();
      try {
        await a.sw.dialPeerWithAddress(b.addr).catch(() => {});
        if (cb === "receive") {
          await waitFor(() => b.sw.peers().has(a.key.id), "a added");
          await a.sw.peers().get(b.key.id)?.send({
            channelId: CH,
            message: { value: new Uint8Array([1]) },
          });
        }
        if (cb === "removePeer") {
          await waitFor(() => b.sw.peers().has(a.key.id), "a added");
          await a.sw.stopPeerGracefully(a.sw.peers().get(b.key.id)!);
        }
        await waitFor(() => reactor.removed.length === 1, "b removes a");
        const reason = reactor.removed[0].reason;
        if (cb === "removePeer") assertEquals(reason.kind, "connection_error");
        else {
          assertEquals(reason.kind, "protocol_violation");
          if (how !== "stopPeerForError") {
            assertEquals((reason as { reactor?: string }).reactor, "hooked");
          }
        }
        if (cb === "initPeer") assertEquals(reactor.added.length, 0, "never added");
        assertEquals(b.sw.peers().has(a.key.id), false);
        // b still works: another node connects and is served.
        await connect(c, b);
        assert(b.sw.isRunning);
      } finally {
        await stopAll(a, b, c);
      }
    });
  }
}
