/**
 * Types of the Go interop peer's JSON-lines protocol (stdout events, stdin commands), the
 * options of `startGoPeer` and the `serve` argument vector they map to. See `go_peer.ts`.
 * @module
 */

/** `{"event":"ready"}`: listening and started. */
export interface ReadyEvent {
  event: "ready";
  id: string;
  /** `id@127.0.0.1:port`. */
  addr: string;
  port: number;
  /** NodeInfo.listen_addr as advertised (`tcp://127.0.0.1:port` unless overridden). */
  listen_addr: string;
  chain_id: string;
  moniker: string;
  channels: number[];
}
/** A peer passed the handshake and was added to the switch. */
export interface PeerAddedEvent {
  event: "peer_added";
  id: string;
  outbound: boolean;
  persistent: boolean;
  /** Remote socket address host:port. */
  remote: string;
  moniker: string;
  channels: number[];
  network: string;
  version: string;
  listen_addr: string;
}
/** A peer was removed; `reason` is the Go error text, "" for graceful stop/shutdown. */
export interface PeerRemovedEvent {
  event: "peer_removed";
  id: string;
  reason: string;
}
/** A test-channel message arrived (suppressed by `quiet`). */
export interface ReceivedEvent {
  event: "received";
  peer: string;
  channel: number;
  /** Payload length (the BytesValue value, not the wire message). */
  len: number;
  /** Lowercase hex sha256 of the payload. */
  sha256: string;
  /** Payload hex, only when len ≤ 64. */
  hex?: string;
}
/** The echo's blocking Send returned false. */
export interface EchoFailedEvent {
  event: "echo_failed";
  peer: string;
  channel: number;
  len: number;
}
/** Reply to `send`. */
export interface SentEvent {
  event: "sent";
  tag?: string;
  peer: string;
  channel: number;
  len: number;
  count: number;
  peers: number;
  sent: number;
  ok: boolean;
}
/** Outcome of a dial (from `--dial` or the `dial` command). */
export interface DialEvent {
  event: "dial";
  tag?: string;
  addr: string;
  ok: boolean;
  error?: string;
}
/** Reply to `stop_peer`. */
export interface PeerStoppedEvent {
  event: "peer_stopped";
  tag?: string;
  id: string;
}
/** Reply to `peers`. */
export interface PeersEvent {
  event: "peers";
  tag?: string;
  peers: { id: string; outbound: boolean; persistent: boolean; moniker?: string }[];
}
/** Reply to `stats`. */
export interface StatsEvent {
  event: "stats";
  tag?: string;
  received: number;
  received_bytes: number;
  echoed: number;
  echo_failed: number;
  outbound: number;
  inbound: number;
  dialing: number;
}
/** A failed command or a fatal startup error. */
export interface ErrorEvent {
  event: "error";
  tag?: string;
  error: string;
}
/** Printed just before a clean exit. */
export interface StoppedEvent {
  event: "stopped";
}
/** Every JSON line `interop-peer serve` prints. */
export type GoPeerEvent =
  | ReadyEvent
  | PeerAddedEvent
  | PeerRemovedEvent
  | ReceivedEvent
  | EchoFailedEvent
  | SentEvent
  | DialEvent
  | PeerStoppedEvent
  | PeersEvent
  | StatsEvent
  | ErrorEvent
  | StoppedEvent;

/** One JSON line on the process's stdin. */
export type GoPeerCommand =
  | {
    cmd: "send";
    channel: number;
    peer?: string;
    hex?: string;
    len?: number;
    count?: number;
    try?: boolean;
    tag?: string;
  }
  | { cmd: "dial"; addr: string; persistent?: boolean; tag?: string }
  | { cmd: "stop_peer"; peer: string; error?: string; tag?: string }
  | { cmd: "peers"; tag?: string }
  | { cmd: "stats"; tag?: string }
  | { cmd: "quit"; tag?: string };

/** Options of {@link startGoPeer}; each maps to one `serve` flag. */
export interface GoPeerOptions {
  /** `--laddr`, default `127.0.0.1:0`. */
  laddr?: string;
  /** `--external-address` (NodeInfo.listen_addr). */
  externalAddress?: string;
  /** `--chain-id`, default `test-chain`. */
  chainId?: string;
  /** `--moniker`, default `go-interop`. */
  moniker?: string;
  /** `--node-key`: node_key.json, loaded or generated+saved. Default: fresh key. */
  nodeKeyFile?: string;
  /** `--channels`: echo channels; default 0x70:1, 0x71:5, 0x72:10. */
  channels?: { id: number; priority: number }[];
  /** `--dial`: addresses to dial at startup. */
  dial?: string[];
  /** `--persistent`: the `dial` addresses are persistent peers. */
  persistent?: boolean;
  /** `--pex`: add a PEX reactor and a temp address book. */
  pex?: boolean;
  /** `--seed-mode` (needs `pex`). */
  seedMode?: boolean;
  /** `--seeds`. */
  seeds?: string[];
  /** `--echo`, default true. */
  echo?: boolean;
  /** `--quiet`: no `received` events. */
  quiet?: boolean;
  /** `--allow-duplicate-ip`, default true. */
  allowDuplicateIp?: boolean;
  /** `--ping-interval`, default 60 s. */
  pingIntervalMs?: number;
  /** `--pong-timeout`, default 45 s (or ping/2). */
  pongTimeoutMs?: number;
  /** `--flush-throttle`, default 100 ms. */
  flushThrottleMs?: number;
  /** `--send-rate` bytes/s, default 5120000. */
  sendRate?: number;
  /** `--recv-rate` bytes/s, default 5120000. */
  recvRate?: number;
  /** `--max-packet-msg-payload-size`, default 1024. */
  maxPacketMsgPayloadSize?: number;
  /** `--max-inbound` / `--max-outbound`, defaults 40 / 10. */
  maxInbound?: number;
  maxOutbound?: number;
  /** `--log-level` (stderr), default here `error`. */
  logLevel?: "debug" | "info" | "error" | "none";
  /** Extra raw flags. */
  extraArgs?: string[];
  /** How long to wait for `ready`, default 20 s. */
  readyTimeoutMs?: number;
}

/** No matching event in time; carries the process's stderr tail. */
export class GoPeerTimeoutError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(`${message}\n--- go peer stderr ---\n${stderr}`);
    this.name = "GoPeerTimeoutError";
  }
}

/** The process exited while an event was awaited. */
export class GoPeerExitedError extends Error {
  constructor(readonly code: number, readonly stderr: string) {
    super(`go peer exited with code ${code}\n--- go peer stderr ---\n${stderr}`);
    this.name = "GoPeerExitedError";
  }
}

/** The `serve` argument vector for `opts` (always `--exit-on-eof`, so no orphan survives us). */
export function serveArgs(opts: GoPeerOptions): string[] {
  const a = ["serve", "--exit-on-eof", `--log-level=${opts.logLevel ?? "error"}`];
  const ms = (v: number) => `${v}ms`;
  if (opts.laddr !== undefined) a.push(`--laddr=${opts.laddr}`);
  if (opts.externalAddress !== undefined) a.push(`--external-address=${opts.externalAddress}`);
  if (opts.chainId !== undefined) a.push(`--chain-id=${opts.chainId}`);
  if (opts.moniker !== undefined) a.push(`--moniker=${opts.moniker}`);
  if (opts.nodeKeyFile !== undefined) a.push(`--node-key=${opts.nodeKeyFile}`);
  if (opts.channels !== undefined) {
    a.push(`--channels=${opts.channels.map((c) => `${c.id}:${c.priority}`).join(",")}`);
  }
  for (const d of opts.dial ?? []) a.push(`--dial=${d}`);
  if (opts.persistent) a.push("--persistent");
  if (opts.pex) a.push("--pex");
  if (opts.seedMode) a.push("--seed-mode");
  if (opts.seeds?.length) a.push(`--seeds=${opts.seeds.join(",")}`);
  if (opts.echo !== undefined) a.push(`--echo=${opts.echo}`);
  if (opts.quiet) a.push("--quiet");
  if (opts.allowDuplicateIp !== undefined) a.push(`--allow-duplicate-ip=${opts.allowDuplicateIp}`);
  if (opts.pingIntervalMs !== undefined) a.push(`--ping-interval=${ms(opts.pingIntervalMs)}`);
  if (opts.pongTimeoutMs !== undefined) a.push(`--pong-timeout=${ms(opts.pongTimeoutMs)}`);
  if (opts.flushThrottleMs !== undefined) a.push(`--flush-throttle=${ms(opts.flushThrottleMs)}`);
  if (opts.sendRate !== undefined) a.push(`--send-rate=${opts.sendRate}`);
  if (opts.recvRate !== undefined) a.push(`--recv-rate=${opts.recvRate}`);
  if (opts.maxPacketMsgPayloadSize !== undefined) {
    a.push(`--max-packet-msg-payload-size=${opts.maxPacketMsgPayloadSize}`);
  }
  if (opts.maxInbound !== undefined) a.push(`--max-inbound=${opts.maxInbound}`);
  if (opts.maxOutbound !== undefined) a.push(`--max-outbound=${opts.maxOutbound}`);
  a.push(...(opts.extraArgs ?? []));
  return a;
}
