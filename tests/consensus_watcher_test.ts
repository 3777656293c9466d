import { assert, assertEquals, assertThrows } from "./util/assert.ts";
import { waitFor } from "./util/p2p_harness.ts";
import { link, type ReactorNode, startNode, stopNodes } from "./util/reactor_node.ts";
import { encode } from "../p2p/proto.ts";
import {
  consensusMessageType,
  int64ToBigInt,
  InvalidConsensusMessageError,
  newRoundStepMessage,
  validateNewRoundStep,
  validateOtherScalars,
} from "../reactors/consensus_msgs.ts";
import {
  CONSENSUS_STATE_CHANNEL,
  ConsensusWatcher,
  PEER_STATE_KEY,
} from "../reactors/consensus_watcher.ts";
import {
  netInfoConsensusHeight,
  peerHeightOf,
  PeerState,
  RoundStep,
} from "../reactors/peer_state.ts";
import { TxRelay } from "../reactors/tx_relay.ts";
import { lineProfile } from "../p2p/cometbft_line.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

Deno.test("consensus msgs: Go vectors (TestConsMsgsVectors) encode and decode", () => {
  const T = consensusMessageType();
  const v = encode(T, {
    new_round_step: {
      height: 1,
      round: 1,
      step: 1,
      seconds_since_start_time: 1,
      last_commit_round: 1,
    },
  });
  assertEquals(hex(v), "0a0a08011001180120012801");
  const max = T.decode(
    unhex("0a2608ffffffffffffffff7f10ffffffff0718ffffffff0f20ffffffffffffffff7f28ffffffff07"),
  ) as unknown as { new_round_step: Record<string, unknown> };
  assertEquals(int64ToBigInt(max.new_round_step.height), 2n ** 63n - 1n);
  assertEquals(max.new_round_step.step, 4294967295);
  // Our announcement at the initial height: lcr −1 as a 10-byte varint (spec §11.1).
  assertEquals(hex(encode(T, newRoundStepMessage(1n, 1n))), "0a0f0801180128ffffffffffffffffff01");
  assertEquals(hex(encode(T, newRoundStepMessage(7n, 1n))), "0a04080718" + "01");
  // Heights beyond 2^53 round-trip exactly.
  const big = 2n ** 62n + 3n;
  const back = T.decode(encode(T, newRoundStepMessage(big, 1n))) as unknown as {
    new_round_step: { height: unknown };
  };
  assertEquals(int64ToBigInt(back.new_round_step.height), big);
});

Deno.test("consensus msgs: NewRoundStep validation matches Go's ValidateBasic + ValidateHeight", () => {
  const ok = (h: number, lcr: number, init = 1n, step = 1, round = 0) =>
    validateNewRoundStep({ height: h, round, step, last_commit_round: lcr }, init);
  assertEquals(ok(1, -1).height, 1n);
  assertEquals(ok(5, 0).height, 5n);
  assertEquals(ok(10, -1, 10n, 8, 2).step, RoundStep.Commit);
  assertEquals(ok(11, 0, 10n).height, 11n);
  const bad: [Record<string, unknown>, bigint, string][] = [
    [{ height: -1, step: 1, last_commit_round: -1 }, 1n, "negative Height"],
    [{ height: 2, round: -1, step: 1 }, 1n, "negative Round"],
    [{ height: 2, step: 0 }, 1n, "invalid Step"],
    [{ height: 2, step: 9 }, 1n, "invalid Step"],
    [{ height: 2, step: 256 }, 1n, "overflow"],
    [{ height: 2, step: 1, last_commit_round: -2 }, 1n, "cannot be < -1"],
    [{ height: 0, step: 1, last_commit_round: -1 }, 1n, "lower than initial height"],
    [{ height: 5, step: 1, last_commit_round: -1 }, 10n, "lower than initial height"],
    [{ height: 1, step: 1, last_commit_round: 0 }, 1n, "must be -1 for initial height"],
    [{ height: 2, step: 1, last_commit_round: -1 }, 1n, "can only be negative"],
  ];
  for (const [m, init, text] of bad) {
    const e = assertThrows(() => validateNewRoundStep(m, init), InvalidConsensusMessageError);
    assert(e.message.includes(text), `${JSON.stringify(m)}: ${e.message}`);
  }
  // Other variants: scalar checks only.
  validateOtherScalars("has_vote", { height: 3, round: 0, type: 2, index: 0 });
  validateOtherScalars("proposal", { proposal: new Uint8Array([1]) });
  assertThrows(() => validateOtherScalars("has_vote", { height: 3, type: 3 }), Error, "Type");
  assertThrows(() => validateOtherScalars("block_part", { height: -4 }), Error, "Height");
  assertThrows(
    () => validateOtherScalars("proposal_pol", { height: 1, proposal_pol_round: -1 }),
    Error,
    "ProposalPOLRound",
  );
});

Deno.test("peer state: only strictly greater (height, round, step) applies", () => {
  let now = 1_000_000;
  const st = new PeerState("p", () => now);
  assertEquals([st.getHeight(), st.round, st.step], [0, -1, 0]);
  const m = (height: bigint, round: number, step: number) => ({
    height,
    round,
    step,
    secondsSinceStartTime: 2n,
    lastCommitRound: 0,
  });
  assert(st.applyNewRoundStep(m(3n, 0, 1)));
  assert(!st.applyNewRoundStep(m(3n, 0, 1)), "duplicate ignored");
  assert(!st.applyNewRoundStep(m(2n, 5, 8)), "lower height ignored");
  assert(st.applyNewRoundStep(m(3n, 0, 4)));
  assert(!st.applyNewRoundStep(m(3n, 0, 3)), "lower step ignored");
  now = 2_000_000;
  assert(st.applyNewRoundStep(m(3n, 1, 1)), "higher round applies with a lower step");
  assertEquals(st.snapshot(), {
    height: "3",
    round: 1,
    step: 1,
    stepName: "RoundStepNewHeight",
    startTime: new Date(2_000_000 - 2000).toISOString(),
    updates: 3,
  });
  assertEquals(peerHeightOf({ get: () => st }), 3);
  assertEquals(peerHeightOf({ get: () => undefined }), undefined);
  assertEquals(netInfoConsensusHeight({ get: () => st }), "3");
  assertEquals(netInfoConsensusHeight({ get: () => ({ getHeight: () => 4 }) }), "4");
  assertEquals(netInfoConsensusHeight({ get: () => undefined }), undefined);
});

/** Sends raw bytes on 0x20 from `from` to its peer `to`. */
function inject(from: ReactorNode, to: ReactorNode, bytes: Uint8Array): boolean {
  const p = from.sw.peers().get(to.key.id);
  assert(p, "peer present");
  return p.trySendBytes(CONSENSUS_STATE_CHANNEL, bytes, "test");
}

function nrs(height: number, round = 0, step = 1, lcr = 0): Uint8Array {
  return encode(consensusMessageType(), {
    new_round_step: { height, round, step, last_commit_round: lcr },
  });
}

Deno.test("watcher: records peer heights, announces the highest one, tolerates other variants, stops peers for invalid NewRoundStep", async () => {
  const wa = new ConsensusWatcher();
  const wc = new ConsensusWatcher({ announce: false });
  const wd = new ConsensusWatcher();
  const a = await startNode({ consensus_watcher: wa, tx_relay: new TxRelay() }, { moniker: "a" });
  const c = await startNode({ consensus_watcher: wc }, { moniker: "c" });
  // d runs a mempool-only node info: it never advertises 0x20, so it must get nothing there.
  const d = await startNode(
    { consensus_watcher: wd, tx_relay: new TxRelay() },
    { moniker: "d", advertise: [0x30] },
  );
  const heightEvents: bigint[] = [];
  wa.onHeight((ev) => heightEvents.push(ev.height));
  try {
    await link(c, a);
    await link(d, a);
    const cAtA = a.sw.peers().get(c.key.id)!;
    assert(cAtA.get(PEER_STATE_KEY) instanceof PeerState, "initPeer stored the state");
    assertEquals(wa.consensusHeight(c.key.id), "0");
    assertEquals(wa.maxHeight, 0n, "nothing announced before a height is known");

    assert(inject(c, a, nrs(5, 0, 3)));
    await waitFor(() => wa.maxHeight === 5n, "a learns height 5");
    assertEquals(peerHeightOf(cAtA), 5);
    assertEquals(netInfoConsensusHeight(cAtA), "5");
    // a announces 5 to c (which advertises 0x20) …
    await waitFor(() => wc.peerState(a.key.id)?.height === 5n, "c hears a's announcement");
    assertEquals(wc.peerState(a.key.id)!.snapshot().step, 1);
    // … and not to d, which did not advertise 0x20 (no send attempted at all).
    const dAtA = a.sw.peers().get(d.key.id)!;
    assertEquals(dAtA.sendFailures.channel_not_advertised, 0);
    assertEquals(wd.peerState(a.key.id)?.updates, 0);

    // Other consensus variants are tolerated and ignored; a lower NewRoundStep is ignored.
    const T = consensusMessageType();
    for (
      const m of [
        { has_vote: { height: 5, round: 0, type: 1, index: 2 } },
        { proposal: { proposal: new Uint8Array([1, 2, 3]) } },
        { vote: { vote: new Uint8Array([9]) } },
        { vote_set_maj23: { height: 5, round: 0, type: 2 } },
        { new_valid_block: { height: 5, round: 0, is_commit: true } },
      ]
    ) assert(inject(c, a, encode(T, m)));
    assert(inject(c, a, nrs(4, 2, 8)));
    assert(inject(c, a, nrs(6, 0, 1)));
    await waitFor(() => wa.maxHeight === 6n, "a learns height 6");
    assertEquals(wa.peerState(c.key.id)!.updates, 2, "the lower message was not applied");
    await waitFor(() => wc.peerState(a.key.id)?.height === 6n, "a re-announced on the rise");
    assertEquals(heightEvents, [5n, 6n]);

    // Invalid: step 9 → a stops c for error.
    assert(inject(c, a, nrs(7, 0, 9)));
    await waitFor(() => !a.sw.peers().has(c.key.id), "c stopped");
    assertEquals(wa.invalidMessages, 1);
    assert(a.errors.some((l) => l.includes("invalid Step")), a.errors.join("\n"));
    assertEquals(wa.consensusHeight(c.key.id), undefined, "state dropped on removePeer");
    assertEquals(wa.maxHeight, 6n);
  } finally {
    await stopNodes(c, d, a);
  }
});

Deno.test("watcher: an empty oneof and a lower-than-initial height both disconnect", async () => {
  const wa = new ConsensusWatcher({ initialHeight: 10 });
  const a = await startNode({ consensus_watcher: wa });
  const b = await startNode({ consensus_watcher: new ConsensusWatcher({ initialHeight: 10 }) });
  const c = await startNode({ consensus_watcher: new ConsensusWatcher({ initialHeight: 10 }) });
  try {
    await link(b, a);
    await link(c, a);
    // Zero bytes decode to a Message with no member: the switch stops b.
    assert(inject(b, a, new Uint8Array()));
    // Height 9 < initial height 10 (with a valid lcr): the watcher stops c.
    assert(inject(c, a, nrs(9, 0, 1, 0)));
    await waitFor(() => a.sw.peers().size === 0, "both stopped");
    assertEquals(wa.invalidMessages, 1, "only c's message reached the watcher");
    assertEquals(wa.maxHeight, 0n);
  } finally {
    await stopNodes(b, c, a);
  }
});

Deno.test("watcher: a oneof member unknown to our line is ignored and counted; malformed still disconnects", async () => {
  // a speaks v0.38 (the default); b sends what a v1.0 node sends.
  const wa = new ConsensusWatcher();
  const a = await startNode({ consensus_watcher: wa }, { moniker: "a" });
  const b = await startNode(
    { consensus_watcher: new ConsensusWatcher({ line: lineProfile("v1.0") }) },
    { moniker: "b" },
  );
  const c = await startNode({ consensus_watcher: new ConsensusWatcher() }, { moniker: "c" });
  const v1 = consensusMessageType(lineProfile("v1.0"));
  try {
    await link(b, a);
    await link(c, a);
    // v1.0 HasProposalBlockPart (field 10), and an invented field 15 of a future line.
    assert(
      inject(b, a, encode(v1, { has_proposal_block_part: { height: 3, round: 0, index: 1 } })),
    );
    assert(inject(b, a, Uint8Array.of(0x7a, 0x02, 0x08, 0x01)));
    assert(inject(b, a, nrs(3, 0, 1)));
    await waitFor(() => wa.maxHeight === 3n, "a still hears b after the unknown messages");
    assertEquals(wa.unknownMessages, 2);
    assertEquals(wa.invalidMessages, 0);
    assert(a.sw.peers().has(b.key.id), "b stays connected");
    // Malformed (a field 10 whose length runs past the end): the switch stops c.
    assert(inject(c, a, Uint8Array.of(0x52, 0x05, 0x08)));
    await waitFor(() => !a.sw.peers().has(c.key.id), "c stopped for malformed bytes");
    assert(a.sw.peers().has(b.key.id));
    assertEquals(wa.unknownMessages, 2);
  } finally {
    await stopNodes(b, c, a);
  }
});
