import { assertEquals, assertStringIncludes } from "./util/assert.ts";
import { checkReactorGrammar, type ReactorEvent } from "./util/reactor_grammar.ts";

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
