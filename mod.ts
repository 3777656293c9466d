/**
 * switchyard as a library: the reactor contract and its helpers, building and starting a switch
 * in code (with the settings of a switchyard home's `config.toml` if wanted), node keys and
 * NodeInfo, and the daemon's whole node ({@link Node}: address book, PEX, RPC and metrics, as
 * `switchyard start` runs it for one chain) built from a {@link Config} that {@link loadConfig}
 * reads. A CometBFT-compatible p2p stack (SecretConnection, MConnection, Switch, PEX) in
 * TypeScript on Deno.
 *
 * Writing a reactor: implement {@link Reactor} (or extend {@link BaseReactor}), declare its
 * channels with {@link StreamDescriptor}s whose `messageType` comes from
 * {@link defineMessageType}, register it on a switch from {@link createSwitch}. The call order
 * the switch guarantees, async callbacks and backpressure are described in
 * `p2p/reactor_api.ts`; `switchyard/testing` checks them in tests.
 *
 * @example
 * ```ts
 * import { BaseReactor, createSwitch, defineMessageType, type InboundEnvelope } from "switchyard";
 *
 * const Note = defineMessageType("demo.Note", { text: { id: 1, type: "string" } });
 * class NoteReactor extends BaseReactor {
 *   constructor() { super("notes"); }
 *   override getChannels() { return [{ id: 0x70, priority: 1, messageType: Note }]; }
 *   override async receive(env: InboundEnvelope) { console.log(env.message.text); }
 * }
 * const node = await createSwitch({ network: "demo", reactors: [["notes", new NoteReactor()]] });
 * await node.stop();
 * ```
 * @module
 */

// ---- the reactor contract --------------------------------------------------------------------
export type {
  ChannelDescriptor,
  ConnectionErrorReason,
  Envelope,
  GracefulReason,
  InboundEnvelope,
  LogFields,
  Logger,
  Peer,
  PeerCounts,
  PeerSetView,
  PeerState,
  ProtocolViolationReason,
  ProtoMessage,
  Reactor,
  ReactorSwitch,
  SendOptions,
  ShutdownReason,
  StopReason,
  StreamDescriptor,
} from "./p2p/reactor_api.ts";
export { BaseReactor, MessageCodecError, type ReactorState } from "./p2p/reactor.ts";
export {
  connectionError,
  describeStopReason,
  GRACEFUL,
  protocolViolation,
  SHUTDOWN,
  toStopReason,
} from "./p2p/stop_reason.ts";
export { defineMessageType, type MessageField } from "./p2p/message_type.ts";
export { DEFAULT_SEND_TIMEOUT_MS, RECEIVE_DRAIN_TIMEOUT_MS } from "./p2p/peer.ts";
export { DEFAULT_MAX_WAITING_SENDS } from "./p2p/conn/mconnection.ts";

// ---- building a switch in code --------------------------------------------------------------
export {
  createSwitch,
  type CreateSwitchOptions,
  type LocalSwitch,
  type LocalSwitchConfig,
  type ManagedSwitch,
} from "./p2p/local_switch.ts";
export type { SwitchState } from "./p2p/switch_config.ts";
export { ReactorRegistrationError } from "./p2p/switch_config.ts";
export { ReactorStartError } from "./p2p/switch_reactors.ts";
export { AlreadyStartedError, InvalidParametersError, NotStartedError } from "./p2p/errors.ts";

// ---- configuration ---------------------------------------------------------------------------
export {
  loadSwitchConfig,
  type SwitchConfigFileOptions,
  type SwitchConfigFromFile,
} from "./node/switch_config_file.ts";

// ---- keys, addresses, NodeInfo ---------------------------------------------------------------
export { isValidId, NodeKey, pubKeyToId, validateId } from "./p2p/key.ts";
export { NetAddress } from "./p2p/netaddress.ts";
export {
  makeNodeInfo,
  type MakeNodeInfoParams,
  type NodeInfo,
  type ProtocolVersion,
} from "./p2p/node_info.ts";

// ---- the daemon's node in code ----------------------------------------------------------------
// (MultiNode, several chains in one process, stays internal: its options and reload reports are
// the daemon's own plumbing; one Node per chain is the library's unit.)
export { Node, type NodeOptions, NodeStartError, type NodeState } from "./node/node.ts";
export {
  type Config,
  type InstrumentationConfig,
  KNOWN_REACTORS,
  type NodeConfig,
  type P2PConfig,
  type ReactorName,
  type RPCConfig,
  type SeedConfig,
} from "./config/schema.ts";
export type { ChainSpec } from "./config/chains.ts";
export {
  loadConfig,
  type LoadConfigOptions,
  type LoadConfigResult,
  resolveChainId,
} from "./config/mod.ts";
export { COMETBFT_LINE_SETTINGS, type CometbftLineSetting } from "./p2p/cometbft_line.ts";
export { SWITCHYARD_VERSION } from "./version.ts";
