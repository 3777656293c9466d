import { assertEquals, assertStringIncludes } from "./util/assert.ts";
import {
  checkReactorGrammar,
  checkSwitchGrammar,
  type ReactorEvent,
} from "./util/reactor_grammar.ts";

const REG: ReactorEvent[] = [
  { call: "getChannels", channels: [0x20, 0x21] },
  { call: "setSwitch" },
  { call: "start" },
];
const STOP: ReactorEvent = { call: "stop" };
const shutdown = { kind: "shutdown" } as const;

function messages(events: ReactorEvent[], final = true): string[] {
  return checkReactorGrammar(events, { final }).map((v) => v.message);
}

Deno.test("grammar: a well-formed trace with two interleaved peers and a reconnect passes", () => {
  const trace: ReactorEvent[] = [
    ...REG,
    { call: "initPeer", peer: "a#1" },
    { call: "receive", peer: "a#1", channelId: 0x20 }, // before addPeer: allowed
    { call: "addPeer", peer: "a#1" },
    { call: "initPeer", peer: "b#2" },
    { call: "receive", peer: "a#1", channelId: 0x21 },
    { call: "addPeer", peer: "b#2" },
    { call: "removePeer", peer: "a#1", reason: shutdown },
    { call: "initPeer", peer: "a#3" }, // same node, new connection
    { call: "addPeer", peer: "a#3" },
    { call: "getChannels", channels: [0x20, 0x21] },
    { call: "removePeer", peer: "a#3", reason: shutdown },
    { call: "removePeer", peer: "b#2", reason: shutdown },
    STOP,
  ];
  assertEquals(messages(trace), []);
});

Deno.test("grammar: a peer that failed to start (init, remove, no add) passes", () => {
  assertEquals(
    messages([...REG, { call: "initPeer", peer: "a#1" }, {
      call: "removePeer",
      peer: "a#1",
      reason: shutdown,
    }, STOP]),
    [],
  );
});

Deno.test("grammar: receive after removePeer is caught", () => {
  const v = messages([
    ...REG,
    { call: "initPeer", peer: "a#1" },
    { call: "addPeer", peer: "a#1" },
    { call: "removePeer", peer: "a#1", reason: shutdown },
    { call: "receive", peer: "a#1", channelId: 0x20 },
    STOP,
  ]);
  assertEquals(v.length, 1);
  assertStringIncludes(v[0], "receive from a#1 after removePeer");
});

Deno.test("grammar: receive on a channel the reactor does not own is caught", () => {
  const v = messages([
    ...REG,
    { call: "initPeer", peer: "a#1" },
    { call: "receive", peer: "a#1", channelId: 0x30 },
    { call: "removePeer", peer: "a#1", reason: shutdown },
    STOP,
  ]);
  assertEquals(v, ["receive on channel 0x30 the reactor does not own"]);
});

Deno.test("grammar: receive or addPeer without initPeer is caught", () => {
  const v = messages([
    ...REG,
    { call: "receive", peer: "a#1", channelId: 0x20 },
    { call: "addPeer", peer: "b#1" },
    { call: "removePeer", peer: "b#1", reason: shutdown },
    STOP,
  ]);
  assertEquals(v, ["receive from a#1 without initPeer", "addPeer(b#1) without initPeer"]);
});

Deno.test("grammar: duplicate initPeer/addPeer/removePeer and addPeer after remove are caught", () => {
  const v = messages([
    ...REG,
    { call: "initPeer", peer: "a#1" },
    { call: "initPeer", peer: "a#1" },
    { call: "addPeer", peer: "a#1" },
    { call: "addPeer", peer: "a#1" },
    { call: "removePeer", peer: "a#1", reason: shutdown },
    { call: "removePeer", peer: "a#1", reason: shutdown },
    { call: "addPeer", peer: "a#1" },
    STOP,
  ]);
  assertEquals(v, [
    "initPeer(a#1) twice for one peer connection",
    "addPeer(a#1) twice",
    "removePeer(a#1) twice",
    "addPeer(a#1) after removePeer",
  ]);
});

Deno.test("grammar: registration and start/stop order are checked", () => {
  assertEquals(messages([{ call: "start" }, STOP]), [
    "start before registration (getChannels, setSwitch)",
  ]);
  assertEquals(
    messages([
      { call: "getChannels", channels: [] },
      { call: "setSwitch" },
      { call: "initPeer", peer: "a#1" },
      { call: "start" },
      { call: "setSwitch" },
      { call: "start" },
      { call: "removePeer", peer: "a#1", reason: shutdown },
      STOP,
      { call: "getChannels", channels: [] },
    ]),
    [
      "initPeer(a#1) before start",
      "setSwitch called twice",
      "setSwitch after start",
      "start called twice",
      "getChannels after stop",
    ],
  );
  assertEquals(messages([STOP]), [
    "stop before start",
  ]);
});

Deno.test("grammar: stop with a peer still connected, and a trace without stop, are caught", () => {
  assertEquals(
    messages([...REG, { call: "initPeer", peer: "a#1" }, { call: "addPeer", peer: "a#1" }, STOP]),
    ["stop while peer a#1 is added (no removePeer)"],
  );
  assertEquals(messages([...REG]), ["trace ends without stop"]);
  // A non-final check accepts an unfinished trace.
  assertEquals(messages([...REG, { call: "initPeer", peer: "a#1" }], false), []);
});

// ---- by node ID, async callbacks, start bracketing, several reactors --------------------------

Deno.test("grammar: a second connection of one node before the first's removePeer is caught", () => {
  assertEquals(
    messages([
      ...REG,
      { call: "initPeer", peer: "a#1" },
      { call: "addPeer", peer: "a#1" },
      { call: "initPeer", peer: "a#2" },
      { call: "removePeer", peer: "a#2", reason: shutdown },
      { call: "removePeer", peer: "a#1", reason: shutdown },
      STOP,
    ]),
    ["initPeer(a#2) while a#1 of the same node is not removed"],
  );
});

Deno.test("grammar: peer callbacks before start resolved or after a failed start are caught", () => {
  assertEquals(
    messages([
      ...REG,
      { call: "initPeer", peer: "a#1" },
      { call: "started", ok: true },
      { call: "removePeer", peer: "a#1", reason: shutdown },
      STOP,
    ]),
    ["initPeer(a#1) before start resolved"],
  );
  assertEquals(
    messages([...REG, { call: "started", ok: false }, { call: "initPeer", peer: "a#1" }, STOP]),
    [
      "initPeer(a#1) after a failed start",
      "stop after a failed start",
      "stop while peer a#1 is initialized (no removePeer)",
    ],
  );
  // A failed start ends the trace; a reactor never started has nothing to answer for.
  assertEquals(messages([...REG, { call: "started", ok: false }]), []);
  assertEquals(messages([{ call: "getChannels", channels: [] }, { call: "setSwitch" }]), []);
});

Deno.test("grammar: a receive or removePeer while that peer's callback is pending is caught", () => {
  assertEquals(
    messages([
      ...REG,
      { call: "initPeer", peer: "a#1", async: true },
      { call: "addPeer", peer: "a#1" },
      { call: "settled", of: "initPeer", peer: "a#1" },
      { call: "receive", peer: "a#1", channelId: 0x20, async: true },
      { call: "receive", peer: "a#1", channelId: 0x20 },
      { call: "removePeer", peer: "a#1", reason: shutdown },
      { call: "settled", of: "receive", peer: "a#1" },
      STOP,
    ]),
    [
      "addPeer(a#1) while initPeer pending",
      "receive from a#1 while its previous receive is pending",
      "removePeer(a#1) while receive pending",
    ],
  );
});

Deno.test("grammar: across reactors, starts and per-peer calls follow registration order", () => {
  let seq = 0;
  const ev = (e: ReactorEvent): ReactorEvent => ({ ...e, seq: ++seq });
  const r1: ReactorEvent[] = [];
  const r2: ReactorEvent[] = [];
  const reg = (t: ReactorEvent[]) => {
    t.push(ev({ call: "getChannels", channels: [0x20] }), ev({ call: "setSwitch" }));
  };
  reg(r1);
  reg(r2);
  r2.push(ev({ call: "start" })); // r2 starts before r1
  r1.push(ev({ call: "start" }), ev({ call: "started", ok: true }));
  r2.push(ev({ call: "started", ok: true }));
  r1.push(ev({ call: "initPeer", peer: "a#1" }), ev({ call: "addPeer", peer: "a#1" })); // r2 not inited
  r2.push(ev({ call: "initPeer", peer: "a#1" }), ev({ call: "addPeer", peer: "a#1" }));
  r2.push(ev({ call: "removePeer", peer: "a#1", reason: shutdown }));
  r1.push(ev({ call: "removePeer", peer: "a#1", reason: shutdown }));
  r1.push(ev({ call: "stop" }));
  r2.push(ev({ call: "stop" }));
  assertEquals(checkSwitchGrammar([{ name: "one", events: r1 }, { name: "two", events: r2 }]), [
    "start of two out of registration order",
    "start of two before the previous start resolved",
    "start of one out of registration order",
    "addPeer(a#1) on one before every reactor's initPeer",
    "initPeer(a#1) on two after addPeer on one",
    "removePeer(a#1) on one out of registration order",
  ]);
});
