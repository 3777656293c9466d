/**
 * The node's RPC routes with CometBFT's names, parameters, result shapes and error texts
 * (spec §16.4–16.7, Go `rpc/core/{health,status,net}.go`): `health`, `status`, `net_info`, and
 * the unsafe `dial_seeds` and `dial_peers`. Reactors contribute further routes (for example
 * `broadcast_tx_async`) through the registry; {@link nodeRoutes} merges them.
 * @module
 */
import type { NodeInfo } from "../p2p/node_info.ts";
import { type NodeInfoJSON, nodeInfoToJSON } from "../p2p/node_info.ts";
import {
  type ConnectionStatus,
  type ConnectionStatusJSON,
  connectionStatusToJSON,
} from "../p2p/conn/mconnection_status.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import type { Route, RouteArgs } from "../rpc/types.ts";
import { netInfoConsensusHeight } from "../reactors/peer_state.ts";

/** A connected peer as `/net_info` reads it (a `Peer` fits). */
export interface RpcPeer {
  readonly nodeInfo: NodeInfo;
  readonly isOutbound: boolean;
  readonly remoteIP: string;
  status(): ConnectionStatus;
  /** The per-peer key-value store (the consensus watcher's peer state lives there). */
  get(key: string): unknown;
}

/** What the routes need from the switch (a `Switch` fits). */
export interface RpcSwitch {
  peers(): { list(): readonly RpcPeer[] };
  dialPeersAsync(addrs: readonly string[]): Promise<void>;
  addPersistentPeers(addrs: readonly string[]): Promise<void>;
  addUnconditionalPeerIds(ids: readonly string[]): void;
  addPrivatePeerIds(ids: readonly string[]): void;
}

/** Everything the node routes read. */
export interface NodeRouteContext {
  /** Our current NodeInfo (what the handshake sends). */
  nodeInfo(): NodeInfo;
  /** Our node public key (32 bytes), shown as `validator_info.pub_key`. */
  readonly pubKey: Uint8Array;
  readonly sw: RpcSwitch;
  /** True once the p2p listener is up. */
  isListening(): boolean;
  /** `p2p.external_address` verbatim (for `listeners`). */
  readonly externalAddress: string;
  /** Module `rpc` logger. */
  readonly logger?: Logger;
}

/** CometBFT's `/status` result. */
export interface StatusResult {
  node_info: NodeInfoJSON;
  sync_info: {
    latest_block_hash: string;
    latest_app_hash: string;
    latest_block_height: string;
    latest_block_time: string;
    earliest_block_hash: string;
    earliest_app_hash: string;
    earliest_block_height: string;
    earliest_block_time: string;
    catching_up: boolean;
  };
  validator_info: {
    address: string;
    pub_key: { type: string; value: string };
    voting_power: string;
  };
}

/** One entry of `/net_info` `peers`. */
export interface NetInfoPeer {
  node_info: NodeInfoJSON;
  is_outbound: boolean;
  connection_status: ConnectionStatusJSON;
  remote_ip: string;
  /**
   * switchyard extension: the peer's consensus height as the consensus watcher recorded it
   * (decimal string, like CometBFT's int64s); absent when no watcher runs or it heard nothing.
   */
  consensus_height?: string;
}

/** CometBFT's `/net_info` result. */
export interface NetInfoResult {
  listening: boolean;
  listeners: string[];
  n_peers: string;
  peers: NetInfoPeer[];
}

/** Go's `time.Unix(0, 0)` rendered by CometBFT's JSON encoder (an empty block store). */
export const UNIX_EPOCH_TIME = "1970-01-01T00:00:00Z";
/** Amino type name of an Ed25519 public key. */
export const PUBKEY_ED25519_TYPE = "tendermint/PubKeyEd25519";

/** Standard base64 with padding (Go's `[]byte` JSON). */
function encodeBase64(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

/** Go's `ErrNetAddressNoID` text. */
function noIdError(addr: string): Error {
  return new Error(`address (${addr}) does not contain ID`);
}

/** Go's `getIDs`: the text before the one `@` of each entry (protocol prefix not stripped). */
export function peerIds(peers: readonly string[]): string[] {
  return peers.map((p) => {
    const parts = p.split("@");
    if (parts.length !== 2) throw noIdError(p);
    return parts[0];
  });
}

/** `/status` for a p2p-only node (no block store, no validator key). */
export function statusResult(ctx: NodeRouteContext): StatusResult {
  const ni = ctx.nodeInfo();
  return {
    node_info: nodeInfoToJSON(ni),
    sync_info: {
      latest_block_hash: "",
      latest_app_hash: "",
      latest_block_height: "0",
      latest_block_time: UNIX_EPOCH_TIME,
      earliest_block_hash: "",
      earliest_app_hash: "",
      earliest_block_height: "0",
      earliest_block_time: UNIX_EPOCH_TIME,
      catching_up: false,
    },
    validator_info: {
      // The node ID is the key's address (first 20 bytes of SHA-256), so this is its hex.
      address: ni.id.toUpperCase(),
      pub_key: { type: PUBKEY_ED25519_TYPE, value: encodeBase64(ctx.pubKey) },
      voting_power: "0",
    },
  };
}

/** `/net_info`. */
export function netInfoResult(ctx: NodeRouteContext): NetInfoResult {
  const peers = ctx.sw.peers().list().map((p): NetInfoPeer => ({
    node_info: nodeInfoToJSON(p.nodeInfo),
    is_outbound: p.isOutbound,
    connection_status: connectionStatusToJSON(p.status()),
    remote_ip: p.remoteIP,
    consensus_height: netInfoConsensusHeight(p),
  }));
  return {
    listening: ctx.isListening(),
    listeners: [`Listener(@${ctx.externalAddress})`],
    n_peers: String(peers.length),
    peers,
  };
}

/** The node's routes; `extra` (from reactors) are appended, a duplicate name is an error. */
export function nodeRoutes(ctx: NodeRouteContext, extra: readonly Route[] = []): Route[] {
  const log = ctx.logger ?? nopLogger;
  const routes: Route[] = [
    { name: "health", params: [], handler: () => ({}) },
    { name: "status", params: [], handler: () => statusResult(ctx) },
    { name: "net_info", params: [], handler: () => netInfoResult(ctx) },
    {
      name: "dial_seeds",
      params: [{ name: "seeds", type: "string[]" }],
      unsafe: true,
      async handler(args: RouteArgs) {
        const seeds = args.seeds as string[];
        if (seeds.length === 0) throw new Error("no seeds provided");
        log.info("DialSeeds", { seeds: seeds.join(",") });
        await ctx.sw.dialPeersAsync(seeds);
        return { log: "Dialing seeds in progress. See /net_info for details" };
      },
    },
    {
      name: "dial_peers",
      params: [
        { name: "peers", type: "string[]" },
        { name: "persistent", type: "bool" },
        { name: "unconditional", type: "bool" },
        { name: "private", type: "bool" },
      ],
      unsafe: true,
      async handler(args: RouteArgs) {
        const peers = args.peers as string[];
        const persistent = args.persistent as boolean;
        const unconditional = args.unconditional as boolean;
        const isPrivate = args.private as boolean;
        if (peers.length === 0) throw new Error("no peers provided");
        const ids = peerIds(peers);
        log.info("DialPeers", {
          peers: peers.join(","),
          persistent,
          unconditional,
          private: isPrivate,
        });
        if (persistent) await ctx.sw.addPersistentPeers(peers);
        if (isPrivate) ctx.sw.addPrivatePeerIds(ids);
        if (unconditional) ctx.sw.addUnconditionalPeerIds(ids);
        await ctx.sw.dialPeersAsync(peers);
        return { log: "Dialing peers in progress. See /net_info for details" };
      },
    },
  ];
  const names = new Set(routes.map((r) => r.name));
  for (const r of extra) {
    if (names.has(r.name)) throw new Error(`RPC route ${r.name} registered twice`);
    names.add(r.name);
    routes.push(r);
  }
  return routes;
}
