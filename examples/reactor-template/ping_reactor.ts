/**
 * A small reactor, the starting point for your own: every peer gets a `Ping` when it is added
 * and answers it with a `Pong` carrying the same nonce. It shows the parts every reactor has:
 * a channel with its own message type, per-peer state set up in `initPeer` and dropped in
 * `removePeer`, and an async `receive` that awaits its send (the switch then holds back that
 * peer's next message, so a fast peer cannot make us buffer without limit).
 * @module
 */
import {
  BaseReactor,
  defineMessageType,
  type InboundEnvelope,
  type Peer,
  type StreamDescriptor,
} from "switchyard";

/** The channel of this reactor (one byte, unique among the switch's reactors). */
export const PING_CHANNEL = 0x70;

/** `ping.Message { oneof sum { Ping ping = 1; Pong pong = 2; } }`, defined in code. */
const Ping = defineMessageType("ping.Ping", { nonce: { id: 1, type: "uint32" } });
const Pong = defineMessageType("ping.Pong", { nonce: { id: 1, type: "uint32" } });

/** What the reactor knows of one peer. */
interface PeerState {
  /** Nonce of our ping still waiting for its pong. */
  pending: number | undefined;
  /** Pongs received from this peer. */
  pongs: number;
}

/** Sends one ping per new peer and answers every ping with a pong. */
export class PingReactor extends BaseReactor {
  readonly #peers = new Map<string, PeerState>();
  #nextNonce = 1;

  constructor() {
    super("ping");
  }

  /** Pongs received from the peer with this node ID (0 if unknown). */
  pongsFrom(id: string): number {
    return this.#peers.get(id)?.pongs ?? 0;
  }

  override getChannels(): readonly StreamDescriptor[] {
    return [
      { id: PING_CHANNEL, priority: 1, sendQueueCapacity: 8, messageType: Ping },
      { id: PING_CHANNEL + 1, priority: 1, sendQueueCapacity: 8, messageType: Pong },
    ];
  }

  override initPeer(peer: Peer): void {
    // Set up per-peer state before any message of this peer can arrive.
    this.#peers.set(peer.id, { pending: undefined, pongs: 0 });
  }

  override async addPeer(peer: Peer): Promise<void> {
    const st = this.#peers.get(peer.id)!;
    st.pending = this.#nextNonce++;
    // send waits (up to 10 s) for queue room and says false if the message could not go.
    if (!await peer.send({ channelId: PING_CHANNEL, message: { nonce: st.pending } })) {
      this.logger.info("ping not sent", { peer: peer.id });
    }
  }

  override removePeer(peer: Peer): void {
    this.#peers.delete(peer.id);
  }

  override async receive(env: InboundEnvelope): Promise<void> {
    const nonce = Number(env.message.nonce ?? 0);
    if (env.channelId === PING_CHANNEL) {
      // Awaiting the send holds back this peer's next message until the pong is queued:
      // backpressure instead of an unbounded backlog. A throw here would stop the peer.
      await env.src.send({ channelId: PING_CHANNEL + 1, message: { nonce } });
      return;
    }
    const st = this.#peers.get(env.src.id);
    if (st === undefined) return;
    if (st.pending !== nonce) {
      // A pong we never asked for: the peer is broken or hostile.
      await this.switch?.stopPeerForError(env.src, new Error(`unexpected pong ${nonce}`));
      return;
    }
    st.pending = undefined;
    st.pongs++;
  }
}
