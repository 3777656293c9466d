/**
 * Fuzz targets for the text a node reads from disk or from RPC clients: `config.toml` (parsed
 * and built into a validated config), `node_key.json`, `addrbook.json`, RPC route parameters
 * (JSON-RPC `params` and URI queries) and whole JSON-RPC request bodies through the RPC server's
 * request handler (in process: no socket, and a switch stand-in that never dials).
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { buildConfig, defaultConfig, type RawValue } from "../config/build.ts";
import { parseConfigText, renderConfigToml } from "../config/toml.ts";
import { ConfigError } from "../config/validate.ts";
import type { LogFields, Logger } from "../libs/log.ts";
import { type NodeRouteContext, nodeRoutes } from "../node/rpc_routes.ts";
import { KeyFileError, NodeKey, PRIV_KEY_ED25519_TYPE } from "../p2p/key.ts";
import { makeNodeInfo } from "../p2p/node_info.ts";
import { AddrBookFileCorruptError, decodeAddrBookJSON } from "../p2p/pex/addrbook_file.ts";
import { decodeJsonParams, decodeUriParams, ParamError } from "../rpc/params.ts";
import { RPCServer } from "../rpc/server.ts";
import type { Route } from "../rpc/types.ts";
import { type FuzzTarget, typedBy } from "./target.ts";

const enc = new TextEncoder();
// Non-fatal, as Deno.readTextFile: invalid UTF-8 becomes U+FFFD.
const dec = new TextDecoder();

/** A home that is never created: config building only joins paths with it. */
const FUZZ_HOME = "/nonexistent/switchyard-fuzz-home";

const config: FuzzTarget = {
  name: "config_toml",
  kind: "toml",
  seeds: () => {
    const c = defaultConfig(FUZZ_HOME);
    const full = renderConfigToml(c);
    const small = [
      'chain_id = "fuzz-chain"',
      'moniker = "m"',
      "[p2p]",
      'laddr = "tcp://127.0.0.1:26000"',
      'seeds = "0123456789abcdef0123456789abcdef01234567@127.0.0.1:26001"',
      "max_num_inbound_peers = 40",
      'handshake_timeout = "20s"',
      "[rpc]",
      'laddr = "tcp://127.0.0.1:26002"',
      "[p2p.seed]",
      'recheck_period = "30m"',
    ].join("\n");
    return [enc.encode(full), enc.encode(small)];
  },
  // What loadConfig does with the file's text: parse, then build and validate every key.
  run(input) {
    const parsed = parseConfigText(dec.decode(input), "fuzz/config.toml");
    const layer = new Map<string, RawValue>();
    for (const [path, raw] of parsed.values) {
      layer.set(path, { raw, source: { kind: "file", path: "fuzz/config.toml" } });
    }
    buildConfig(FUZZ_HOME, [layer]);
  },
  typed: typedBy(ConfigError),
};

const KEY_SEED = Uint8Array.from({ length: 32 }, (_, i) => i * 3 + 1);

const nodeKey: FuzzTarget = {
  name: "node_key",
  kind: "json",
  seeds: () => {
    const priv = new Uint8Array(64);
    priv.set(KEY_SEED);
    priv.set(ed25519.getPublicKey(KEY_SEED), 32);
    const b64 = btoa(String.fromCharCode(...priv));
    return [
      enc.encode(`{"priv_key":{"type":"${PRIV_KEY_ED25519_TYPE}","value":"${b64}"}}`),
      enc.encode(
        JSON.stringify({ priv_key: { type: PRIV_KEY_ED25519_TYPE, value: b64 } }, null, 2),
      ),
    ];
  },
  run(input) {
    NodeKey.parse(dec.decode(input), "fuzz/node_key.json");
  },
  typed: typedBy(KeyFileError),
};

const ADDRBOOK = {
  key: "5d28d77908ab01c503210f1f",
  addrs: [
    {
      addr: { id: "0101010101010101010101010101010101010101", ip: "127.0.0.5", port: 26656 },
      src: { id: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", ip: "127.0.0.6", port: 26656 },
      buckets: [34],
      attempts: 0,
      bucket_type: 2,
      last_attempt: "2026-11-23T00:04:45.317148111Z",
      last_success: "2026-11-23T00:04:45.317148111Z",
      last_ban_time: "0001-01-01T00:00:00Z",
    },
    {
      addr: { id: "0202020202020202020202020202020202020202", ip: "::1", port: 1 },
      src: { id: "0202020202020202020202020202020202020202", ip: "::1", port: 1 },
      buckets: [1, 7],
      attempts: 3,
      bucket_type: 1,
      last_attempt: "2026-11-23T00:04:45Z",
      last_success: "0001-01-01T00:00:00Z",
      last_ban_time: "0001-01-01T00:00:00Z",
    },
  ],
  banned: [
    {
      addr: { id: "0303030303030303030303030303030303030303", ip: "127.0.0.9", port: 9 },
      src: { id: "0303030303030303030303030303030303030303", ip: "127.0.0.9", port: 9 },
      buckets: [],
      attempts: 0,
      bucket_type: 1,
      last_attempt: "0001-01-01T00:00:00Z",
      last_success: "0001-01-01T00:00:00Z",
      last_ban_time: "2026-11-23T00:04:45.3Z",
    },
  ],
};

const addrbook: FuzzTarget = {
  name: "addrbook",
  kind: "json",
  seeds: () => [
    enc.encode(JSON.stringify(ADDRBOOK, null, "\t")),
    enc.encode(JSON.stringify({ key: "00", addrs: null })),
  ],
  run(input) {
    decodeAddrBookJSON(dec.decode(input));
  },
  typed: typedBy(AddrBookFileCorruptError),
};

/** A switch stand-in: the handlers run their own parsing and then reach nothing. */
const ctx: NodeRouteContext = {
  nodeInfo: () =>
    makeNodeInfo({ id: "a".repeat(40), network: "fuzz", moniker: "m", channels: [0x00] }),
  pubKey: new Uint8Array(32),
  sw: {
    peers: () => ({ list: () => [] }),
    dialPeersAsync: () => Promise.resolve(),
    addPersistentPeers: () => Promise.resolve(),
    addUnconditionalPeerIds: () => {},
    addPrivatePeerIds: () => {},
  },
  isListening: () => true,
  externalAddress: "",
};
const ROUTES: readonly Route[] = nodeRoutes(ctx);
/** Routes that take parameters (the others accept anything and say nothing). */
const PARAM_ROUTES = ROUTES.filter((r) => r.params.length > 0);

const PEER = "0123456789abcdef0123456789abcdef01234567@127.0.0.1:1";

const rpcJsonParams: FuzzTarget = {
  name: "rpc_json_params",
  kind: "json",
  seeds: () => [
    enc.encode(JSON.stringify({ peers: [PEER], persistent: true, seeds: [PEER] })),
    enc.encode(JSON.stringify({ peers: [], unconditional: null, private: false, seeds: ["x"] })),
    enc.encode("null"),
  ],
  // Every route's parameter list over the same `params` value (JSON-RPC dispatch by method);
  // accepted when every route takes it.
  run(input) {
    const params = JSON.parse(dec.decode(input));
    for (const r of PARAM_ROUTES) decodeJsonParams(r.params, params);
  },
  typed: (e) => e instanceof ParamError || e instanceof SyntaxError,
};

const rpcUriParams: FuzzTarget = {
  name: "rpc_uri_params",
  kind: "raw",
  seeds: () => [
    enc.encode(`peers=["${PEER}"]&persistent=true&seeds=["${PEER}"]`),
    enc.encode("seeds=%5B%22a%40127.0.0.1%3A1%22%5D&private=false&unconditional=true"),
    enc.encode("persistent=&private=&unconditional=false&peers=%5B%5D"),
  ],
  run(input) {
    const query = new URLSearchParams(dec.decode(input));
    for (const r of PARAM_ROUTES) decodeUriParams(r.params, query);
  },
  typed: typedBy(ParamError),
};

/** Raised by the rpc_http target when the server's catch-all saw an unexpected throw. */
export class RpcInternalFailure extends Error {}

/** Collects error lines of the server (its catch-all logs "RPC handler failed"). */
class CaptureLogger implements Logger {
  failures: string[] = [];
  debug(): void {}
  info(): void {}
  error(msg: string, fields?: LogFields): void {
    this.failures.push(`${msg} ${String(fields?.err ?? "")}`);
  }
  with(): Logger {
    return this;
  }
}

const rpcLog = new CaptureLogger();
const rpcServer = new RPCServer({
  laddr: "tcp://127.0.0.1:0", // never started: handle() is called directly
  routes: ROUTES,
  unsafe: true,
  logger: rpcLog,
});

/** Non-2xx answers are typed rejections; an internal failure is not. */
class RpcRejected extends Error {}

const rpcHttp: FuzzTarget = {
  name: "rpc_http",
  kind: "json",
  seeds: () => [
    enc.encode(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "status", params: {} })),
    enc.encode(JSON.stringify([
      {
        jsonrpc: "2.0",
        id: "a",
        method: "dial_peers",
        params: { peers: ["0123456789abcdef0123456789abcdef01234567@127.0.0.1:1"] },
      },
      { jsonrpc: "2.0", id: 2, method: "net_info" },
      { jsonrpc: "2.0", method: "health" },
    ])),
    enc.encode(
      JSON.stringify({ jsonrpc: "2.0", id: 3, method: "dial_seeds", params: [["a@127.0.0.1:1"]] }),
    ),
  ],
  async run(input) {
    const res = await rpcServer.handle(
      new Request("http://127.0.0.1/", {
        method: "POST",
        body: input as Uint8Array<ArrayBuffer>,
        headers: { "content-type": "application/json" },
      }),
    );
    const text = await res.text();
    if (rpcLog.failures.length > 0) {
      const f = rpcLog.failures.join("; ");
      rpcLog.failures = [];
      throw new RpcInternalFailure(f);
    }
    if (res.status !== 200 || text.includes('"error"')) throw new RpcRejected(String(res.status));
  },
  typed: typedBy(RpcRejected),
};

/** The file and RPC targets. */
export const FILE_TARGETS: readonly FuzzTarget[] = [
  config,
  nodeKey,
  addrbook,
  rpcJsonParams,
  rpcUriParams,
  rpcHttp,
];
