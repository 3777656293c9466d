/**
 * A peer's receive side (Go `createMConnection`'s `onReceive`): decodes each received message
 * with its channel's codec, hands it to the channel's reactor, holds the peer's reads while an
 * async `receive` is pending (at most one per peer), and drains that promise at stop. Split from
 * `peer.ts`, which owns one {@link PeerReceiver} per peer.
 * @module
 */
import type { Logger } from "../libs/log.ts";
import type { P2PMetrics } from "./metrics.ts";
import type { ChannelCodec } from "./reactor.ts";
import type { InboundEnvelope, Peer as PeerContract, Reactor } from "./reactor_api.ts";
import { protocolViolation, type StopReason } from "./stop_reason.ts";

/**
 * How long a stopping peer waits for a reactor's pending `receive` promise before it is removed
 * anyway (logged): `removePeer` never overlaps a `receive` of the same peer unless a reactor
 * ignores the peer's `quitSignal` this long. The longest a `send` waits, so a relaying reactor
 * that awaits its send always fits.
 */
export const RECEIVE_DRAIN_TIMEOUT_MS = 10_000;

/** Where a received channel's messages go. */
export interface ChannelRoute {
  readonly reactor: Reactor;
  readonly reactorName: string;
  readonly codec: ChannelCodec;
}

/** What a {@link PeerReceiver} needs from its peer. */
export interface PeerReceiverOptions {
  /** The peer, as the envelopes' `src`. */
  readonly peer: PeerContract;
  /** Channel id → reactor and codec. */
  readonly routes: ReadonlyMap<number, ChannelRoute>;
  readonly metrics: P2PMetrics;
  /** The peer's logger. */
  readonly logger: Logger;
  /** Whether messages are still delivered (the peer is running and reported no error). */
  readonly accepting: () => boolean;
  /** Reports a protocol violation; the peer stops. */
  readonly fail: (reason: StopReason) => void;
}

/** Routes one peer's received messages to reactors. */
export class PeerReceiver {
  readonly #o: PeerReceiverOptions;
  /** The reactor `receive` promise in flight, if any (at most one per peer). */
  #inflight: Promise<void> | undefined;
  /** True during the synchronous part of a reactor's `receive` call. */
  #delivering = false;

  constructor(opts: PeerReceiverOptions) {
    this.#o = opts;
  }

  /**
   * Routes one received message to its reactor (Go `createMConnection`'s `onReceive`). When the
   * reactor returns a promise, so does this (never rejecting): the MConnection reads nothing
   * more from this peer until it settles. A throw or rejection stops the peer.
   */
  deliver(channelId: number, bytes: Uint8Array): void | Promise<void> {
    if (!this.#o.accepting()) return;
    const route = this.#o.routes.get(channelId);
    if (route === undefined) {
      this.#o.fail(protocolViolation(new Error(`Unknown channel ${channelId.toString(16)}`)));
      return;
    }
    let decoded;
    try {
      decoded = route.codec.decode(bytes);
    } catch (e) {
      this.#o.fail(protocolViolation(e as Error, route.reactorName));
      return;
    }
    this.#o.metrics.peerReceiveBytes(this.#o.peer.id, channelId, decoded.typeLabel, bytes.length);
    const envelope: InboundEnvelope = decoded.member === undefined
      ? { channelId, src: this.#o.peer, message: decoded.message }
      : { channelId, src: this.#o.peer, message: decoded.message, member: decoded.member };
    let r: void | Promise<void>;
    // Marked before the call: the synchronous part of an async receive counts as in flight.
    this.#delivering = true;
    try {
      r = route.reactor.receive(envelope);
    } catch (e) {
      this.#receiveFailed(e, route.reactorName, channelId);
      return;
    } finally {
      this.#delivering = false;
    }
    // Only a thenable is waited for; anything else a reactor returns is ignored.
    if (r != null && typeof (r as Promise<void>).then === "function") {
      const p = Promise.resolve(r).then(
        () => {
          if (this.#inflight === p) this.#inflight = undefined;
        },
        (e) => {
          if (this.#inflight === p) this.#inflight = undefined;
          this.#receiveFailed(e, route.reactorName, channelId);
        },
      );
      this.#inflight = p;
      return p;
    }
  }

  /** True while a reactor's `receive` for this peer is running or its promise pending. */
  get inFlight(): boolean {
    return this.#delivering || this.#inflight !== undefined;
  }

  /**
   * Resolves once no `receive` of this peer is pending: at once, when it settles, or after
   * {@link RECEIVE_DRAIN_TIMEOUT_MS} (logged).
   */
  settle(): Promise<void> {
    return this.#inflight === undefined ? Promise.resolve() : this.#drainReceive(this.#inflight);
  }

  async #drainReceive(p: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      p.then(() => false),
      new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(true), RECEIVE_DRAIN_TIMEOUT_MS)
      ),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.#o.logger.error(
        "Reactor receive still pending after the peer stopped; removing anyway",
        {
          waitedMs: RECEIVE_DRAIN_TIMEOUT_MS,
        },
      );
    }
  }

  #receiveFailed(e: unknown, reactor: string, channel: number): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.#o.logger.error("Reactor failed to handle a message", { reactor, channel, err });
    this.#o.fail(protocolViolation(err, reactor));
  }
}
