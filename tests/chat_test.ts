import { assert, assertEquals, assertRejects, assertThrows } from "./util/assert.ts";
import { waitFor } from "./util/p2p_harness.ts";
import { link, type ReactorNode, startNode, stopNodes } from "./util/reactor_node.ts";
import { encode, protoType } from "../p2p/proto.ts";
import {
  CHAT_CHANNEL,
  type ChatLine,
  ChatPeerState,
  chatPeerState,
  ChatReactor,
  InvalidChatTextError,
  MalformedChatLineError,
  parseLine,
  validateChatText,
} from "../reactors/chat.ts";
import { TxRelay } from "../reactors/tx_relay.ts";
import type { Reactor } from "../p2p/reactor.ts";

interface ChatNode {
  node: ReactorNode;
  chat: ChatReactor;
  lines: ChatLine[];
  good: string[];
}

/** Starts a node running a chat reactor that takes its ID and moniker from the switch. */
async function startChat(
  moniker: string,
  goodAfter = 10,
  extra: Record<string, Reactor> = {},
): Promise<ChatNode> {
  const lines: ChatLine[] = [];
  const good: string[] = [];
  const chat = new ChatReactor({ onLine: (l) => lines.push(l), linesToBecomeGoodPeer: goodAfter });
  const node = await startNode({ chat, ...extra }, {
    moniker,
    addrBook: { markGood: (id) => good.push(id) },
  });
  assertEquals([chat.nodeId, chat.moniker], [node.key.id, moniker]);
  return { node, chat, lines, good };
}

const texts = (n: ChatNode) => n.lines.map((l) => `${l.moniker}: ${l.text}`);

Deno.test("chat: text validation and line parsing", () => {
  validateChatText("hello, world ✓");
  assertThrows(() => validateChatText(""), InvalidChatTextError, "empty");
  assertThrows(() => validateChatText("a\nb"), InvalidChatTextError, "control");
  assertThrows(() => validateChatText("é".repeat(501)), InvalidChatTextError, "1002 bytes");
  const ok = {
    id: new Uint8Array(16).fill(7),
    origin: "ab".repeat(20),
    moniker: "node-1",
    text: "hi",
    sent_at_ms: 5,
  };
  assertEquals(parseLine(ok, "peer"), {
    id: "07".repeat(16),
    origin: "ab".repeat(20),
    moniker: "node-1",
    text: "hi",
    sentAtMs: 5,
    via: "peer",
  });
  for (
    const [bad, text] of [
      [{ ...ok, id: new Uint8Array(15) }, "id is 15 bytes"],
      [{ ...ok, origin: "xyz" }, "origin"],
      [{ ...ok, moniker: "" }, "moniker"],
      [{ ...ok, moniker: "tab\there" }, "moniker"],
      [{ ...ok, text: "" }, "empty"],
    ] as const
  ) {
    assertThrows(() => parseLine(bad), MalformedChatLineError, text);
  }
});

Deno.test("chat: three nodes in a line — a line typed at one end is printed once at each node", async () => {
  const a = await startChat("alpha", 2);
  const b = await startChat("bravo", 2);
  const c = await startChat("charlie", 2);
  const all = [a, b, c];
  try {
    await link(a.node, b.node);
    await link(b.node, c.node);
    const r1 = await a.chat.say("hello from alpha");
    assertEquals(r1.peers, 1);
    await waitFor(() => c.lines.length === 1, "line at charlie");
    const r2 = await c.chat.say("hi alpha, charlie here");
    assertEquals(r2.peers, 1);
    await waitFor(() => a.lines.length === 2, "reply at alpha");
    // A third line makes sure no duplicate of the first two is still in flight: lines on one
    // channel of one connection arrive in order.
    await a.chat.say("bye");
    await waitFor(() => c.lines.length === 3 && b.lines.length === 3, "bye everywhere");
    for (const n of all) {
      assertEquals(texts(n), [
        "alpha: hello from alpha",
        "charlie: hi alpha, charlie here",
        "alpha: bye",
      ], n.chat.moniker);
    }
    assertEquals(a.lines[0].via, undefined, "our own line is printed locally");
    assertEquals(b.lines[0].via, a.node.key.id);
    assertEquals(c.lines[0].origin, a.node.key.id);
    // bravo got two new lines from alpha and one from charlie: alpha marked good (every 2).
    assertEquals(b.good, [a.node.key.id]);
    // The per-peer state is in the peer's key/value store.
    const st = chatPeerState(b.node.sw.peers().get(c.node.key.id)!);
    assert(st instanceof ChatPeerState);
    assertEquals(st.useful, 1);
  } finally {
    await stopNodes(...all.map((n) => n.node));
  }
});

Deno.test("chat: in a triangle each node still prints each line once", async () => {
  const a = await startChat("a");
  const b = await startChat("b");
  const c = await startChat("c");
  try {
    await link(a.node, b.node);
    await link(b.node, c.node);
    await link(c.node, a.node);
    for (let i = 0; i < 5; i++) await [a, b, c][i % 3].chat.say(`line ${i}`);
    await waitFor(() => [a, b, c].every((n) => n.lines.length === 5), "5 lines everywhere");
    // Flush any copies still in flight with a marker line from each node.
    for (const n of [a, b, c]) await n.chat.say(`end ${n.chat.moniker}`);
    await waitFor(() => [a, b, c].every((n) => n.lines.length === 8), "8 lines everywhere");
    for (const n of [a, b, c]) {
      assertEquals(new Set(n.lines.map((l) => l.id)).size, 8, "no line printed twice");
    }
  } finally {
    await stopNodes(a.node, b.node, c.node);
  }
});

Deno.test("chat: a malformed line stops the sender; nodes without the channel are skipped", async () => {
  const a = await startChat("a", 10, { tx_relay: new TxRelay() });
  const bad = await startChat("bad");
  const relay = await startNode({ tx_relay: new TxRelay() }, { moniker: "mempool-only" });
  try {
    await link(bad.node, a.node);
    await link(relay, a.node);
    const T = protoType("switchyard.chat.Message");
    const msg = encode(T, {
      line: { id: new Uint8Array(3), origin: bad.node.key.id, moniker: "bad", text: "x" },
    });
    const p = bad.node.sw.peers().get(a.node.key.id)!;
    assert(p.trySendBytes(CHAT_CHANNEL, msg, "test"));
    await waitFor(() => !a.node.sw.peers().has(bad.node.key.id), "bad peer stopped");
    assert(a.node.errors.some((l) => l.includes("id is 3 bytes")), a.node.errors.join("\n"));
    // The mempool-only peer does not advertise 0x7C: broadcast reports false for it.
    const r = await a.chat.say("anyone?");
    assertEquals(r.peers, 0);
    assertEquals(a.lines.length, 1);
    await assertRejects(() => a.chat.say(""), InvalidChatTextError);
  } finally {
    await stopNodes(bad.node, relay, a.node);
  }
});

Deno.test("chat: a burst larger than the send queue reaches the far end complete and in order", async () => {
  const a = await startChat("a");
  const b = await startChat("b");
  const c = await startChat("c");
  try {
    await link(a.node, b.node);
    await link(b.node, c.node);
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => a.chat.say(`burst ${i}`)));
    await waitFor(() => c.lines.length === n, `${n} lines at c`);
    assertEquals(c.lines.map((l) => l.text), a.lines.map((l) => l.text), "same order as sent");
    const st = chatPeerState(b.node.sw.peers().get(c.node.key.id)!)!;
    assertEquals(st.dropped, 0);
    await waitFor(() => st.backlog.length === 0, "backlog drained");
  } finally {
    await stopNodes(a.node, b.node, c.node);
  }
});
