/**
 * The Switch's reactor table: registration (name and channel-id uniqueness, descriptor
 * validation), the channel routes peers dispatch on, and the calls that visit every reactor in
 * registration order (`start`, `stop`, `addPeer`, `removePeer`).
 * @module
 */
import type { Logger } from "../libs/log.ts";
import type { ChannelRoute, Peer } from "./peer.ts";
import { ChannelCodec, type Reactor, type StreamDescriptor } from "./reactor.ts";
import type { StopReason } from "./stop_reason.ts";
import { ReactorRegistrationError } from "./switch_config.ts";

/** Registered reactors with their channels and routes, in registration order. */
export class ReactorTable {
  /** Reactors by name, in registration order. */
  readonly reactors = new Map<string, Reactor>();
  /** Every channel descriptor in registration order. */
  readonly channels: StreamDescriptor[] = [];
  /** Channel id → owning reactor and codec. */
  readonly routes = new Map<number, ChannelRoute>();

  /**
   * Adds `reactor` under `name`. Throws {@link ReactorRegistrationError} for a duplicate name,
   * a channel id used twice, or a bad descriptor; nothing is added then.
   */
  register(name: string, reactor: Reactor): void {
    if (this.reactors.has(name)) {
      throw new ReactorRegistrationError(`reactor ${name} already registered`);
    }
    const descs = reactor.getChannels();
    const codecs: ChannelCodec[] = [];
    const seen = new Set<number>();
    for (const d of descs) {
      if (!Number.isInteger(d.id) || d.id < 0 || d.id > 0xff) {
        throw new ReactorRegistrationError(`reactor ${name}: channel id ${d.id} is not a byte`);
      }
      const owner = this.routes.get(d.id)?.reactorName ?? (seen.has(d.id) ? name : undefined);
      if (owner !== undefined) {
        throw new ReactorRegistrationError(
          `Channel ${d.id.toString(16).toUpperCase()} has multiple reactors ${owner} & ${name}`,
        );
      }
      seen.add(d.id);
      try {
        codecs.push(new ChannelCodec(d));
      } catch (e) {
        throw new ReactorRegistrationError(`reactor ${name}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    for (const codec of codecs) {
      this.channels.push(codec.desc);
      this.routes.set(codec.desc.id, { reactor, reactorName: name, codec });
    }
    this.reactors.set(name, reactor);
  }

  /** Starts every reactor; the first failure rejects, naming the reactor. */
  async startAll(): Promise<void> {
    for (const [name, r] of this.reactors) {
      try {
        await r.start();
      } catch (e) {
        throw new Error(`failed to start ${name}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  /** Stops every reactor, logging (not throwing) failures. */
  async stopAll(log: Logger): Promise<void> {
    for (const [name, r] of this.reactors) {
      try {
        await r.stop();
      } catch (e) {
        log.error("error while stopped reactor", { reactor: name, error: e });
      }
    }
  }

  /** `addPeer` on every reactor; returns the first failure (every reactor is still called). */
  addPeer(peer: Peer): { name: string; err: Error } | undefined {
    let failure: { name: string; err: Error } | undefined;
    for (const [name, r] of this.reactors) {
      try {
        r.addPeer(peer);
      } catch (e) {
        failure ??= { name, err: e instanceof Error ? e : new Error(String(e)) };
      }
    }
    return failure;
  }

  /** `removePeer` on the reactors named `names`, logging (not throwing) failures. */
  removePeer(peer: Peer, reason: StopReason, names: Iterable<string>, log: Logger): void {
    for (const name of names) {
      try {
        this.reactors.get(name)!.removePeer(peer, reason);
      } catch (e) {
        log.error("Reactor failed in removePeer", { reactor: name, peer: peer.id, err: e });
      }
    }
  }
}
