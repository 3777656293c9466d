import { assert, assertEquals, assertRejects, assertThrows } from "./util/assert.ts";
import {
  compatibleWith,
  decodeNodeInfo,
  encodeNodeInfo,
  exchangeNodeInfo,
  hasChannel,
  makeNodeInfo,
  MAX_NODE_INFO_SIZE,
  type NodeInfo,
  nodeInfoNetAddress,
  nodeInfoToJSON,
  validateNodeInfo,
} from "../p2p/node_info.ts";
import {
  HandshakeError,
  HandshakeTimeoutError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
  MessageTooLargeError,
} from "../p2p/errors.ts";
import { encodeUvarint, marshalDelimited, readDelimited } from "../libs/protoio.ts";
import { bytePipe } from "./util/pipe.ts";
import { handshakeVectors, hex, STOCK_CHANNELS, toHex } from "./util/vectors.ts";
import type { HostResolver } from "../p2p/netaddress.ts";

const vectors = await handshakeVectors();

const ID_A = vectors.node_A.node_id as string;
const ID_B = vectors.node_B.node_id as string;

/** Node A of the vector file, as a NodeInfo. */
function nodeA(): NodeInfo {
  const f = vectors.node_A.default_node_info_fields;
  return {
    protocolVersion: { ...f.protocol_version },
    id: f.default_node_id,
    listenAddr: f.listen_addr,
    network: f.network,
    version: f.version,
    channels: hex(f.channels),
    moniker: f.moniker,
    other: { txIndex: f.other.tx_index, rpcAddress: f.other.rpc_address },
  };
}

const noDns: HostResolver = (h) => Promise.reject(new Error(`lookup ${h}: no such host`));

Deno.test("node_info: encodes node A byte-exactly (vector, 141 bytes with prefix 8b01)", () => {
  const want = vectors.node_A.default_node_info_delimited as string;
  const framed = marshalDelimited(encodeNodeInfo(nodeA()));
  assertEquals(framed.length, 141);
  assertEquals(toHex(framed.subarray(0, 2)), "8b01");
  assertEquals(toHex(framed), want);
  // Spec §4.1: protocol_version 0a04 0808 100b (app 0 omitted), other 42 1b ...
  assertEquals(toHex(framed.subarray(2, 8)), "0a040808100b");
});

Deno.test("node_info: decodes node A from the vector", () => {
  const bytes = hex(vectors.node_A.default_node_info_delimited).subarray(2);
  const ni = decodeNodeInfo(bytes);
  assertEquals(ni, nodeA());
  assert(ni.channels.constructor === Uint8Array);
});

Deno.test("node_info: zero values and non-nullable sub-messages", () => {
  const empty: NodeInfo = {
    protocolVersion: { p2p: 0, block: 0, app: 0 },
    id: "",
    listenAddr: "",
    network: "",
    version: "",
    channels: new Uint8Array(0),
    moniker: "",
    other: { txIndex: "", rpcAddress: "" },
  };
  // protocol_version and other are always emitted, even empty.
  assertEquals(toHex(encodeNodeInfo(empty)), "0a004200");
  assertEquals(decodeNodeInfo(encodeNodeInfo(empty)), empty);
  // Missing sub-messages and unknown fields decode to zero values.
  assertEquals(decodeNodeInfo(new Uint8Array(0)), empty);
  assertEquals(decodeNodeInfo(hex("4a0178")), empty); // unknown field 9
  // Large uint64 versions survive as numbers.
  const big = { ...empty, protocolVersion: { p2p: 2 ** 40, block: 11, app: 2 ** 53 - 1 } };
  assertEquals(decodeNodeInfo(encodeNodeInfo(big)).protocolVersion, big.protocolVersion);
  assertThrows(() => decodeNodeInfo(hex("0a05")), HandshakeError);
});

Deno.test("node_info: makeNodeInfo defaults", () => {
  const ni = makeNodeInfo({
    id: ID_A,
    network: "test-chain",
    moniker: "sy",
    channels: [0x20, 0x30, 0x00],
    rpcAddress: "tcp://127.0.0.1:26657",
  });
  assertEquals(ni, {
    protocolVersion: { p2p: 8, block: 11, app: 0 },
    id: ID_A,
    listenAddr: "tcp://0.0.0.0:26656",
    network: "test-chain",
    version: "0.38.25",
    channels: new Uint8Array([0x20, 0x30, 0x00]),
    moniker: "sy",
    other: { txIndex: "off", rpcAddress: "tcp://127.0.0.1:26657" },
  });
  assert(hasChannel(ni, 0x30) && !hasChannel(ni, 0x40));
  const custom = makeNodeInfo({
    id: ID_A,
    network: "n",
    moniker: "m",
    channels: new Uint8Array([1]),
    listenAddr: "tcp://1.2.3.4:5",
    version: "x",
    txIndex: "on",
    protocolVersion: { app: 3 },
  });
  assertEquals(custom.protocolVersion, { p2p: 8, block: 11, app: 3 });
  assertEquals([custom.listenAddr, custom.version, custom.other.txIndex], [
    "tcp://1.2.3.4:5",
    "x",
    "on",
  ]);
});

Deno.test("node_info: nodeInfoToJSON has CometBFT's RPC shape and key order", () => {
  const json = JSON.stringify(nodeInfoToJSON(nodeA()));
  assertEquals(
    json,
    `{"protocol_version":{"p2p":"8","block":"11","app":"0"},"id":"${ID_A}",` +
      `"listen_addr":"tcp://0.0.0.0:26656","network":"test-chain","version":"0.38.25",` +
      `"channels":"40202122233038606100","moniker":"node-a",` +
      `"other":{"tx_index":"on","rpc_address":"tcp://127.0.0.1:26657"}}`,
  );
  const ab = nodeInfoToJSON({ ...nodeA(), channels: new Uint8Array([0xab, 0x0c]) });
  assertEquals(ab.channels, "AB0C");
  assertEquals(nodeInfoToJSON({ ...nodeA(), channels: new Uint8Array(0) }).channels, "");
});

Deno.test("node_info: validate accepts stock and edge-valid NodeInfos", async () => {
  await validateNodeInfo(nodeA(), { lookup: noDns });
  const ok: Partial<NodeInfo>[] = [
    { version: "" },
    { listenAddr: "0.0.0.0:0" },
    { listenAddr: "[::1]:26656" },
    { listenAddr: "tcp://127.0.0.1:65535" },
    { channels: new Uint8Array(16).map((_, i) => i) },
    { channels: new Uint8Array(0) },
    { moniker: " a " },
    { other: { txIndex: "", rpcAddress: "" } },
    { other: { txIndex: "off", rpcAddress: "whatever ~" } },
  ];
  for (const patch of ok) await validateNodeInfo({ ...nodeA(), ...patch }, { lookup: noDns });
  // A host-name listen_addr is resolved.
  await validateNodeInfo({ ...nodeA(), listenAddr: "tcp://node.example:26656" }, {
    lookup: () => Promise.resolve(["192.0.2.1"]),
  });
  await validateNodeInfo({ ...nodeA(), listenAddr: "localhost:26656" });
});

Deno.test("node_info: validate rejects each rule with Go's message", async () => {
  const bad: [Partial<NodeInfo>, string][] = [
    [{ id: "" }, "invalid address (@0.0.0.0:26656): no ID"],
    [{ id: ID_A.toUpperCase().slice(2) }, "invalid hex length"],
    [{ listenAddr: "tcp://0.0.0.0" }, "missing port in address"],
    [{ listenAddr: "" }, "missing port in address"],
    [{ listenAddr: "1.2.3.4:70000" }, "value out of range"],
    [{ listenAddr: "nowhere.example:1" }, "error looking up host (nowhere.example)"],
    [{ listenAddr: "a@1.2.3.4:1" }, "does not contain ID"],
    [{ version: "   " }, "info.Version must be valid ASCII text without tabs, but got    "],
    [{ version: "0.38\t" }, "info.Version must be valid ASCII text"],
    [{ version: "v\u00e9" }, "info.Version must be valid ASCII text"],
    [
      { channels: new Uint8Array(17).map((_, i) => i) },
      "info.Channels is too long (17). Max is 16",
    ],
    [
      { channels: new Uint8Array([0x20, 0x30, 0x20]) },
      "info.Channels contains duplicate channel id 32",
    ],
    [{ moniker: "" }, "info.Moniker must be valid non-empty ASCII text without tabs, but got "],
    [{ moniker: "  " }, "info.Moniker must be valid non-empty"],
    [{ moniker: "a\nb" }, "info.Moniker must be valid non-empty"],
    [{ moniker: "caf\u00e9" }, "info.Moniker must be valid non-empty"],
    [
      { other: { txIndex: "yes", rpcAddress: "" } },
      "info.Other.TxIndex should be either 'on', 'off', or empty string, got 'yes'",
    ],
    [{ other: { txIndex: "ON", rpcAddress: "" } }, "got 'ON'"],
    [
      { other: { txIndex: "on", rpcAddress: " " } },
      "info.Other.RPCAddress=  must be valid ASCII text without tabs",
    ],
    [{ other: { txIndex: "on", rpcAddress: "\u007f" } }, "info.Other.RPCAddress="],
  ];
  for (const [patch, msg] of bad) {
    const err = await assertRejects(
      () => validateNodeInfo({ ...nodeA(), ...patch }, { lookup: noDns }),
      InvalidNodeInfoError,
    );
    assert(err.message.includes(msg), `${JSON.stringify(patch)}: ${err.message}`);
  }
  // Rules run in Go's order: the address is checked before the moniker.
  const err = await assertRejects(
    () => validateNodeInfo({ ...nodeA(), listenAddr: "x", moniker: "" }, { lookup: noDns }),
    InvalidNodeInfoError,
  );
  assert(err.message.includes("missing port"), err.message);
});

Deno.test("node_info: compatibleWith", () => {
  const ours = nodeA();
  compatibleWith(ours, { ...nodeA(), id: ID_B, moniker: "b" });
  // p2p and app versions, version string, moniker do not matter.
  compatibleWith(ours, {
    ...nodeA(),
    protocolVersion: { p2p: 7, block: 11, app: 99 },
    version: "1.0.0",
  });
  // One common channel is enough.
  compatibleWith(ours, { ...nodeA(), channels: new Uint8Array([0x99, 0x30]) });
  // We advertise nothing: anything goes (network and block still checked).
  compatibleWith({ ...ours, channels: new Uint8Array(0) }, {
    ...nodeA(),
    channels: new Uint8Array(0),
  });

  const cases: [NodeInfo, NodeInfo, string][] = [
    [
      ours,
      { ...nodeA(), protocolVersion: { p2p: 8, block: 10, app: 0 } },
      "peer is on a different Block version. Got 10, expected 11",
    ],
    [
      ours,
      { ...nodeA(), network: "other-chain" },
      "peer is on a different network. Got other-chain, expected test-chain",
    ],
    [ours, { ...nodeA(), network: "Test-chain" }, "different network"],
    [
      ours,
      { ...nodeA(), channels: new Uint8Array([0x99]) },
      "peer has no common channels. Our channels: 40202122233038606100 ; Peer channels: 99",
    ],
    [ours, { ...nodeA(), channels: new Uint8Array(0) }, "peer has no common channels"],
    [{ ...ours, channels: new Uint8Array(0) }, { ...nodeA(), network: "x" }, "different network"],
  ];
  for (const [a, b, msg] of cases) {
    const err = assertThrows(() => compatibleWith(a, b), IncompatibleNodeInfoError);
    assert(err.message.includes(msg), err.message);
  }
});

Deno.test("node_info: nodeInfoNetAddress", async () => {
  const a = await nodeInfoNetAddress({ ...nodeA(), listenAddr: "tcp://192.0.2.5:26656" });
  assertEquals(a.toString(), `${ID_A}@192.0.2.5:26656`);
  await assertRejects(() => nodeInfoNetAddress({ ...nodeA(), listenAddr: "bad" }));
});

Deno.test("node_info: exchange round trip over an in-memory pipe", async () => {
  const [a, b] = bytePipe();
  try {
    const infoA = nodeA();
    const infoB = makeNodeInfo({
      id: ID_B,
      network: "test-chain",
      moniker: "node-b",
      channels: STOCK_CHANNELS,
      rpcAddress: "tcp://127.0.0.1:26657",
    });
    const [gotB, gotA] = await Promise.all([
      exchangeNodeInfo(a, infoA),
      exchangeNodeInfo(b, infoB),
    ]);
    assertEquals(gotA, infoA);
    assertEquals(gotB, infoB);
    // Each side wrote exactly one delimited message in one write.
    assertEquals(a.stats.writes, 1);
    assertEquals(a.stats.bytesWritten, 141);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("node_info: exchange works when the peer writes first, in pieces, plus trailing bytes", async () => {
  const [a, b] = bytePipe();
  try {
    const framed = hex(vectors.node_A.default_node_info_delimited);
    for (let i = 0; i < framed.length; i += 10) await b.write(framed.subarray(i, i + 10));
    await b.write(new Uint8Array([0xee])); // the first MConnection byte must stay unread
    const got = await exchangeNodeInfo(
      a,
      makeNodeInfo({
        id: ID_B,
        network: "test-chain",
        moniker: "b",
        channels: [0x20],
      }),
    );
    assertEquals(got.id, ID_A);
    const theirs = await readDelimited(b, MAX_NODE_INFO_SIZE);
    assertEquals(decodeNodeInfo(theirs).id, ID_B);
    const one = new Uint8Array(1);
    assertEquals(await a.read(one), 1);
    assertEquals(one[0], 0xee);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("node_info: oversized NodeInfo is rejected (declared length > 10240)", async () => {
  const [a, b] = bytePipe();
  try {
    await b.write(encodeUvarint(MAX_NODE_INFO_SIZE + 1));
    const err = await assertRejects(() => exchangeNodeInfo(a, nodeA()), MessageTooLargeError);
    assertEquals(err.message, "message exceeds max size (10241 > 10240)");
    assert(err instanceof HandshakeError);
    assert(!a.closed, "exchangeNodeInfo must not close the stream");
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("node_info: a large but legal NodeInfo (10240 bytes) is accepted", async () => {
  const [a, b] = bytePipe();
  try {
    const base = nodeA();
    const baseLen = encodeNodeInfo({ ...base, moniker: "" }).length;
    // moniker field: tag (1) + uvarint len (2) + body; pick a body that lands exactly on 10240.
    const big = { ...base, moniker: "m".repeat(MAX_NODE_INFO_SIZE - baseLen - 3) };
    assertEquals(encodeNodeInfo(big).length, MAX_NODE_INFO_SIZE);
    const [got] = await Promise.all([exchangeNodeInfo(a, nodeA()), exchangeNodeInfo(b, big)]);
    assertEquals(got.moniker.length, big.moniker.length);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("node_info: EOF and garbage become HandshakeError", async () => {
  {
    const [a, b] = bytePipe();
    b.close();
    await assertRejects(() => exchangeNodeInfo(a, nodeA()), HandshakeError);
    a.close();
  }
  {
    const [a, b] = bytePipe();
    await b.write(hex("030a05ff")); // declares 3 bytes of a truncated sub-message
    await assertRejects(() => exchangeNodeInfo(a, nodeA()), HandshakeError, "decoding NodeInfo");
    a.close();
    b.close();
  }
});

Deno.test("node_info: silent peer hits the deadline; stream stays open for the caller", async () => {
  const [a, b] = bytePipe();
  try {
    const err = await assertRejects(
      () => exchangeNodeInfo(a, nodeA(), { timeoutMs: 20 }),
      HandshakeTimeoutError,
    );
    assert(err.message.includes("timed out"), err.message);
    assert(!a.closed);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("node_info: abort signal ends the exchange with a HandshakeError", async () => {
  const [a, b] = bytePipe();
  try {
    const ac = new AbortController();
    const p = exchangeNodeInfo(a, nodeA(), { signal: ac.signal });
    ac.abort(new Error("shutting down"));
    const err = await assertRejects(() => p, HandshakeError, "aborted");
    assert(!(err instanceof HandshakeTimeoutError));
    await assertRejects(() => exchangeNodeInfo(a, nodeA(), { signal: ac.signal }), HandshakeError);
  } finally {
    a.close();
    b.close();
  }
});
