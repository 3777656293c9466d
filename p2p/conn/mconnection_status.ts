/**
 * The observable surface of an MConnection that is not the connection itself: the typed stop
 * reasons reported to `onError` ({@link MConnectionError}) and the status snapshot with its
 * CometBFT RPC JSON shape (`/net_info` `connection_status`, spec §16.6).
 * @module
 */
import { P2PError } from "../errors.ts";
import {
  type FlowStatus,
  type FlowStatusJSON,
  flowStatusToJSON,
  msToNsString,
} from "./flowrate.ts";

/** Why an MConnection stopped on its own. */
export type MConnectionErrorReason =
  | { code: "eof" }
  | { code: "unknown_channel"; channelId: number }
  | { code: "message_too_large"; channelId: number; capacity: number; received: number }
  | { code: "bad_packet"; detail: string }
  | { code: "pong_timeout" }
  | { code: "ping_flood"; count: number; windowMs: number }
  | { code: "io"; cause: unknown }
  | { code: "receive_threw"; channelId: number; cause: unknown };

function reasonMessage(r: MConnectionErrorReason): string {
  switch (r.code) {
    case "eof":
      return "connection closed by peer (EOF)";
    case "unknown_channel":
      return `unknown channel ${r.channelId.toString(16).toUpperCase()}`;
    case "message_too_large":
      return `received message exceeds available capacity: ${r.capacity} < ${r.received}`;
    case "bad_packet":
      return `bad packet: ${r.detail}`;
    case "pong_timeout":
      return "pong timeout";
    case "ping_flood":
      return `ping flood: ${r.count} pings/pongs within ${r.windowMs} ms`;
    case "io":
      return `i/o error: ${r.cause instanceof Error ? r.cause.message : String(r.cause)}`;
    case "receive_threw":
      return `receive callback threw on channel ${r.channelId}: ${
        r.cause instanceof Error ? r.cause.message : String(r.cause)
      }`;
  }
}

/**
 * Reasons that mean the remote broke the protocol (as opposed to the connection failing): the
 * peer layer reports these as protocol violations.
 */
export const PROTOCOL_VIOLATION_CODES: ReadonlySet<MConnectionErrorReason["code"]> = new Set([
  "unknown_channel",
  "message_too_large",
  "bad_packet",
  "ping_flood",
]);

/** The error an MConnection reports to `onError`; branch on `reason.code`. */
export class MConnectionError extends P2PError {
  readonly reason: MConnectionErrorReason;
  constructor(reason: MConnectionErrorReason) {
    const cause = "cause" in reason ? reason.cause : undefined;
    super("closed", reasonMessage(reason), cause !== undefined ? { cause } : undefined);
    this.reason = reason;
  }
}

/** Per-channel status (Go `ChannelStatus`). */
export interface ChannelStatus {
  id: number;
  sendQueueCapacity: number;
  sendQueueSize: number;
  priority: number;
  recentlySent: number;
}

/** Connection status (Go `ConnectionStatus`); `duration` in ms since construction. */
export interface ConnectionStatus {
  duration: number;
  sendMonitor: FlowStatus;
  recvMonitor: FlowStatus;
  channels: ChannelStatus[];
}

/** Go-JSON shape of a {@link ConnectionStatus} (`/net_info` `connection_status`, spec §16.6). */
export interface ConnectionStatusJSON {
  Duration: string;
  SendMonitor: FlowStatusJSON;
  RecvMonitor: FlowStatusJSON;
  Channels: {
    ID: number;
    SendQueueCapacity: string;
    SendQueueSize: string;
    Priority: string;
    RecentlySent: string;
  }[];
}

/** Converts a {@link ConnectionStatus} to the CometBFT RPC JSON shape. */
export function connectionStatusToJSON(s: ConnectionStatus): ConnectionStatusJSON {
  return {
    Duration: msToNsString(s.duration),
    SendMonitor: flowStatusToJSON(s.sendMonitor),
    RecvMonitor: flowStatusToJSON(s.recvMonitor),
    Channels: s.channels.map((c) => ({
      ID: c.id,
      SendQueueCapacity: String(c.sendQueueCapacity),
      SendQueueSize: String(c.sendQueueSize),
      Priority: String(c.priority),
      RecentlySent: String(c.recentlySent),
    })),
  };
}
