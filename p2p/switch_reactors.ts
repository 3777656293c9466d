/**
 * The Switch's reactor table: registration (name and channel-id uniqueness, descriptor
 * validation), the channel routes peers dispatch on, and the calls that visit every reactor in
 * registration order (`start`, `stop`, `initPeer`, `addPeer`, `removePeer`), awaiting each
 * returned promise so an async reactor sees the same order as a synchronous one.
 * @module
 */
import type { Logger } from "../libs/log.ts";
import type { ChannelRoute, Peer } from "./peer.ts";
import { ChannelCodec, type Reactor, type StreamDescriptor } from "./reactor.ts";
import { protocolViolation, type StopReason } from "./stop_reason.ts";
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

  /**
   * Starts every reactor in registration order, each after the previous one's `start`
   * resolved. On the first failure the reactors already started are stopped (in reverse order,
   * failures logged) and the error is rethrown naming the reactor; the one that failed is not
   * stopped (it never started).
   */
  async startAll(log: Logger): Promise<void> {
    const started: [string, Reactor][] = [];
    for (const [name, r] of this.reactors) {
      try {
        await r.start();
      } catch (e) {
        log.error("Reactor failed to start; stopping the ones already started", {
          reactor: name,
          err: e,
        });
        for (const [n, s] of started.reverse()) await stopOne(n, s, log);
        throw new ReactorStartError(name, e);
      }
      started.push([name, r]);
    }
  }

  /** Stops every reactor, logging (not throwing) failures. */
  async stopAll(log: Logger): Promise<void> {
    for (const [name, r] of this.reactors) await stopOne(name, r, log);
  }

  /**
   * `initPeer` on every reactor in registration order, awaiting each. Stops early (returning
   * the failure) when a reactor throws or rejects, or when `stopRequested` returns a reason (a
   * reactor called `stopPeerForError` from `initPeer`). `initialized` receives the name of every
   * reactor called, so exactly those get `removePeer`.
   */
  async initPeer(
    peer: Peer,
    initialized: string[],
    stopRequested: () => StopReason | undefined,
  ): Promise<StopReason | undefined> {
    for (const [name, r] of this.reactors) {
      initialized.push(name);
      try {
        await r.initPeer(peer);
      } catch (e) {
        return protocolViolation(asError(e), name);
      }
      const reason = stopRequested();
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  /**
   * `addPeer` on every reactor, awaiting each; returns the first failure. Reactors after a
   * failure, or after the peer stopped, are not called (the grammar allows `removePeer` right
   * after `initPeer`).
   */
  async addPeer(
    peer: Peer,
  ): Promise<{ name: string; err: Error } | undefined> {
    for (const [name, r] of this.reactors) {
      if (!peer.isRunning) return undefined;
      try {
        await r.addPeer(peer);
      } catch (e) {
        return { name, err: asError(e) };
      }
    }
    return undefined;
  }

  /** `removePeer` on the reactors named `names`, awaiting each, logging (not throwing) failures. */
  async removePeer(
    peer: Peer,
    reason: StopReason,
    names: Iterable<string>,
    log: Logger,
  ): Promise<void> {
    for (const name of names) {
      try {
        await this.reactors.get(name)!.removePeer(peer, reason);
      } catch (e) {
        log.error("Reactor failed in removePeer", { reactor: name, peer: peer.id, err: e });
      }
    }
  }
}

/** A reactor's `start` failed; the switch stopped the reactors started before it. */
export class ReactorStartError extends Error {
  /** Name of the reactor whose start failed. */
  readonly reactor: string;
  /** `reactor`'s start failed with `cause`. */
  constructor(reactor: string, cause: unknown) {
    super(`failed to start ${reactor}: ${asError(cause).message}`, { cause });
    this.name = "ReactorStartError";
    this.reactor = reactor;
  }
}

async function stopOne(name: string, r: Reactor, log: Logger): Promise<void> {
  try {
    await r.stop();
  } catch (e) {
    log.error("error while stopped reactor", { reactor: name, error: e });
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
