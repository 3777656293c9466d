/**
 * NodeInfo (CometBFT `p2p/node_info.go`): what a node says about itself right after the
 * SecretConnection is authenticated — its ID, listen address, chain, software version, channels.
 * Wire form is `tendermint.p2p.DefaultNodeInfo`, exchanged as one uvarint-delimited message of at
 * most 10240 bytes in each direction at once; the peer's copy is then validated
 * ({@link validateNodeInfo}) and checked against ours ({@link compatibleWith}).
 * @module
 */
import { readDelimited, writeDelimited } from "../libs/protoio.ts";
import { BLOCK_PROTOCOL, P2P_PROTOCOL, SOFTWARE_VERSION } from "../version.ts";
import type { ByteStream } from "./conn/stream.ts";
import {
  HandshakeError,
  HandshakeTimeoutError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
} from "./errors.ts";
import { type HostResolver, idAddressString, NetAddress } from "./netaddress.ts";
import { decode, encode, protoType } from "./proto.ts";

/** Largest NodeInfo we read (`maxNodeInfoSize`); applies to the declared length. */
export const MAX_NODE_INFO_SIZE = 10240;
/** Most channels a NodeInfo may list (`maxNumChannels`). */
export const MAX_NUM_CHANNELS = 16;
/** Deadline of the NodeInfo exchange, separate from the SecretConnection's (Go: 3 s). */
export const DEFAULT_NODE_INFO_EXCHANGE_TIMEOUT_MS = 3000;
/** `listen_addr` CometBFT uses when neither `external_address` nor `laddr` is set. */
export const DEFAULT_LISTEN_ADDR = "tcp://0.0.0.0:26656";

/** Protocol versions; only `block` is compared between peers. */
export interface ProtocolVersion {
  /** P2P protocol version (8 for CometBFT v0.38). */
  p2p: number;
  /** Block protocol version (11 for CometBFT v0.38); peers must agree. */
  block: number;
  /** Application protocol version. */
  app: number;
}

/** A node's self-description (Go `DefaultNodeInfo`). */
export interface NodeInfo {
  /** Protocol versions. */
  protocolVersion: ProtocolVersion;
  /** Node ID (protobuf `default_node_id`, JSON `id`). */
  id: string;
  /** Self-reported listen address, verbatim (may carry `tcp://`). */
  listenAddr: string;
  /** Chain ID. */
  network: string;
  /** Software version. */
  version: string;
  /** One byte per channel ID, in advertised order. */
  channels: Uint8Array;
  /** Human-readable node name. */
  moniker: string;
  /** Tx indexer state (`on`/`off`) and RPC address, as CometBFT reports them. */
  other: { txIndex: string; rpcAddress: string };
}

/** Parameters of {@link makeNodeInfo}. */
export interface MakeNodeInfoParams {
  /** Our node ID. */
  id: string;
  /** Chain ID. */
  network: string;
  /** Human-readable node name. */
  moniker: string;
  /** Channel IDs we serve, in registration order. */
  channels: Uint8Array | readonly number[];
  /** Default {@link DEFAULT_LISTEN_ADDR}. */
  listenAddr?: string;
  /** Default `""`. */
  rpcAddress?: string;
  /** Default {@link SOFTWARE_VERSION}. */
  version?: string;
  /** Default `"off"` (switchyard indexes nothing). */
  txIndex?: string;
  /** Overrides of the protocol versions (default p2p 8, block 11, app 0). */
  protocolVersion?: Partial<ProtocolVersion>;
}

/** Our own NodeInfo, with CometBFT v0.38's defaults for what `params` leaves out. */
export function makeNodeInfo(params: MakeNodeInfoParams): NodeInfo {
  return {
    protocolVersion: {
      p2p: params.protocolVersion?.p2p ?? P2P_PROTOCOL,
      block: params.protocolVersion?.block ?? BLOCK_PROTOCOL,
      app: params.protocolVersion?.app ?? 0,
    },
    id: params.id,
    listenAddr: params.listenAddr ?? DEFAULT_LISTEN_ADDR,
    network: params.network,
    version: params.version ?? SOFTWARE_VERSION,
    channels: Uint8Array.from(params.channels),
    moniker: params.moniker,
    other: { txIndex: params.txIndex ?? "off", rpcAddress: params.rpcAddress ?? "" },
  };
}

/** Whether `ni` advertises channel `chId`. */
export function hasChannel(ni: NodeInfo, chId: number): boolean {
  return ni.channels.includes(chId);
}

const nodeInfoType = () => protoType("tendermint.p2p.DefaultNodeInfo");

/** The `DefaultNodeInfo` protobuf bytes (not delimited), byte-identical to Go's. */
export function encodeNodeInfo(ni: NodeInfo): Uint8Array {
  return encode(nodeInfoType(), {
    protocol_version: {
      p2p: ni.protocolVersion.p2p,
      block: ni.protocolVersion.block,
      app: ni.protocolVersion.app,
    },
    default_node_id: ni.id,
    listen_addr: ni.listenAddr,
    network: ni.network,
    version: ni.version,
    channels: ni.channels,
    moniker: ni.moniker,
    other: { tx_index: ni.other.txIndex, rpc_address: ni.other.rpcAddress },
  });
}

/** A protobufjs uint64 (Long or number) as a number; exact up to 2^53. */
function u64(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "object" && v !== null && "toNumber" in v) {
    return (v as { toNumber(): number }).toNumber();
  }
  return 0;
}

interface DefaultNodeInfoProto {
  protocol_version?: { p2p?: unknown; block?: unknown; app?: unknown } | null;
  default_node_id?: string;
  listen_addr?: string;
  network?: string;
  version?: string;
  channels?: Uint8Array;
  moniker?: string;
  other?: { tx_index?: string; rpc_address?: string } | null;
}

/**
 * Decodes `DefaultNodeInfo` bytes (not delimited). Missing fields take their zero values, unknown
 * fields are skipped, as in Go. Nothing is validated here.
 * @throws HandshakeError on malformed protobuf.
 */
export function decodeNodeInfo(bytes: Uint8Array): NodeInfo {
  let pb: DefaultNodeInfoProto;
  try {
    pb = decode<DefaultNodeInfoProto>(nodeInfoType(), bytes);
  } catch (err) {
    throw new HandshakeError(`decoding NodeInfo: ${(err as Error).message}`, { cause: err });
  }
  const pv = pb.protocol_version ?? {};
  const other = pb.other ?? {};
  return {
    protocolVersion: { p2p: u64(pv.p2p), block: u64(pv.block), app: u64(pv.app) },
    id: pb.default_node_id ?? "",
    listenAddr: pb.listen_addr ?? "",
    network: pb.network ?? "",
    version: pb.version ?? "",
    // A copy: plain Uint8Array, not a view into the read buffer (or a Node Buffer).
    channels: Uint8Array.from(pb.channels ?? []),
    moniker: pb.moniker ?? "",
    other: { txIndex: other.tx_index ?? "", rpcAddress: other.rpc_address ?? "" },
  };
}

/** Go `cmtstrings.IsASCIIText`: non-empty, bytes 0x20–0x7E only. */
function isASCIIText(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Whether printable ASCII `s` is nothing but spaces (Go `ASCIITrim(s) == ""`). */
function allSpaces(s: string): boolean {
  return s.replaceAll(" ", "") === "";
}

function upperHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).toUpperCase().padStart(2, "0");
  return s;
}

/** Options of {@link validateNodeInfo} / {@link nodeInfoNetAddress}. */
export interface NodeInfoAddressOptions {
  /** Resolver for a host-name `listen_addr` (default: /etc/hosts then DNS). */
  lookup?: HostResolver;
}

/**
 * Go's `DefaultNodeInfo.Validate()`, in Go's order: `id@listen_addr` must parse as a NetAddress
 * (host names are resolved, hence async), then version, channels (≤16, no duplicates), moniker,
 * `other.tx_index`, `other.rpc_address`. Network and protocol versions are not checked here.
 * @throws InvalidNodeInfoError with Go's wording.
 */
export async function validateNodeInfo(
  ni: NodeInfo,
  opts: NodeInfoAddressOptions = {},
): Promise<void> {
  try {
    await NetAddress.parse(idAddressString(ni.id, ni.listenAddr), opts);
  } catch (err) {
    throw new InvalidNodeInfoError((err as Error).message, { cause: err });
  }
  if (ni.version.length > 0 && (!isASCIIText(ni.version) || allSpaces(ni.version))) {
    throw new InvalidNodeInfoError(
      `info.Version must be valid ASCII text without tabs, but got ${ni.version}`,
    );
  }
  if (ni.channels.length > MAX_NUM_CHANNELS) {
    throw new InvalidNodeInfoError(
      `info.Channels is too long (${ni.channels.length}). Max is ${MAX_NUM_CHANNELS}`,
    );
  }
  const seen = new Set<number>();
  for (const ch of ni.channels) {
    if (seen.has(ch)) {
      throw new InvalidNodeInfoError(`info.Channels contains duplicate channel id ${ch}`);
    }
    seen.add(ch);
  }
  if (!isASCIIText(ni.moniker) || allSpaces(ni.moniker)) {
    throw new InvalidNodeInfoError(
      `info.Moniker must be valid non-empty ASCII text without tabs, but got ${ni.moniker}`,
    );
  }
  const txIndex = ni.other.txIndex;
  if (txIndex !== "" && txIndex !== "on" && txIndex !== "off") {
    throw new InvalidNodeInfoError(
      `info.Other.TxIndex should be either 'on', 'off', or empty string, got '${txIndex}'`,
    );
  }
  const rpc = ni.other.rpcAddress;
  if (rpc.length > 0 && (!isASCIIText(rpc) || allSpaces(rpc))) {
    throw new InvalidNodeInfoError(
      `info.Other.RPCAddress=${rpc} must be valid ASCII text without tabs`,
    );
  }
}

/**
 * Go's `ours.CompatibleWith(theirs)`: same block protocol, byte-equal network, and — if we
 * advertise any channel — at least one channel in common. p2p and app versions are ignored.
 * @throws IncompatibleNodeInfoError with Go's wording.
 */
export function compatibleWith(ours: NodeInfo, theirs: NodeInfo): void {
  if (ours.protocolVersion.block !== theirs.protocolVersion.block) {
    throw new IncompatibleNodeInfoError(
      `peer is on a different Block version. Got ${theirs.protocolVersion.block}, expected ${ours.protocolVersion.block}`,
    );
  }
  if (ours.network !== theirs.network) {
    throw new IncompatibleNodeInfoError(
      `peer is on a different network. Got ${theirs.network}, expected ${ours.network}`,
    );
  }
  if (ours.channels.length === 0) return; // a node with no channels is "just testing"
  for (const ch of ours.channels) if (theirs.channels.includes(ch)) return;
  throw new IncompatibleNodeInfoError(
    `peer has no common channels. Our channels: ${upperHex(ours.channels)} ; Peer channels: ${
      upperHex(theirs.channels)
    }`,
  );
}

/** The self-reported address `id@listen_addr`, parsed and resolved (Go `NodeInfo.NetAddress()`). */
export function nodeInfoNetAddress(
  ni: NodeInfo,
  opts: NodeInfoAddressOptions = {},
): Promise<NetAddress> {
  return NetAddress.parse(idAddressString(ni.id, ni.listenAddr), opts);
}

/** CometBFT's RPC JSON shape of a NodeInfo (`/status` `node_info`, `/net_info` peers). */
export interface NodeInfoJSON {
  protocol_version: { p2p: string; block: string; app: string };
  id: string;
  listen_addr: string;
  network: string;
  version: string;
  /** Upper-case hex (`HexBytes`). */
  channels: string;
  moniker: string;
  other: { tx_index: string; rpc_address: string };
}

/** `ni` as CometBFT's RPC renders it: uint64 as decimal strings, channels as upper-case hex. */
export function nodeInfoToJSON(ni: NodeInfo): NodeInfoJSON {
  return {
    protocol_version: {
      p2p: String(ni.protocolVersion.p2p),
      block: String(ni.protocolVersion.block),
      app: String(ni.protocolVersion.app),
    },
    id: ni.id,
    listen_addr: ni.listenAddr,
    network: ni.network,
    version: ni.version,
    channels: upperHex(ni.channels),
    moniker: ni.moniker,
    other: { tx_index: ni.other.txIndex, rpc_address: ni.other.rpcAddress },
  };
}

/** Options of {@link exchangeNodeInfo}. */
export interface ExchangeNodeInfoOptions {
  /** Deadline for the whole exchange; default 3000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Our own NodeInfo is the same object for every handshake (the transport replaces it, never
 * mutates it), so its encoding is kept rather than redone per connection.
 */
const ownEncoded = new WeakMap<NodeInfo, Uint8Array>();

function encodedOwnNodeInfo(ni: NodeInfo): Uint8Array {
  let bytes = ownEncoded.get(ni);
  if (!bytes) ownEncoded.set(ni, bytes = encodeNodeInfo(ni));
  return bytes;
}

/**
 * Sends our NodeInfo and reads the peer's, concurrently (neither side waits for the other to go
 * first), under one deadline. Returns the peer's NodeInfo, unvalidated.
 *
 * On failure the stream is left open, possibly with a read or write still pending: the caller
 * must close it (which settles them).
 * @throws HandshakeTimeoutError past the deadline; MessageTooLargeError when the peer declares
 * more than 10240 bytes; HandshakeError for EOF, I/O errors, malformed bytes or an abort.
 */
export async function exchangeNodeInfo(
  stream: ByteStream,
  ours: NodeInfo,
  opts: ExchangeNodeInfoOptions = {},
): Promise<NodeInfo> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_NODE_INFO_EXCHANGE_TIMEOUT_MS;
  const { signal } = opts;
  if (signal?.aborted) {
    throw new HandshakeError("NodeInfo exchange aborted", { cause: signal.reason });
  }
  const msg = encodedOwnNodeInfo(ours);

  // One controller ends the wait on the deadline or on the caller's abort.
  const stop = new AbortController();
  const timer = setTimeout(() => {
    stop.abort(new HandshakeTimeoutError(`NodeInfo exchange timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => {
    stop.abort(new HandshakeError("NodeInfo exchange aborted", { cause: signal?.reason }));
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  const writing = writeDelimited(stream, msg).catch((err) => {
    throw new HandshakeError(`writing NodeInfo: ${(err as Error).message}`, { cause: err });
  });
  const reading = readDelimited(stream, MAX_NODE_INFO_SIZE, { signal: stop.signal }).catch(
    (err) => {
      if (err instanceof HandshakeError) throw err; // timeout, abort, too large, bad varint
      throw new HandshakeError(`reading NodeInfo: ${(err as Error).message}`, { cause: err });
    },
  );
  let stopped: () => void = () => {};
  const whenStopped = new Promise<never>((_, reject) => {
    stopped = () => reject(stop.signal.reason);
    stop.signal.addEventListener("abort", stopped, { once: true });
  });
  try {
    const [, bytes] = await Promise.race([Promise.all([writing, reading]), whenStopped]);
    return decodeNodeInfo(bytes);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    stop.signal.removeEventListener("abort", stopped);
    // Whichever of these lost the race settles when the caller closes the stream.
    writing.catch(() => {});
    reading.catch(() => {});
  }
}
