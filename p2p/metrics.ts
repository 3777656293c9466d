/**
 * Metrics hooks of the p2p layer (CometBFT `p2p/metrics.go`, spec §17). Components take an
 * optional {@link P2PMetrics}; the default {@link nopMetrics} does nothing, so tests and
 * library users pay nothing. The daemon implements this interface with prom-client using the
 * CometBFT series names given on each method.
 * @module
 */

/** Why `Peer.send` / `Peer.trySend` returned false. */
export type SendFailureReason =
  | "not_running" // the peer is not (or no longer) running
  | "unknown_channel" // no reactor registered the channel
  | "channel_not_advertised" // the peer did not list the channel in its NodeInfo
  | "marshal_error" // the message did not fit the channel's protobuf type
  | "queue_full" // the channel's send queue stayed full (trySend at once, send after 10 s)
  | "too_many_waiting"; // send had to wait but max_waiting_sends_per_peer senders already did

/** Outcome of one outbound dial attempt, as a counter label. */
export type DialOutcome =
  | "success"
  | "already_dialing_or_connected"
  | "unreachable"
  | "handshake"
  | "id_mismatch"
  | "incompatible"
  | "invalid_node_info"
  | "self"
  | "rejected"
  | "closed"
  | "add_peer_failed"
  | "error";

/** Metrics sink of the switch, transport and peers. Every method must be cheap and not throw. */
export interface P2PMetrics {
  /** `cometbft_p2p_peers` gauge: +1 when a peer enters the peer set, −1 when it leaves. */
  peersAdd(delta: number): void;
  /**
   * `cometbft_p2p_peer_receive_bytes_total{peer_id,chID}` and
   * `cometbft_p2p_message_receive_bytes_total{message_type}`: a message was decoded and is
   * about to be handed to its reactor.
   */
  peerReceiveBytes(peerId: string, channelId: number, messageType: string, bytes: number): void;
  /**
   * `cometbft_p2p_peer_send_bytes_total{peer_id,chID}` and
   * `cometbft_p2p_message_send_bytes_total{message_type}`: a marshalled message was queued.
   */
  peerSendBytes(peerId: string, channelId: number, messageType: string, bytes: number): void;
  /** `cometbft_p2p_peer_pending_send_bytes{peer_id}`: queued messages, sampled periodically. */
  peerPendingSend(peerId: string, queuedMessages: number): void;
  /** A send/trySend returned false (our addition: Go only logs). */
  sendFailure(reason: SendFailureReason): void;
  /** An outbound dial finished (our addition). */
  dialOutcome(outcome: DialOutcome): void;
  /** An inbound connection was rejected before becoming a peer (our addition). */
  inboundRejected(kind: string): void;
}

/** A {@link P2PMetrics} that records nothing. */
export const nopMetrics: P2PMetrics = Object.freeze({
  peersAdd(): void {},
  peerReceiveBytes(): void {},
  peerSendBytes(): void {},
  peerPendingSend(): void {},
  sendFailure(): void {},
  dialOutcome(): void {},
  inboundRejected(): void {},
});

/** Go's `%#x` rendering of a channel id for the `chID` label: `0x0`, `0x20`. */
export function channelLabel(channelId: number): string {
  return "0x" + channelId.toString(16);
}

/**
 * The `message_type` label for a protobuf full name: `.tendermint.p2p.PexRequest` →
 * `p2p_PexRequest` (last package component + message name, as Go's label cache makes it).
 */
export function messageTypeLabel(fullName: string): string {
  const parts = fullName.replace(/^\./, "").split(".");
  if (parts.length < 2) return parts[0] ?? "";
  return `${parts[parts.length - 2]}_${parts[parts.length - 1]}`;
}
