import { STOCK_CHANNELS } from "./util/vectors.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./util/assert.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { exchangeNodeInfo, type NodeInfo } from "../p2p/node_info.ts";
import { SecretConnection } from "../p2p/conn/secret_connection.ts";
import {
  DialFailedError,
  HandshakeTimeoutError,
  IdMismatchError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
  SelfConnectionError,
} from "../p2p/errors.ts";
import { dialTcp, upgradeInbound, upgradeOutbound } from "../p2p/upgrade.ts";

function info(key: NodeKey, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    protocolVersion: { p2p: 8, block: 11, app: 0 },
    id: key.id,
    listenAddr: "tcp://127.0.0.1:26656",
    network: "upgrade-test",
    version: "0.38.25",
    channels: STOCK_CHANNELS,
    moniker: "upgrade-test",
    other: { txIndex: "on", rpcAddress: "" },
    ...over,
  };
}

/** A connected loopback TCP pair: [dialer side, acceptor side]. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [a, b] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port }),
      l.accept(),
    ]);
    return [a, b];
  } finally {
    l.close();
  }
}

/** Resolves true when the other end of `conn` is closed (read gives EOF or fails). */
async function seesClose(conn: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return true;
    }
  } catch {
    return true;
  }
}

const keyA = NodeKey.generate();
const keyB = NodeKey.generate();

Deno.test("upgrade: both sides authenticate and exchange NodeInfo", async () => {
  const [a, b] = await tcpPair();
  const [out, inb] = await Promise.all([
    upgradeOutbound(a, {
      nodeKey: keyA,
      nodeInfo: info(keyA, { moniker: "A" }),
      dialedId: keyB.id,
    }),
    upgradeInbound(b, { nodeKey: keyB, nodeInfo: info(keyB, { moniker: "B" }) }),
  ]);
  try {
    assertEquals(out.nodeInfo.id, keyB.id);
    assertEquals(out.nodeInfo.moniker, "B");
    assertEquals(inb.nodeInfo.id, keyA.id);
    assertEquals(inb.nodeInfo.moniker, "A");
    assertEquals(out.secretConn.remoteId, keyB.id);
    assertEquals(inb.secretConn.remoteId, keyA.id);
    // The upgraded streams carry application bytes both ways.
    await out.secretConn.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(4);
    let got = 0;
    while (got < 4) got += (await inb.secretConn.read(buf.subarray(got))) ?? 4;
    assertEquals(new TextDecoder().decode(buf), "ping");
  } finally {
    out.secretConn.close();
    inb.secretConn.close();
  }
});

Deno.test("upgrade: wrong dialed ID is refused before our NodeInfo is sent", async () => {
  const [a, b] = await tcpPair();
  const wrongId = NodeKey.generate().id;
  // The acceptor runs only the SecretConnection, then waits for a NodeInfo that must never come.
  const acceptor = (async () => {
    const sc = await SecretConnection.make(b, keyB);
    try {
      const buf = new Uint8Array(16);
      return await sc.read(buf).catch(() => null);
    } finally {
      sc.close();
    }
  })();
  const err = await assertRejects(
    () => upgradeOutbound(a, { nodeKey: keyA, nodeInfo: info(keyA), dialedId: wrongId }),
    IdMismatchError,
  );
  assertStringIncludes(err.message, wrongId);
  assertEquals(err.kind, "id_mismatch");
  assertEquals(await acceptor, null, "the peer received bytes after the ID check failed");
});

async function bothReject(
  outInfo: NodeInfo,
  inInfo: NodeInfo,
  cls: typeof IncompatibleNodeInfoError | typeof SelfConnectionError,
  outKey = keyA,
  inKey = keyB,
): Promise<[Error, Error]> {
  const [a, b] = await tcpPair();
  const results = await Promise.allSettled([
    upgradeOutbound(a, { nodeKey: outKey, nodeInfo: outInfo, dialedId: inKey.id }),
    upgradeInbound(b, { nodeKey: inKey, nodeInfo: inInfo }),
  ]);
  const errs = results.map((r) => {
    if (r.status === "fulfilled") {
      r.value.secretConn.close();
      throw new Error("upgrade unexpectedly succeeded");
    }
    assert(r.reason instanceof cls, `expected ${cls.name}, got ${r.reason}`);
    return r.reason as Error;
  });
  return [errs[0], errs[1]];
}

Deno.test("upgrade: different network is incompatible on both sides", async () => {
  const [e] = await bothReject(
    info(keyA, { network: "chain-x" }),
    info(keyB, { network: "chain-y" }),
    IncompatibleNodeInfoError,
  );
  assertStringIncludes(e.message, "chain-y");
});

Deno.test("upgrade: no common channel is incompatible", async () => {
  await bothReject(
    info(keyA, { channels: Uint8Array.from([0x40]) }),
    info(keyB, { channels: Uint8Array.from([0x20, 0x21]) }),
    IncompatibleNodeInfoError,
  );
});

Deno.test("upgrade: block protocol mismatch is incompatible", async () => {
  await bothReject(
    info(keyA, { protocolVersion: { p2p: 8, block: 10, app: 0 } }),
    info(keyB),
    IncompatibleNodeInfoError,
  );
});

Deno.test("upgrade: connecting to ourselves is refused on both sides", async () => {
  await bothReject(info(keyA), info(keyA), SelfConnectionError, keyA, keyA);
});

Deno.test("upgrade: NodeInfo ID differing from the authenticated key is refused", async () => {
  const [a, b] = await tcpPair();
  const liar = (async () => {
    // A crafted peer: authenticates with keyB but claims another node's ID.
    const sc = await SecretConnection.make(b, keyB);
    try {
      await exchangeNodeInfo(sc, info(keyB, { id: NodeKey.generate().id })).catch(() => {});
    } finally {
      sc.close();
    }
  })();
  const err = await assertRejects(
    () => upgradeInbound(a, { nodeKey: keyA, nodeInfo: info(keyA) }),
    IdMismatchError,
  );
  assertStringIncludes(err.message, "NodeInfo.ID");
  await liar;
});

Deno.test("upgrade: invalid NodeInfo (empty moniker) is refused", async () => {
  const [a, b] = await tcpPair();
  const peer = (async () => {
    const sc = await SecretConnection.make(b, keyB);
    try {
      await exchangeNodeInfo(sc, info(keyB, { moniker: "" })).catch(() => {});
    } finally {
      sc.close();
    }
  })();
  await assertRejects(
    () => upgradeOutbound(a, { nodeKey: keyA, nodeInfo: info(keyA), dialedId: keyB.id }),
    InvalidNodeInfoError,
  );
  await peer;
});

Deno.test("upgrade: a peer that stalls before the SecretConnection times out", async () => {
  const [a, b] = await tcpPair();
  try {
    const err = await assertRejects(
      () => upgradeInbound(a, { nodeKey: keyA, nodeInfo: info(keyA), timeoutMs: 200 }),
      HandshakeTimeoutError,
    );
    assertEquals(err.kind, "handshake");
    assert(await seesClose(b), "socket left open after timeout");
  } finally {
    b.close();
  }
});

Deno.test("upgrade: a peer that stalls in the NodeInfo phase times out", async () => {
  const [a, b] = await tcpPair();
  const staller = (async () => {
    const sc = await SecretConnection.make(b, keyB);
    try {
      // Never sends a NodeInfo; waits until the other side gives up and closes.
      const buf = new Uint8Array(64);
      while ((await sc.read(buf).catch(() => null)) !== null) { /* drain */ }
    } finally {
      sc.close();
    }
  })();
  const err = await assertRejects(
    () =>
      upgradeOutbound(a, {
        nodeKey: keyA,
        nodeInfo: info(keyA),
        dialedId: keyB.id,
        timeoutMs: 300,
      }),
    HandshakeTimeoutError,
  );
  assertEquals(err.kind, "handshake");
  await staller;
});

Deno.test("upgrade: abort signal closes the socket and rejects with the reason", async () => {
  const [a, b] = await tcpPair();
  try {
    const ac = new AbortController();
    const reason = new Error("shutting down");
    const p = upgradeInbound(a, { nodeKey: keyA, nodeInfo: info(keyA), signal: ac.signal });
    setTimeout(() => ac.abort(reason), 20);
    const err = await assertRejects(() => p);
    assertEquals(err, reason);
    assert(await seesClose(b), "socket left open after abort");
  } finally {
    b.close();
  }
});

Deno.test("dialTcp: a closed port is DialFailedError (unreachable)", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const addr = NetAddress.parseNoLookup(`${keyB.id}@127.0.0.1:${port}`);
  const err = await assertRejects(() => dialTcp(addr), DialFailedError);
  assertEquals(err.kind, "unreachable");
});

Deno.test("dialTcp: connects to a listening port", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const addr = NetAddress.parseNoLookup(`${keyB.id}@127.0.0.1:${(l.addr as Deno.NetAddr).port}`);
    const [c, s] = await Promise.all([dialTcp(addr), l.accept()]);
    assertEquals((s.remoteAddr as Deno.NetAddr).port, (c.localAddr as Deno.NetAddr).port);
    c.close();
    s.close();
  } finally {
    l.close();
  }
});

Deno.test("dialTcp: SWITCHYARD_LOOPBACK_ONLY=1 refuses non-loopback addresses (test-run safety net)", async () => {
  const script = `
    import { dialTcp } from "${new URL("../p2p/upgrade.ts", import.meta.url).href}";
    import { NetAddress } from "${new URL("../p2p/netaddress.ts", import.meta.url).href}";
    try {
      await dialTcp(NetAddress.parseNoLookup("${
    "a".repeat(40)
  }@192.0.2.1:26656"), { timeoutMs: 50 });
      console.log("dialed");
    } catch (e) {
      console.log(e.name + ": " + e.message);
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    env: { SWITCHYARD_LOOPBACK_ONLY: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertStringIncludes(text, "DialForbiddenError");
  assertStringIncludes(text, "loopback addresses only");
});
