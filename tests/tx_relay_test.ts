import { assert, assertEquals, assertThrows } from "./util/assert.ts";
import { waitFor } from "./util/p2p_harness.ts";
import { link, type ReactorNode, startNode, stopNodes } from "./util/reactor_node.ts";
import { encode, protoType } from "../p2p/proto.ts";
import {
  filterMempoolMsgBytes,
  MempoolFilterError,
  txsMessageSize,
} from "../reactors/tx_filter.ts";
import { TxCache, txHash } from "../reactors/tx_cache.ts";
import {
  EmptyTxError,
  MEMPOOL_CHANNEL,
  TxInCacheError,
  TxRelay,
  TxTooLargeError,
} from "../reactors/tx_relay.ts";
import { ConsensusWatcher } from "../reactors/consensus_watcher.ts";
import { consensusMessageType } from "../reactors/consensus_msgs.ts";
import { txFromArgs } from "../cmd/broadcast_tx.ts";
import { UsageError } from "../config/mod.ts";

const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("tx filter: Go's raw-bytes rules and mempool vectors", () => {
  // TestMempoolVectors.
  assertEquals(filterMempoolMsgBytes(unhex("0a030a017b"), 1024, 0), 1);
  assertEquals(
    filterMempoolMsgBytes(
      unhex("0a1b0a1970726f746f20656e636f64696e6720696e206d656d706f6f6c"),
      1024,
      0,
    ),
    1,
  );
  // Two txs, unknown fields skipped at both levels.
  assertEquals(
    filterMempoolMsgBytes(unhex("1001" + "0a08" + "0a017b" + "1801" + "0a0161"), 10, 0),
    2,
  );
  const bad: [string, number, number, string][] = [
    ["0a020a00", 10, 0, "empty transaction"],
    ["0a050a03616263", 2, 0, "exceeds max_tx_bytes 2"],
    ["0a080a0261610a026262", 3, 0, "exceeds 3 byte budget"],
    ["0a080a0261610a026262", 2, 3, "exceeds 3 byte budget"],
    ["0a050a03", 10, 0, "out of bounds"],
    ["0a", 10, 0, "truncated varint"],
    ["1a00", 10, 0, "no transactions"],
    ["0a00", 10, 0, "no transactions"],
    ["0b", 10, 0, "unsupported wire type"],
    ["00", 10, 0, "illegal field number"],
  ];
  for (const [h, maxTx, maxBatch, text] of bad) {
    const e = assertThrows(
      () => filterMempoolMsgBytes(unhex(h), maxTx, maxBatch),
      MempoolFilterError,
    );
    assert(e.message.includes(text), `${h}: ${e.message}`);
  }
  // max(max_tx_bytes, max_batch_bytes) bounds a batch: 4 bytes of txs fit a budget of 4.
  assertEquals(filterMempoolMsgBytes(unhex("0a080a0261610a026262"), 2, 4), 2);
  assertEquals(txsMessageSize(1048576), 1048576 + 8);
  const T = protoType("tendermint.mempool.Message");
  assertEquals(
    encode(T, { txs: { txs: [new Uint8Array(300)] } }).length,
    txsMessageSize(300),
  );
});

Deno.test("tx cache: LRU by SHA-256 with refresh on duplicates and sender sets", () => {
  const c = new TxCache(2);
  const a = c.push(utf8("a"), 1, "p1");
  assert(a.added);
  assertEquals(a.entry.hash.length, 64);
  assert(c.push(utf8("b"), 1).added);
  const again = c.push(utf8("a"), 5, "p2");
  assert(!again.added, "duplicate");
  assertEquals([...again.entry.senders], ["p1", "p2"]);
  assertEquals(again.entry.height, 1, "first admission's height kept");
  assert(c.push(utf8("c"), 1).added); // evicts b (a was refreshed)
  assertEquals(c.size, 2);
  assertEquals(c.evictions, 1);
  assert(c.has(a.entry.hash));
  assert(!c.push(utf8("c"), 1).added);
  assert(c.push(utf8("b"), 1).added, "b was evicted, so it is new again");
  assertEquals(txHash(utf8("hello")).length, 32);
});

Deno.test("tx relay: checkTx errors and the broadcast_tx_async result shape", async () => {
  const r = new TxRelay({ maxTxBytes: 8 });
  const route = r.routes().find((x) => x.name === "broadcast_tx_async")!;
  assertEquals(route.params, [{ name: "tx", type: "bytes" }]);
  assertEquals(await route.handler({ tx: utf8("hello") }), {
    code: 0,
    data: "",
    log: "",
    codespace: "",
    hash: "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
  });
  assertThrows(() => r.checkTx(utf8("hello")), TxInCacheError, "tx already exists in cache");
  assertThrows(
    () => r.checkTx(utf8("123456789")),
    TxTooLargeError,
    "Tx too large. Max size is 8, but got 9",
  );
  assertThrows(() => r.checkTx(new Uint8Array()), EmptyTxError);
  assertEquals(r.stats.submitted, 1);
});

/** Sends raw bytes on 0x30 from `from` to its peer `to` (waits for queue room). */
async function inject(from: ReactorNode, to: ReactorNode, bytes: Uint8Array): Promise<void> {
  const p = from.sw.peers().get(to.key.id);
  assert(p, "peer present");
  assert(await p.sendBytes(MEMPOOL_CHANNEL, bytes, "test"), "sent");
}

function hashOf(tx: Uint8Array): string {
  return Array.from(txHash(tx), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

Deno.test("tx relay: three nodes in a line relay each tx once, never echo, never re-send duplicates", async () => {
  const ra = new TxRelay();
  const rr = new TxRelay();
  const rb = new TxRelay();
  const a = await startNode({ tx_relay: ra }, { moniker: "a" });
  const r = await startNode({ tx_relay: rr }, { moniker: "r" });
  const b = await startNode({ tx_relay: rb }, { moniker: "b" });
  try {
    await link(a, r);
    await link(r, b);
    const tx1 = utf8("k1=v1");
    ra.checkTx(tx1);
    await waitFor(() => rb.cache.has(hashOf(tx1)), "tx1 at b");
    // A later tx from b travels b → r → a on the same FIFO channels an echo of tx1 would use,
    // so once it arrived every echo would have arrived too.
    const tx2 = utf8("k2=v2");
    rb.checkTx(tx2);
    await waitFor(() => ra.cache.has(hashOf(tx2)), "tx2 at a");
    assertEquals([ra.stats.received, ra.stats.duplicates], [1, 0], "a got tx2 only, no echo");
    assertEquals([rr.stats.received, rr.stats.duplicates], [2, 0]);
    assertEquals([rb.stats.received, rb.stats.duplicates], [1, 0]);
    assertEquals(rr.stats.relayed, 2, "one message per tx, to the one other peer");
    // A peer re-sending a known tx is not punished, and it is not relayed again.
    await inject(a, r, encode(protoType("tendermint.mempool.Message"), { txs: { txs: [tx1] } }));
    await waitFor(() => rr.stats.duplicates === 1, "duplicate counted");
    assertEquals(r.sw.peers().size, 2);
    assertEquals(rr.stats.relayed, 2);
  } finally {
    await stopNodes(a, b, r);
  }
});

function nrs(height: number): Uint8Array {
  return encode(consensusMessageType(), {
    new_round_step: { height, round: 0, step: 1, last_commit_round: height > 1 ? 0 : -1 },
  });
}

Deno.test("tx relay: height eligibility through the peer store, unknown-height policy, only 0x30 peers", async () => {
  const wr = new ConsensusWatcher();
  const rr = new TxRelay();
  const r = await startNode({ tx_relay: rr, consensus_watcher: wr }, { moniker: "relay" });
  // high: reports height 10; low: advertises 0x20 but never reports (announce off) until told;
  // plain: has no 0x20 (height unknowable → eligible); watchOnly: no 0x30 (never gets txs).
  const high = await startNode(
    { tx_relay: new TxRelay(), consensus_watcher: new ConsensusWatcher({ announce: false }) },
    { moniker: "high" },
  );
  const lowRelay = new TxRelay();
  const low = await startNode(
    { tx_relay: lowRelay, consensus_watcher: new ConsensusWatcher({ announce: false }) },
    { moniker: "low" },
  );
  const plainRelay = new TxRelay();
  const plain = await startNode({ tx_relay: plainRelay }, { moniker: "plain" });
  const watchOnly = await startNode({ consensus_watcher: new ConsensusWatcher() }, {
    moniker: "watch",
  });
  try {
    for (const n of [high, low, plain, watchOnly]) await link(n, r);
    const highAtR = high.sw.peers().get(r.key.id)!;
    assert(highAtR.trySendBytes(0x20, nrs(10), "test"));
    await waitFor(() => wr.maxHeight === 10n, "relay at height 10");

    const tx = utf8("eligible=later");
    rr.checkTx(tx); // stamped 9 (last block below height 10): peers need ≥ 8
    await waitFor(() => plainRelay.cache.has(hashOf(tx)), "plain peer got it");
    await waitFor(() => rr.stats.waitingForCatchup === 1, "low's loop waits");
    assert(!lowRelay.cache.has(hashOf(tx)), "low (height 0) has not got it");
    assertEquals(rr.queued().has(watchOnly.key.id), false, "no outbox for a peer without 0x30");

    const lowAtR = low.sw.peers().get(r.key.id)!;
    assert(lowAtR.trySendBytes(0x20, nrs(8), "test"));
    await waitFor(() => lowRelay.cache.has(hashOf(tx)), "low got it after reporting 8");
    assertEquals(rr.stats.waitingForCatchup, 0);
    const watchAtR = r.sw.peers().get(watchOnly.key.id)!;
    assertEquals(watchAtR.sendFailures.channel_not_advertised, 0, "nothing tried on 0x30");
  } finally {
    await stopNodes(high, low, plain, watchOnly, r);
  }
});

Deno.test("tx relay: malformed mempool messages stop the sender", async () => {
  const rr = new TxRelay({ maxTxBytes: 10 });
  const r = await startNode({ tx_relay: rr }, { moniker: "r" });
  const bad = [
    unhex("0a020a00"), // empty tx
    unhex("0a0d0a0b" + "61".repeat(11)), // 11 > max_tx_bytes 10
    unhex("0a050aff"), // truncated
    new Uint8Array(), // empty message: unset oneof
    unhex("1a00"), // no txs
  ];
  const senders: ReactorNode[] = [];
  try {
    for (const bytes of bad) {
      const s = await startNode({ tx_relay: new TxRelay() });
      senders.push(s);
      await link(s, r);
      await inject(s, r, bytes);
      await waitFor(() => !r.sw.peers().has(s.key.id), `sender of ${bytes.length} bytes stopped`);
    }
    assertEquals(rr.cache.size, 0);
    assertEquals(rr.stats.received, 0);
  } finally {
    await stopNodes(...senders, r);
  }
});

Deno.test("broadcast-tx CLI: text by default, hex with 0x or --hex, usage errors", () => {
  const d = (b: Uint8Array) => new TextDecoder().decode(b);
  assertEquals(d(txFromArgs(["k=v"])), "k=v");
  assertEquals(d(txFromArgs(["0x6b3d76"])), "k=v");
  assertEquals(d(txFromArgs(["--hex", "6b3d76"])), "k=v");
  assertEquals(d(txFromArgs(["--string", "0x6b"])), "0x6b");
  assertThrows(() => txFromArgs([]), UsageError, "missing");
  assertThrows(() => txFromArgs(["a", "b"]), UsageError, "expected one");
  assertThrows(() => txFromArgs(["--hex", "abc"]), UsageError, "hex digits");
  assertThrows(() => txFromArgs(["--bogus", "x"]), UsageError, "unknown flag");
});
