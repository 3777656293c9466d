/**
 * The configuration schema: the typed {@link Config} the node runs on, every default as a named
 * constant, and the shape of a key's entry in `keys.ts` (`KEYS`, the one table of known keys).
 *
 * The TOML file keeps CometBFT's snake_case keys and layout (`[p2p] max_num_inbound_peers`); the
 * typed object uses camelCase, durations in milliseconds (fields end in `Ms`), lists as arrays and
 * file paths resolved against the home directory.
 * @module
 */
import { BLOCK_PROTOCOL } from "../version.ts";
import { type CometbftLineSetting, DEFAULT_COMETBFT_LINE } from "../p2p/cometbft_line.ts";

// ---- Top level (CometBFT BaseConfig) ----
/** Moniker used when the host name cannot be read (CometBFT's fallback). */
export const FALLBACK_MONIKER = "anonymous";
/** `node_key_file`, relative to the home directory. */
export const DEFAULT_NODE_KEY_FILE = "config/node_key.json";
/** `log_level`. */
export const DEFAULT_LOG_LEVEL = "info";
/** `log_format`. */
export const DEFAULT_LOG_FORMAT = "plain";
/** `chain_id` (ours): empty means "read it from `genesis_file`". */
export const DEFAULT_CHAIN_ID = "";
/** Chain ID that `init` and a first run write into a new config, so a fresh home starts. */
export const INIT_CHAIN_ID = "switchyard-local";
/** `genesis_file`, relative to the home directory. */
export const DEFAULT_GENESIS_FILE = "config/genesis.json";
/** `cometbft_line` (ours): the CometBFT release line spoken (versions, message tables). */
export const DEFAULT_CONFIG_COMETBFT_LINE: CometbftLineSetting = DEFAULT_COMETBFT_LINE;
/** Longest chain ID CometBFT accepts (`MaxChainIDLen`). */
export const MAX_CHAIN_ID_LENGTH = 50;

// ---- [p2p] (CometBFT DefaultP2PConfig) ----
/** `p2p.laddr`. */
export const DEFAULT_P2P_LADDR = "tcp://0.0.0.0:26656";
/** `p2p.addr_book_file`, relative to the home directory. */
export const DEFAULT_ADDR_BOOK_FILE = "config/addrbook.json";
/** `p2p.max_num_inbound_peers`. */
export const DEFAULT_MAX_NUM_INBOUND_PEERS = 40;
/** `p2p.max_num_outbound_peers`. */
export const DEFAULT_MAX_NUM_OUTBOUND_PEERS = 10;
/** `p2p.persistent_peers_max_dial_period` (0 = plain exponential backoff). */
export const DEFAULT_PERSISTENT_PEERS_MAX_DIAL_PERIOD = "0s";
/** `p2p.flush_throttle_timeout`. */
export const DEFAULT_FLUSH_THROTTLE_TIMEOUT = "100ms";
/** `p2p.max_packet_msg_payload_size`, bytes. */
export const DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE = 1024;
/** `p2p.send_rate` / `p2p.recv_rate`, bytes per second. */
export const DEFAULT_RATE_BYTES_PER_SEC = 5120000;
/** `p2p.handshake_timeout` (written by CometBFT, unused by its v0.38 transport). */
export const DEFAULT_HANDSHAKE_TIMEOUT = "20s";
/** `p2p.dial_timeout` (written by CometBFT, unused by its v0.38 transport). */
export const DEFAULT_DIAL_TIMEOUT = "3s";

// ---- [p2p] switchyard extras ----
/** `p2p.ping_interval`: MConnection keep-alive ping period (CometBFT's fixed 60 s). */
export const DEFAULT_PING_INTERVAL = "60s";
/** `p2p.pong_timeout`: disconnect when no pong arrives this long after a ping (CometBFT 45 s). */
export const DEFAULT_PONG_TIMEOUT = "45s";
/** `p2p.reactor_error_redial_cooldown`: persistent peers stopped by a reactor error wait this long. */
export const DEFAULT_REACTOR_ERROR_REDIAL_COOLDOWN = "60s";
/**
 * `p2p.max_waiting_sends_per_peer`: reactor sends that may wait for send-queue room on one peer
 * at once; past it `send` returns false at once (the MConnection's `DEFAULT_MAX_WAITING_SENDS`).
 */
export const DEFAULT_MAX_WAITING_SENDS_PER_PEER = 1024;
/** `p2p.max_pending_handshakes`: inbound connections allowed mid-handshake at once. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 64;
/** `p2p.max_pending_handshakes_per_ip`: inbound handshakes in flight from one IP at once. */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP = 8;

// ---- [p2p.seed] switchyard seed-mode extras ----
/** `p2p.seed.disconnect_wait`: how long a seed keeps an inbound peer after answering its PexRequest. */
export const DEFAULT_SEED_DISCONNECT_WAIT = "3s";
/**
 * `p2p.seed.max_connection`: a seed disconnects any non-persistent peer connected longer than
 * this (CometBFT hard-codes 28 h as `SeedDisconnectWaitPeriod`; a seed's job is done in seconds).
 */
export const DEFAULT_SEED_MAX_CONNECTION = "2m";
/** `p2p.seed.crawl_period`: period of the crawl round (CometBFT's 30 s). */
export const DEFAULT_SEED_CRAWL_PERIOD = "30s";
/** `p2p.seed.recheck_period`: an address is re-verified after this long. */
export const DEFAULT_SEED_RECHECK_PERIOD = "30m";
/** `p2p.seed.address_expiry`: an address not verified for this long is dropped. */
export const DEFAULT_SEED_ADDRESS_EXPIRY = "72h";
/** `p2p.seed.verify_workers`: concurrent verification dials. */
export const DEFAULT_SEED_VERIFY_WORKERS = 8;
/** `p2p.seed.verify_rate`: verification dials started per second (0 = unlimited). */
export const DEFAULT_SEED_VERIFY_RATE = 10;
/**
 * `p2p.seed.crawl_interval`: period of the scheduled network crawl (`crawler/`, the `crawl`
 * command's engine) whose verified set the seed serves on RPC `peers`; 0 = off. Not
 * `crawl_period`, which paces CometBFT's own seed crawl round.
 */
export const DEFAULT_SEED_CRAWL_INTERVAL = "0s";
/** `p2p.seed.crawl_concurrency`: probes in flight during a scheduled crawl. */
export const DEFAULT_SEED_CRAWL_CONCURRENCY = 16;
/** `p2p.seed.crawl_rate`: probe starts per second during a scheduled crawl (0 = unlimited). */
export const DEFAULT_SEED_CRAWL_RATE = 20;
/** `p2p.seed.crawl_depth`: hops a scheduled crawl follows from the book's addresses. */
export const DEFAULT_SEED_CRAWL_DEPTH = 8;
/** `p2p.seed.crawl_timeout`: bound of one scheduled crawl. */
export const DEFAULT_SEED_CRAWL_TIMEOUT = "5m";
/** `p2p.seed.crawl_history`: store each scheduled crawl in `<home>/data/crawl.db`. */
export const DEFAULT_SEED_CRAWL_HISTORY = false;

// ---- [rpc] ----
/** `rpc.laddr`. */
export const DEFAULT_RPC_LADDR = "tcp://127.0.0.1:26657";
/** `rpc.max_body_bytes`. */
export const DEFAULT_RPC_MAX_BODY_BYTES = 1000000;
/** `rpc.max_request_batch_size` (0 = unlimited). */
export const DEFAULT_RPC_MAX_REQUEST_BATCH_SIZE = 10;
/** `rpc.max_open_connections` (CometBFT default 900; 0 = unlimited). */
export const DEFAULT_RPC_MAX_OPEN_CONNECTIONS = 900;
/** `rpc.max_header_bytes` (CometBFT: 1 MiB, net/http's default). */
export const DEFAULT_RPC_MAX_HEADER_BYTES = 1 << 20;
/** `rpc.timeout_broadcast_tx_commit`: sets the RPC write timeout (this + 1 s), as in CometBFT. */
export const DEFAULT_RPC_TIMEOUT_BROADCAST_TX_COMMIT = "10s";
/** `rpc.read_timeout` (switchyard; CometBFT hard-codes 10 s): a request must arrive within it. */
export const DEFAULT_RPC_READ_TIMEOUT = "10s";

// ---- [instrumentation] ----
/** `instrumentation.prometheus_listen_addr`. */
export const DEFAULT_PROMETHEUS_LISTEN_ADDR = ":26660";
/** `instrumentation.max_open_connections` (0 = unlimited). */
export const DEFAULT_METRICS_MAX_OPEN_CONNECTIONS = 3;
/** `instrumentation.namespace`. */
export const DEFAULT_METRICS_NAMESPACE = "cometbft";

// ---- [node] switchyard extras ----
/** Built-in reactors `node.reactors` may name. */
export const KNOWN_REACTORS = ["pex", "consensus_watcher", "tx_relay", "chat"] as const;
/** A built-in reactor name. */
export type ReactorName = typeof KNOWN_REACTORS[number];
/** `node.reactors`. */
export const DEFAULT_REACTORS: readonly ReactorName[] = ["pex"];
/** `node.tx_index`: NodeInfo `other.tx_index`. */
export const DEFAULT_TX_INDEX = "off";
/** `node.version`: NodeInfo `version`; empty = the `cometbft_line`'s release (e.g. 0.38.25). */
export const DEFAULT_NODE_VERSION = "";
/** `node.protocol_block`: must equal the peers' or they refuse us. */
export const DEFAULT_PROTOCOL_BLOCK = BLOCK_PROTOCOL;
/** `node.protocol_app`. */
export const DEFAULT_PROTOCOL_APP = 0;

/** The `[p2p.seed]` table. */
export interface SeedConfig {
  /** `p2p.seed.disconnect_wait`: how long a seed keeps an inbound peer after answering it. */
  disconnectWaitMs: number;
  /** `p2p.seed.max_connection`: a seed disconnects peers connected longer than this. */
  maxConnectionMs: number;
  /** `p2p.seed.crawl_period`: period of the crawl round (dial known addresses, ask for more). */
  crawlPeriodMs: number;
  /** `p2p.seed.recheck_period`: how often a served address is re-verified live. */
  recheckPeriodMs: number;
  /** `p2p.seed.address_expiry`: an address unreachable this long is forgotten. */
  addressExpiryMs: number;
  /** `p2p.seed.verify_workers`: concurrent verification handshakes. */
  verifyWorkers: number;
  /** `p2p.seed.verify_rate`: verification handshakes started per second at most. */
  verifyRate: number;
  /** `p2p.seed.crawl_interval`: period of the scheduled network crawl (0 = off). */
  crawlIntervalMs: number;
  /** `p2p.seed.crawl_concurrency`: concurrent probes of a scheduled crawl. */
  crawlConcurrency: number;
  /** `p2p.seed.crawl_rate`: probes started per second at most by a scheduled crawl. */
  crawlRate: number;
  /** `p2p.seed.crawl_depth`: hops a scheduled crawl follows from the address book. */
  crawlDepth: number;
  /** `p2p.seed.crawl_timeout`: longest one scheduled crawl may run. */
  crawlTimeoutMs: number;
  /** `p2p.seed.crawl_history`: record each scheduled crawl in the history database. */
  crawlHistory: boolean;
}

/** The `[p2p]` table: CometBFT's 20 keys, then switchyard's. */
export interface P2PConfig {
  /** `p2p.laddr`: `tcp://host:port` the node listens on. */
  laddr: string;
  /** `p2p.external_address`: the `host:port` advertised to peers ("" = `laddr`). */
  externalAddress: string;
  /** `p2p.seeds`: `id@host:port` entries (syntax checked, not resolved). */
  seeds: string[];
  /** `p2p.persistent_peers`: `id@host:port` entries kept connected (redialed). */
  persistentPeers: string[];
  /** `p2p.addr_book_file`: absolute path of the address book. */
  addrBookFile: string;
  /** `p2p.addr_book_strict`: keep only routable addresses in the book. */
  addrBookStrict: boolean;
  /** `p2p.max_num_inbound_peers`. */
  maxNumInboundPeers: number;
  /** `p2p.max_num_outbound_peers`. */
  maxNumOutboundPeers: number;
  /** `p2p.unconditional_peer_ids`: IDs admitted past the peer limits. */
  unconditionalPeerIds: string[];
  /** `p2p.persistent_peers_max_dial_period`: cap of the redial backoff (0 = none). */
  persistentPeersMaxDialPeriodMs: number;
  /** `p2p.flush_throttle_timeout`: MConnection write batching delay. */
  flushThrottleTimeoutMs: number;
  /** `p2p.max_packet_msg_payload_size`: bytes per MConnection packet. */
  maxPacketMsgPayloadSize: number;
  /** `p2p.send_rate`: bytes per second sent to one peer at most. */
  sendRate: number;
  /** `p2p.recv_rate`: bytes per second read from one peer at most. */
  recvRate: number;
  /** `p2p.pex`: run the PEX reactor (peer exchange). */
  pex: boolean;
  /** `p2p.seed_mode`: act as a seed (crawl, answer, hang up). */
  seedMode: boolean;
  /** `p2p.private_peer_ids`: IDs never gossiped to other peers. */
  privatePeerIds: string[];
  /** `p2p.allow_duplicate_ip`: admit several peers from one IP. */
  allowDuplicateIp: boolean;
  /** `p2p.handshake_timeout`: SecretConnection + NodeInfo exchange deadline. */
  handshakeTimeoutMs: number;
  /** `p2p.dial_timeout`: TCP connect deadline. */
  dialTimeoutMs: number;
  /** `p2p.ping_interval`: MConnection keep-alive ping period. */
  pingIntervalMs: number;
  /** `p2p.pong_timeout`: a peer silent this long after a ping is dropped. */
  pongTimeoutMs: number;
  /** `p2p.reactor_error_redial_cooldown`: pause before redialing a persistent peer a reactor error stopped. */
  reactorErrorRedialCooldownMs: number;
  /** `p2p.max_pending_handshakes`: inbound handshakes in progress at most. */
  maxPendingHandshakes: number;
  /** `p2p.max_pending_handshakes_per_ip`: the same, per remote IP. */
  maxPendingHandshakesPerIp: number;
  /** `p2p.max_waiting_sends_per_peer`: reactor sends that may wait for queue room on one peer. */
  maxWaitingSendsPerPeer: number;
  /** IPs, CIDR ranges and node IDs never connected to. */
  denyList: string[];
  /** The `[p2p.seed]` table. */
  seed: SeedConfig;
}

/** The `[rpc]` table. */
export interface RPCConfig {
  /** `tcp://host:port`, `unix:///path`, or "" (no RPC server). */
  laddr: string;
  /** `rpc.unsafe`: serve the routes that change state (`dial_seeds`, `dial_peers`). */
  unsafe: boolean;
  /** `rpc.max_body_bytes`: largest request body. */
  maxBodyBytes: number;
  /** `rpc.max_request_batch_size`: most calls in one JSON-RPC batch. */
  maxRequestBatchSize: number;
  /** `rpc.max_open_connections`: concurrent HTTP connections at most. */
  maxOpenConnections: number;
  /** `rpc.max_header_bytes`: largest request header block. */
  maxHeaderBytes: number;
  /** `rpc.timeout_broadcast_tx_commit` (accepted for cometbft configs). */
  timeoutBroadcastTxCommitMs: number;
  /** `rpc.read_timeout`: deadline for reading one request. */
  readTimeoutMs: number;
}

/** The `[instrumentation]` table. */
export interface InstrumentationConfig {
  /** `instrumentation.prometheus`: serve Prometheus metrics. */
  prometheus: boolean;
  /** `instrumentation.prometheus_listen_addr`: `:port` or `host:port` of the metrics server. */
  prometheusListenAddr: string;
  /** `instrumentation.max_open_connections`: concurrent metrics connections at most. */
  maxOpenConnections: number;
  /** `instrumentation.namespace`: metric name prefix. */
  namespace: string;
  /** Per-peer labels on metrics (off by default: cardinality). */
  peerLabels: boolean;
}

/** The `[node]` table (switchyard only). */
export interface NodeConfig {
  /** NodeInfo `version`; "" = the `cometbft_line`'s release version. */
  version: string;
  /** `node.protocol_block`: NodeInfo block protocol (peers must match it). */
  protocolBlock: number;
  /** `node.protocol_app`: NodeInfo app protocol. */
  protocolApp: number;
  /** `node.reactors`: the built-in reactors to run. */
  reactors: ReactorName[];
  /** `node.tx_index`: NodeInfo `other.tx_index`. */
  txIndex: "on" | "off";
}

/** The whole typed configuration. */
export interface Config {
  /** Absolute home directory every relative path was resolved against. */
  home: string;
  /** `moniker`: the human-readable node name in NodeInfo. */
  moniker: string;
  /** `node_key_file`: absolute path of the node key. */
  nodeKeyFile: string;
  /** `log_level`: `info`, or per module (`p2p:debug,*:info`). */
  logLevel: string;
  /** `log_format`. */
  logFormat: "plain" | "json";
  /** "" = read from {@link Config.genesisFile}. */
  chainId: string;
  /** The CometBFT line spoken: advertised versions and per-channel message tables. */
  cometbftLine: CometbftLineSetting;
  /** Absolute path, or "" when unset. */
  genesisFile: string;
  /** The `[p2p]` table. */
  p2p: P2PConfig;
  /** The `[rpc]` table. */
  rpc: RPCConfig;
  /** The `[instrumentation]` table. */
  instrumentation: InstrumentationConfig;
  /** The `[node]` table. */
  node: NodeConfig;
}

/** How a key's value is typed in TOML and converted. */
export type KeyKind = "string" | "path" | "bool" | "int" | "duration" | "list";

/** A TOML value as written in the file (lists of strings only). */
export type TomlValue = string | number | boolean | string[];

/** Tables of the file, in rendering order ("" = top level). */
export const SECTIONS = ["", "rpc", "p2p", "p2p.seed", "instrumentation", "node"] as const;
/** A table of the file. */
export type Section = typeof SECTIONS[number];

/** One known key of `config.toml`. */
export interface KeySpec {
  /** Dotted path: `moniker`, `p2p.laddr`, `p2p.seed.crawl_period`. */
  readonly path: string;
  readonly section: Section;
  /** Key inside its table. */
  readonly key: string;
  /** camelCase field of the typed section object. */
  readonly field: string;
  readonly kind: KeyKind;
  /** Default in file form. `undefined` = computed at load time (moniker). */
  readonly default: TomlValue | undefined;
  /** Comment written above the key in a rendered config (lines joined by \n). */
  readonly doc: string;
  /** Lists: CometBFT's comma-separated string, or a TOML array. */
  readonly listStyle?: "comma" | "array";
  /** Whether CometBFT has this key (else it is a switchyard extension). */
  readonly cometbft: boolean;
}
