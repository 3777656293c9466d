/**
 * {@link KEYS}: every known `config.toml` key with its kind, default and comment, in rendering
 * order. Parsing, validation, rendering, flags and environment variables are all driven from it.
 * @module
 */
import {
  DEFAULT_ADDR_BOOK_FILE,
  DEFAULT_CHAIN_ID,
  DEFAULT_CONFIG_COMETBFT_LINE,
  DEFAULT_DIAL_TIMEOUT,
  DEFAULT_FLUSH_THROTTLE_TIMEOUT,
  DEFAULT_GENESIS_FILE,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_LOG_FORMAT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MAX_NUM_INBOUND_PEERS,
  DEFAULT_MAX_NUM_OUTBOUND_PEERS,
  DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP,
  DEFAULT_MAX_WAITING_SENDS_PER_PEER,
  DEFAULT_METRICS_MAX_OPEN_CONNECTIONS,
  DEFAULT_METRICS_NAMESPACE,
  DEFAULT_NODE_KEY_FILE,
  DEFAULT_NODE_VERSION,
  DEFAULT_P2P_LADDR,
  DEFAULT_PERSISTENT_PEERS_MAX_DIAL_PERIOD,
  DEFAULT_PING_INTERVAL,
  DEFAULT_PONG_TIMEOUT,
  DEFAULT_PROMETHEUS_LISTEN_ADDR,
  DEFAULT_PROTOCOL_APP,
  DEFAULT_PROTOCOL_BLOCK,
  DEFAULT_RATE_BYTES_PER_SEC,
  DEFAULT_REACTOR_ERROR_REDIAL_COOLDOWN,
  DEFAULT_REACTORS,
  DEFAULT_RPC_LADDR,
  DEFAULT_RPC_MAX_BODY_BYTES,
  DEFAULT_RPC_MAX_HEADER_BYTES,
  DEFAULT_RPC_MAX_OPEN_CONNECTIONS,
  DEFAULT_RPC_MAX_REQUEST_BATCH_SIZE,
  DEFAULT_RPC_READ_TIMEOUT,
  DEFAULT_RPC_TIMEOUT_BROADCAST_TX_COMMIT,
  DEFAULT_SEED_ADDRESS_EXPIRY,
  DEFAULT_SEED_CRAWL_CONCURRENCY,
  DEFAULT_SEED_CRAWL_DEPTH,
  DEFAULT_SEED_CRAWL_HISTORY,
  DEFAULT_SEED_CRAWL_INTERVAL,
  DEFAULT_SEED_CRAWL_PERIOD,
  DEFAULT_SEED_CRAWL_RATE,
  DEFAULT_SEED_CRAWL_TIMEOUT,
  DEFAULT_SEED_DISCONNECT_WAIT,
  DEFAULT_SEED_MAX_CONNECTION,
  DEFAULT_SEED_RECHECK_PERIOD,
  DEFAULT_SEED_VERIFY_RATE,
  DEFAULT_SEED_VERIFY_WORKERS,
  DEFAULT_TX_INDEX,
  type KeyKind,
  type KeySpec,
  KNOWN_REACTORS,
  type Section,
  type TomlValue,
} from "./schema.ts";
import { COMETBFT_LINE_SETTINGS } from "../p2p/cometbft_line.ts";

function k(
  path: string,
  field: string,
  kind: KeyKind,
  def: TomlValue | undefined,
  doc: string,
  extra: { listStyle?: "comma" | "array"; cometbft?: boolean } = {},
): KeySpec {
  const dot = path.lastIndexOf(".");
  const section = (dot < 0 ? "" : path.slice(0, dot)) as Section;
  return {
    path,
    section,
    key: path.slice(dot + 1),
    field,
    kind,
    default: def,
    doc,
    listStyle: kind === "list" ? extra.listStyle ?? "comma" : undefined,
    cometbft: extra.cometbft ?? true,
  };
}

const OURS = { cometbft: false };

/** Every known key, in rendering order. */
export const KEYS: readonly KeySpec[] = [
  k("moniker", "moniker", "string", undefined, "A custom human readable name for this node"),
  k(
    "node_key_file",
    "nodeKeyFile",
    "path",
    DEFAULT_NODE_KEY_FILE,
    "Path to the JSON file containing the private key to use for node authentication in the p2p protocol",
  ),
  k(
    "log_level",
    "logLevel",
    "string",
    DEFAULT_LOG_LEVEL,
    "Output level for logging, including package level options\n" +
      'e.g. "info", or per module: "p2p:debug,pex:debug,*:info" (levels: debug, info, error, none)',
  ),
  k(
    "log_format",
    "logFormat",
    "string",
    DEFAULT_LOG_FORMAT,
    "Output format: 'plain' (colored text) or 'json'",
  ),
  k(
    "chain_id",
    "chainId",
    "string",
    DEFAULT_CHAIN_ID,
    "switchyard: the chain ID (NodeInfo network); it must equal the peers' exactly.\n" +
      'If empty, the "chain_id" of genesis_file is used; one of the two must be set.',
    OURS,
  ),
  k(
    "cometbft_line",
    "cometbftLine",
    "string",
    DEFAULT_CONFIG_COMETBFT_LINE,
    "switchyard: the CometBFT release line this chain's peers run: " +
      `${COMETBFT_LINE_SETTINGS.join(", ")}.\n` +
      "It sets the advertised p2p/block protocol versions, the default NodeInfo version and the\n" +
      'message tables of the built-in reactors. "auto" advertises v0.38 and accepts every line\'s\n' +
      "consensus messages (docs/cometbft_lines.md).",
    OURS,
  ),
  k(
    "genesis_file",
    "genesisFile",
    "path",
    DEFAULT_GENESIS_FILE,
    "Path to the JSON file containing the initial validator set and other meta data\n" +
      "(switchyard reads only its chain_id, and only when chain_id above is empty)",
  ),

  k(
    "rpc.laddr",
    "laddr",
    "string",
    DEFAULT_RPC_LADDR,
    "TCP or UNIX socket address for the RPC server to listen on",
  ),
  k(
    "rpc.unsafe",
    "unsafe",
    "bool",
    false,
    "Activate unsafe RPC commands like /dial_seeds and /dial_peers",
  ),
  k(
    "rpc.max_request_batch_size",
    "maxRequestBatchSize",
    "int",
    DEFAULT_RPC_MAX_REQUEST_BATCH_SIZE,
    "Maximum number of requests that can be sent in a batch\n" +
      "If the value is set to '0' (zero-value), then no maximum batch size will be\n" +
      "enforced for a JSON-RPC batch request.",
  ),
  k(
    "rpc.max_body_bytes",
    "maxBodyBytes",
    "int",
    DEFAULT_RPC_MAX_BODY_BYTES,
    "Maximum size of request body, in bytes",
  ),
  k(
    "rpc.max_open_connections",
    "maxOpenConnections",
    "int",
    DEFAULT_RPC_MAX_OPEN_CONNECTIONS,
    "Maximum number of simultaneous connections.\n" +
      "If you want to accept a larger number than the default, make sure\n" +
      "you increase your OS limits. 0 - unlimited.",
  ),
  k(
    "rpc.max_header_bytes",
    "maxHeaderBytes",
    "int",
    DEFAULT_RPC_MAX_HEADER_BYTES,
    "Maximum size of request header, in bytes",
  ),
  k(
    "rpc.timeout_broadcast_tx_commit",
    "timeoutBroadcastTxCommitMs",
    "duration",
    DEFAULT_RPC_TIMEOUT_BROADCAST_TX_COMMIT,
    "How long to wait for a tx to be committed during /broadcast_tx_commit\n" +
      "(switchyard has no /broadcast_tx_commit; as in CometBFT, a response must be written\n" +
      "within this + 1 s)",
  ),
  k(
    "rpc.read_timeout",
    "readTimeoutMs",
    "duration",
    DEFAULT_RPC_READ_TIMEOUT,
    "switchyard: a request's header and body must arrive within this (CometBFT: fixed 10 s);\n" +
      "an idle keep-alive connection is closed after it too",
    OURS,
  ),

  k(
    "p2p.laddr",
    "laddr",
    "string",
    DEFAULT_P2P_LADDR,
    "Address to listen for incoming connections",
  ),
  k(
    "p2p.external_address",
    "externalAddress",
    "string",
    "",
    "Address to advertise to peers for them to dial. If empty, will use the same\n" +
      "port as the laddr, and will introspect on the listener to figure out the\n" +
      "address. IP and port are required. Example: 159.89.10.97:26656",
  ),
  k("p2p.seeds", "seeds", "list", "", "Comma separated list of seed nodes to connect to"),
  k(
    "p2p.persistent_peers",
    "persistentPeers",
    "list",
    "",
    "Comma separated list of nodes to keep persistent connections to",
  ),
  k("p2p.addr_book_file", "addrBookFile", "path", DEFAULT_ADDR_BOOK_FILE, "Path to address book"),
  k(
    "p2p.addr_book_strict",
    "addrBookStrict",
    "bool",
    true,
    "Set true for strict address routability rules\nSet false for private or local networks",
  ),
  k(
    "p2p.max_num_inbound_peers",
    "maxNumInboundPeers",
    "int",
    DEFAULT_MAX_NUM_INBOUND_PEERS,
    "Maximum number of inbound peers",
  ),
  k(
    "p2p.max_num_outbound_peers",
    "maxNumOutboundPeers",
    "int",
    DEFAULT_MAX_NUM_OUTBOUND_PEERS,
    "Maximum number of outbound peers to connect to, excluding persistent peers",
  ),
  k(
    "p2p.unconditional_peer_ids",
    "unconditionalPeerIds",
    "list",
    "",
    "List of node IDs, to which a connection will be (re)established ignoring any existing limits",
  ),
  k(
    "p2p.persistent_peers_max_dial_period",
    "persistentPeersMaxDialPeriodMs",
    "duration",
    DEFAULT_PERSISTENT_PEERS_MAX_DIAL_PERIOD,
    "Maximum pause when redialing a persistent peer (if zero, exponential backoff is used)",
  ),
  k(
    "p2p.flush_throttle_timeout",
    "flushThrottleTimeoutMs",
    "duration",
    DEFAULT_FLUSH_THROTTLE_TIMEOUT,
    "Time to wait before flushing messages out on the connection",
  ),
  k(
    "p2p.max_packet_msg_payload_size",
    "maxPacketMsgPayloadSize",
    "int",
    DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE,
    "Maximum size of a message packet payload, in bytes",
  ),
  k(
    "p2p.send_rate",
    "sendRate",
    "int",
    DEFAULT_RATE_BYTES_PER_SEC,
    "Rate at which packets can be sent, in bytes/second",
  ),
  k(
    "p2p.recv_rate",
    "recvRate",
    "int",
    DEFAULT_RATE_BYTES_PER_SEC,
    "Rate at which packets can be received, in bytes/second",
  ),
  k("p2p.pex", "pex", "bool", true, "Set true to enable the peer-exchange reactor"),
  k(
    "p2p.seed_mode",
    "seedMode",
    "bool",
    false,
    "Seed mode, in which node constantly crawls the network and looks for\n" +
      "peers. If another node asks it for addresses, it responds and disconnects.\n\n" +
      "Does not work if the peer-exchange reactor is disabled.",
  ),
  k(
    "p2p.private_peer_ids",
    "privatePeerIds",
    "list",
    "",
    "Comma separated list of peer IDs to keep private (will not be gossiped to other peers)",
  ),
  k(
    "p2p.allow_duplicate_ip",
    "allowDuplicateIp",
    "bool",
    false,
    "Toggle to disable guard against peers connecting from the same ip.",
  ),
  k(
    "p2p.handshake_timeout",
    "handshakeTimeoutMs",
    "duration",
    DEFAULT_HANDSHAKE_TIMEOUT,
    "Peer connection configuration.\n" +
      "(CometBFT v0.38 writes these two but its transport uses a fixed 3s handshake / 1s dial.)",
  ),
  k("p2p.dial_timeout", "dialTimeoutMs", "duration", DEFAULT_DIAL_TIMEOUT, ""),
  k(
    "p2p.ping_interval",
    "pingIntervalMs",
    "duration",
    DEFAULT_PING_INTERVAL,
    "switchyard: keep-alive ping period of every connection (CometBFT: fixed 60s)",
    OURS,
  ),
  k(
    "p2p.pong_timeout",
    "pongTimeoutMs",
    "duration",
    DEFAULT_PONG_TIMEOUT,
    "switchyard: disconnect when no pong arrives this long after a ping; must be < ping_interval",
    OURS,
  ),
  k(
    "p2p.reactor_error_redial_cooldown",
    "reactorErrorRedialCooldownMs",
    "duration",
    DEFAULT_REACTOR_ERROR_REDIAL_COOLDOWN,
    "switchyard: a persistent peer stopped because a reactor reported an error is redialed\n" +
      "only after this pause (other disconnects follow CometBFT's reconnect schedule)",
    OURS,
  ),
  k(
    "p2p.max_pending_handshakes",
    "maxPendingHandshakes",
    "int",
    DEFAULT_MAX_PENDING_HANDSHAKES,
    "switchyard: inbound connections allowed in the handshake at the same time (more are closed)",
    OURS,
  ),
  k(
    "p2p.max_pending_handshakes_per_ip",
    "maxPendingHandshakesPerIp",
    "int",
    DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP,
    "switchyard: inbound handshakes allowed from one IP at the same time (more are closed);\n" +
      "0 = no per-IP cap",
    OURS,
  ),
  k(
    "p2p.max_waiting_sends_per_peer",
    "maxWaitingSendsPerPeer",
    "int",
    DEFAULT_MAX_WAITING_SENDS_PER_PEER,
    "switchyard: reactor sends that may wait for queue room on one peer at once (more fail at once)",
    OURS,
  ),
  k(
    "p2p.deny_list",
    "denyList",
    "list",
    [],
    "switchyard: never connect to, nor accept, these IPs, CIDR ranges or node IDs\n" +
      'e.g. ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32", "<40-hex node id>"]\n' +
      "(an array, or one comma separated string)",
    { listStyle: "array", cometbft: false },
  ),

  k(
    "p2p.seed.disconnect_wait",
    "disconnectWaitMs",
    "duration",
    DEFAULT_SEED_DISCONNECT_WAIT,
    "How long a seed keeps an inbound peer after answering its address request",
    OURS,
  ),
  k(
    "p2p.seed.max_connection",
    "maxConnectionMs",
    "duration",
    DEFAULT_SEED_MAX_CONNECTION,
    "A seed disconnects peers connected longer than this (CometBFT hard-codes 28h)",
    OURS,
  ),
  k(
    "p2p.seed.crawl_period",
    "crawlPeriodMs",
    "duration",
    DEFAULT_SEED_CRAWL_PERIOD,
    "Period of the crawl round (dial known addresses, ask them for more)",
    OURS,
  ),
  k(
    "p2p.seed.recheck_period",
    "recheckPeriodMs",
    "duration",
    DEFAULT_SEED_RECHECK_PERIOD,
    "A verified address is verified again after this long",
    OURS,
  ),
  k(
    "p2p.seed.address_expiry",
    "addressExpiryMs",
    "duration",
    DEFAULT_SEED_ADDRESS_EXPIRY,
    "An address that could not be verified for this long is forgotten",
    OURS,
  ),
  k(
    "p2p.seed.verify_workers",
    "verifyWorkers",
    "int",
    DEFAULT_SEED_VERIFY_WORKERS,
    "Number of concurrent verification dials",
    OURS,
  ),
  k(
    "p2p.seed.verify_rate",
    "verifyRate",
    "int",
    DEFAULT_SEED_VERIFY_RATE,
    "Verification dials started per second (0 = unlimited)",
    OURS,
  ),
  k(
    "p2p.seed.crawl_interval",
    "crawlIntervalMs",
    "duration",
    DEFAULT_SEED_CRAWL_INTERVAL,
    "Crawl the network over p2p this often and serve the verified set on RPC /peers\n" +
      "(0 = off; at least 30s otherwise)",
    OURS,
  ),
  k(
    "p2p.seed.crawl_concurrency",
    "crawlConcurrency",
    "int",
    DEFAULT_SEED_CRAWL_CONCURRENCY,
    "Probes in flight during a scheduled crawl",
    OURS,
  ),
  k(
    "p2p.seed.crawl_rate",
    "crawlRate",
    "int",
    DEFAULT_SEED_CRAWL_RATE,
    "Probes started per second during a scheduled crawl (0 = unlimited)",
    OURS,
  ),
  k(
    "p2p.seed.crawl_depth",
    "crawlDepth",
    "int",
    DEFAULT_SEED_CRAWL_DEPTH,
    "Hops a scheduled crawl follows from the address book",
    OURS,
  ),
  k(
    "p2p.seed.crawl_timeout",
    "crawlTimeoutMs",
    "duration",
    DEFAULT_SEED_CRAWL_TIMEOUT,
    "Bound of one scheduled crawl",
    OURS,
  ),
  k(
    "p2p.seed.crawl_history",
    "crawlHistory",
    "bool",
    DEFAULT_SEED_CRAWL_HISTORY,
    "Store each scheduled crawl in <home>/data/crawl.db (read it with crawl history / crawl diff)",
    OURS,
  ),

  k(
    "instrumentation.prometheus",
    "prometheus",
    "bool",
    false,
    "When true, Prometheus metrics are served under /metrics on\nPrometheusListenAddr.\n" +
      "Check out the documentation for the list of available metrics.",
  ),
  k(
    "instrumentation.prometheus_listen_addr",
    "prometheusListenAddr",
    "string",
    DEFAULT_PROMETHEUS_LISTEN_ADDR,
    "Address to listen for Prometheus collector(s) connections",
  ),
  k(
    "instrumentation.max_open_connections",
    "maxOpenConnections",
    "int",
    DEFAULT_METRICS_MAX_OPEN_CONNECTIONS,
    "Maximum number of simultaneous connections.\n" +
      "If you want to accept a larger number than the default, make sure\n" +
      "you increase your OS limits.\n0 - unlimited.",
  ),
  k(
    "instrumentation.namespace",
    "namespace",
    "string",
    DEFAULT_METRICS_NAMESPACE,
    "Instrumentation namespace",
  ),
  k(
    "instrumentation.peer_labels",
    "peerLabels",
    "bool",
    false,
    "switchyard: label per-peer metrics with the peer ID (off by default: one series per peer)",
    OURS,
  ),

  k(
    "node.version",
    "version",
    "string",
    DEFAULT_NODE_VERSION,
    "Software version advertised in NodeInfo (empty: the cometbft_line's release, e.g. 0.38.25)",
    OURS,
  ),
  k(
    "node.protocol_block",
    "protocolBlock",
    "int",
    DEFAULT_PROTOCOL_BLOCK,
    "Block protocol version advertised in NodeInfo; peers refuse a different one",
    OURS,
  ),
  k(
    "node.protocol_app",
    "protocolApp",
    "int",
    DEFAULT_PROTOCOL_APP,
    "App protocol version advertised in NodeInfo",
    OURS,
  ),
  k(
    "node.reactors",
    "reactors",
    "list",
    [...DEFAULT_REACTORS],
    `Built-in reactors to run (${KNOWN_REACTORS.join(", ")}).\n` +
      '"pex" runs only while p2p.pex = true, which wins over this list.',
    { listStyle: "array", cometbft: false },
  ),
  k(
    "node.tx_index",
    "txIndex",
    "string",
    DEFAULT_TX_INDEX,
    'NodeInfo other.tx_index to advertise: "on" or "off"',
    OURS,
  ),
];

/** Known keys by dotted path. */
export const KEYS_BY_PATH: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((s) => [s.path, s]));
