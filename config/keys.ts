/**
 * {@link KEYS}: every known `config.toml` key with its kind, default and comment, in rendering
 * order. Parsing, validation, rendering, flags and environment variables are all driven from it.
 * @module
 */
import {
  DEFAULT_CHAIN_ID,
  DEFAULT_CONFIG_COMETBFT_LINE,
  DEFAULT_GENESIS_FILE,
  DEFAULT_LOG_FORMAT,
  DEFAULT_LOG_LEVEL,
  DEFAULT_METRICS_MAX_OPEN_CONNECTIONS,
  DEFAULT_METRICS_NAMESPACE,
  DEFAULT_NODE_KEY_FILE,
  DEFAULT_NODE_VERSION,
  DEFAULT_PROMETHEUS_LISTEN_ADDR,
  DEFAULT_PROTOCOL_APP,
  DEFAULT_PROTOCOL_BLOCK,
  DEFAULT_REACTORS,
  DEFAULT_RPC_LADDR,
  DEFAULT_RPC_MAX_BODY_BYTES,
  DEFAULT_RPC_MAX_HEADER_BYTES,
  DEFAULT_RPC_MAX_OPEN_CONNECTIONS,
  DEFAULT_RPC_MAX_REQUEST_BATCH_SIZE,
  DEFAULT_RPC_READ_TIMEOUT,
  DEFAULT_RPC_TIMEOUT_BROADCAST_TX_COMMIT,
  DEFAULT_TX_INDEX,
  type KeySpec,
  KNOWN_REACTORS,
} from "./schema.ts";
import { keySpec as k, OURS } from "./key_table.ts";
import { P2P_KEYS } from "./keys_p2p.ts";
import { COMETBFT_LINE_SETTINGS } from "../p2p/cometbft_line.ts";

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

  ...P2P_KEYS,

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
