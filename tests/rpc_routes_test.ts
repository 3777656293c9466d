/**
 * The node's RPC routes through the real RPC server's request handler (no sockets): CometBFT's
 * result shapes (§16.5, §16.6), the unsafe gating, dial_seeds/dial_peers argument handling,
 * order of effects and error texts (§16.7), and reactor-contributed routes.
 */
import { assert, assertEquals, assertThrows } from "./util/assert.ts";
import { RPCServer } from "../rpc/server.ts";
import type { Route } from "../rpc/types.ts";
import { NodeKey } from "../p2p/key.ts";
import { makeNodeInfo } from "../p2p/node_info.ts";
import { Switch } from "../p2p/switch.ts";
import { Transport } from "../p2p/transport.ts";
import { RpcClient } from "../rpc/client.ts";
import {
  type NodeRouteContext,
  nodeRoutes,
  type RpcPeer,
  type RpcSwitch,
} from "../node/rpc_routes.ts";
import type { ConnectionStatus } from "../p2p/conn/mconnection_status.ts";
import { handshakeVectors } from "./util/vectors.ts";

const VECTORS = await handshakeVectors();
const SEED = Uint8Array.from(
  (VECTORS.node_A.ed25519_seed as string).match(/../g)!.map((h) => parseInt(h, 16)),
);
const KEY = NodeKey.fromSeed(SEED);
const PEER_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

const NODE_INFO = makeNodeInfo({
  id: KEY.id,
  network: "test-chain",
  moniker: "node-a",
  channels: [0x40, 0x20, 0x00],
  listenAddr: "tcp://0.0.0.0:26656",
  rpcAddress: "tcp://127.0.0.1:26657",
});

/** A switch double recording every call, in order. */
class FakeSwitch implements RpcSwitch {
  calls: string[] = [];
  list: RpcPeer[] = [];
  failDial?: Error;
  peers() {
    return { list: () => this.list };
  }
  dialPeersAsync(addrs: readonly string[]): Promise<void> {
    this.calls.push(`dial ${addrs.join(",")}`);
    return this.failDial ? Promise.reject(this.failDial) : Promise.resolve();
  }
  addPersistentPeers(addrs: readonly string[]): Promise<void> {
    this.calls.push(`persistent ${addrs.join(",")}`);
    return Promise.resolve();
  }
  addUnconditionalPeerIds(ids: readonly string[]): void {
    this.calls.push(`unconditional ${ids.join(",")}`);
  }
  addPrivatePeerIds(ids: readonly string[]): void {
    this.calls.push(`private ${ids.join(",")}`);
  }
}

function ctx(sw: RpcSwitch, externalAddress = ""): NodeRouteContext {
  return {
    nodeInfo: () => NODE_INFO,
    pubKey: KEY.pubKey,
    sw,
    isListening: () => true,
    externalAddress,
  };
}

function server(sw: RpcSwitch, unsafe = true, extra: Route[] = [], external = ""): RPCServer {
  return new RPCServer({
    laddr: "tcp://127.0.0.1:0",
    routes: nodeRoutes(ctx(sw, external), extra),
    unsafe,
  });
}

interface Reply {
  status: number;
  body: { result?: unknown; error?: { code: number; message: string; data?: string } };
}

async function rpc(s: RPCServer, method: string, params: unknown = {}): Promise<Reply> {
  const res = await s.handle(
    new Request("http://localhost/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    }),
  );
  return { status: res.status, body: JSON.parse(await res.text()) };
}

async function uri(s: RPCServer, pathAndQuery: string): Promise<{ status: number; text: string }> {
  const res = await s.handle(new Request(`http://localhost${pathAndQuery}`));
  return { status: res.status, text: await res.text() };
}

const CONN_STATUS: ConnectionStatus = {
  duration: 1500,
  sendMonitor: {
    start: new Date(0),
    bytes: 10,
    samples: 1,
    instRate: 0,
    curRate: 0,
    avgRate: 0,
    peakRate: 0,
    bytesRem: 0,
    durationMs: 0,
    idleMs: 0,
    timeRemMs: 0,
    progress: 0,
    active: true,
  },
  recvMonitor: {
    start: new Date(0),
    bytes: 20,
    samples: 1,
    instRate: 0,
    curRate: 0,
    avgRate: 0,
    peakRate: 0,
    bytesRem: 0,
    durationMs: 0,
    idleMs: 0,
    timeRemMs: 0,
    progress: 0,
    active: true,
  },
  channels: [{ id: 0, sendQueueCapacity: 10, sendQueueSize: 0, priority: 1, recentlySent: 0 }],
};

Deno.test("health returns {} and status has CometBFT's shape for a p2p-only node", async () => {
  const s = server(new FakeSwitch());
  assertEquals((await rpc(s, "health")).body.result, {});
  const r = await rpc(s, "status");
  assertEquals(r.status, 200);
  const res = r.body.result as Record<string, Record<string, unknown>>;
  assertEquals(Object.keys(res), ["node_info", "sync_info", "validator_info"]);
  assertEquals(res.node_info, {
    protocol_version: { p2p: "8", block: "11", app: "0" },
    id: VECTORS.node_A.node_id,
    listen_addr: "tcp://0.0.0.0:26656",
    network: "test-chain",
    version: "0.38.25",
    channels: "402000",
    moniker: "node-a",
    other: { tx_index: "off", rpc_address: "tcp://127.0.0.1:26657" },
  });
  assertEquals(res.sync_info, {
    latest_block_hash: "",
    latest_app_hash: "",
    latest_block_height: "0",
    latest_block_time: "1970-01-01T00:00:00Z",
    earliest_block_hash: "",
    earliest_app_hash: "",
    earliest_block_height: "0",
    earliest_block_time: "1970-01-01T00:00:00Z",
    catching_up: false,
  });
  // The node key JSON of the vector ends in the public key: the RPC shows it the same way.
  const keyJson = JSON.parse(VECTORS.node_A.node_key_json).priv_key.value as string;
  const pub = Uint8Array.from(atob(keyJson), (c) => c.charCodeAt(0)).subarray(32);
  assertEquals(res.validator_info, {
    address: (VECTORS.node_A.node_id as string).toUpperCase(),
    pub_key: { type: "tendermint/PubKeyEd25519", value: btoa(String.fromCharCode(...pub)) },
    voting_power: "0",
  });
});

Deno.test("net_info lists peers with node_info, direction, connection status and remote IP", async () => {
  const sw = new FakeSwitch();
  const s0 = server(sw);
  assertEquals((await rpc(s0, "net_info")).body.result, {
    listening: true,
    listeners: ["Listener(@)"],
    n_peers: "0",
    peers: [],
  });
  const kv = new Map<string, unknown>();
  sw.list = [{
    nodeInfo: { ...NODE_INFO, id: PEER_ID, moniker: "node-b" },
    isOutbound: true,
    remoteIP: "192.0.2.10",
    status: () => CONN_STATUS,
    get: (k: string) => kv.get(k),
  }];
  const s = server(sw, true, [], "203.0.113.5:26656");
  const r = (await rpc(s, "net_info")).body.result as {
    listeners: string[];
    n_peers: string;
    peers: Record<string, unknown>[];
  };
  assertEquals(r.listeners, ["Listener(@203.0.113.5:26656)"]);
  assertEquals(r.n_peers, "1");
  const p = r.peers[0];
  // No consensus watcher state: the entry has exactly CometBFT's keys.
  assertEquals(Object.keys(p), ["node_info", "is_outbound", "connection_status", "remote_ip"]);
  // With the watcher's peer state in the peer's key-value store, the height shows.
  kv.set("ConsensusReactor.peerState", { getHeight: () => 42 });
  const withHeight = (await rpc(s, "net_info")).body.result as { peers: Record<string, unknown>[] };
  assertEquals(withHeight.peers[0].consensus_height, "42");
  assertEquals((p.node_info as { id: string }).id, PEER_ID);
  assertEquals(p.is_outbound, true);
  assertEquals(p.remote_ip, "192.0.2.10");
  const cs = p.connection_status as { Duration: string; Channels: unknown[] };
  assertEquals(cs.Duration, "1500000000");
  assertEquals(cs.Channels, [{
    ID: 0,
    SendQueueCapacity: "10",
    SendQueueSize: "0",
    Priority: "1",
    RecentlySent: "0",
  }]);
});

Deno.test("unsafe routes are gated: JSON-RPC -32601, URI 404, and nothing is dialed", async () => {
  const sw = new FakeSwitch();
  const s = server(sw, false);
  const r = await rpc(s, "dial_peers", { peers: [`${PEER_ID}@127.0.0.1:1`] });
  assertEquals(r.status, 200);
  assertEquals(r.body.error, { code: -32601, message: "Method not found" });
  const u = await uri(s, `/dial_seeds?seeds=["${PEER_ID}@127.0.0.1:1"]`);
  assertEquals(u.status, 404);
  assertEquals(u.text, "404 page not found\n");
  assertEquals(sw.calls, []);
});

Deno.test("dial_seeds: empty list error, dial started, result text", async () => {
  const sw = new FakeSwitch();
  const s = server(sw);
  const empty = await rpc(s, "dial_seeds", { seeds: [] });
  assertEquals(empty.body.error, {
    code: -32603,
    message: "Internal error",
    data: "no seeds provided",
  });
  const ok = await rpc(s, "dial_seeds", { seeds: [`${PEER_ID}@127.0.0.1:1`] });
  assertEquals(ok.body.result, { log: "Dialing seeds in progress. See /net_info for details" });
  assertEquals(sw.calls, [`dial ${PEER_ID}@127.0.0.1:1`]);
  sw.failDial = new Error("address (x) does not contain ID");
  const bad = await rpc(s, "dial_seeds", { seeds: ["x"] });
  assertEquals(bad.body.error?.data, "address (x) does not contain ID");
});

Deno.test("dial_peers: persistent, private, unconditional, then dial, in Go's order (URI form)", async () => {
  const sw = new FakeSwitch();
  const s = server(sw);
  const addr = `${PEER_ID}@127.0.0.1:26656`;
  const u = await uri(
    s,
    `/dial_peers?peers=${
      encodeURIComponent(JSON.stringify([addr]))
    }&persistent=true&unconditional=true&private=true`,
  );
  assertEquals(u.status, 200);
  assertEquals(JSON.parse(u.text), {
    jsonrpc: "2.0",
    id: -1,
    result: { log: "Dialing peers in progress. See /net_info for details" },
  });
  assertEquals(sw.calls, [
    `persistent ${addr}`,
    `private ${PEER_ID}`,
    `unconditional ${PEER_ID}`,
    `dial ${addr}`,
  ]);
});

Deno.test("dial_peers: error texts for an empty list and an entry without ID", async () => {
  const sw = new FakeSwitch();
  const s = server(sw);
  assertEquals(
    (await rpc(s, "dial_peers", { peers: [] })).body.error?.data,
    "no peers provided",
  );
  assertEquals(
    (await rpc(s, "dial_peers", { peers: ["127.0.0.1:26656"] })).body.error?.data,
    "address (127.0.0.1:26656) does not contain ID",
  );
  assertEquals(
    (await rpc(s, "dial_peers", { peers: ["a@b@127.0.0.1:1"] })).body.error?.data,
    "address (a@b@127.0.0.1:1) does not contain ID",
  );
  assertEquals(sw.calls, []);
});

Deno.test("dial_peers against a real Switch: a bad ID with --unconditional reads 'wrong ID #0'", async () => {
  const transport = new Transport({ nodeKey: KEY, nodeInfo: NODE_INFO });
  const sw = new Switch({ transport });
  try {
    const s = server(sw);
    const r = await rpc(s, "dial_peers", { peers: ["zz@127.0.0.1:1"], unconditional: true });
    assertEquals(r.body.error?.code, -32603);
    assert(r.body.error?.data?.startsWith("wrong ID #0: "), r.body.error?.data);
  } finally {
    await sw.stop();
  }
});

Deno.test("reactor routes are served next to the node's; a duplicate name is refused", async () => {
  const extra: Route = {
    name: "broadcast_tx_async",
    params: [{ name: "tx", type: "bytes" }],
    handler: (args) => ({ size: (args.tx as Uint8Array).length }),
  };
  const s = server(new FakeSwitch(), false, [extra]);
  assertEquals((await rpc(s, "broadcast_tx_async", { tx: "aGVsbG8=" })).body.result, { size: 5 });
  assertThrows(
    () => nodeRoutes(ctx(new FakeSwitch()), [{ ...extra, name: "status" }]),
    Error,
    "registered twice",
  );
});

Deno.test("RpcClient talks JSON-RPC to a listening server over tcp and unix sockets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sy_rpc_" });
  const sw = new FakeSwitch();
  const tcp = new RPCServer({
    laddr: "tcp://127.0.0.1:0",
    routes: nodeRoutes(ctx(sw)),
    unsafe: false,
  });
  const unix = new RPCServer({ laddr: `unix://${dir}/rpc.sock`, routes: nodeRoutes(ctx(sw)) });
  await tcp.start();
  await unix.start();
  try {
    const a = tcp.addr as { port: number };
    const c = new RpcClient(`tcp://127.0.0.1:${a.port}`);
    const st = await c.call<{ node_info: { id: string } }>("status");
    assertEquals(st.node_info.id, KEY.id);
    const err = await c.call("dial_seeds", { seeds: ["x"] }).catch((e) => e);
    assertEquals((err as { code: number }).code, -32601);
    const u = new RpcClient(`unix://${dir}/rpc.sock`);
    assertEquals(await u.call("health"), {});
  } finally {
    await tcp.stop();
    await unix.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
