/**
 * A {@link TestReactor} whose every callback can run a hook first (sync or async, throwing or
 * rejecting): what the lifecycle and backpressure tests use to play slow, failing and
 * misbehaving reactors. The bookkeeping of TestReactor (`added`, `received`) happens after the
 * hook settled, so a test sees a callback as done only when the switch could; `removed` is
 * recorded before the hook runs.
 * @module
 */
import type { InboundEnvelope, Peer, StopReason, StreamDescriptor } from "../../p2p/reactor_api.ts";
import { TestReactor } from "./p2p_harness.ts";

/** A hook: runs before the callback's own bookkeeping. */
export type Hook<A extends unknown[]> = (...args: A) => void | Promise<void>;

/** The callbacks a {@link HookReactor} can hook. */
export interface Hooks {
  start?: Hook<[]>;
  initPeer?: Hook<[Peer]>;
  addPeer?: Hook<[Peer]>;
  removePeer?: Hook<[Peer, StopReason]>;
  receive?: Hook<[InboundEnvelope]>;
}

/** Runs `hook` then `after`; stays synchronous when the hook is. */
function chain(r: void | Promise<void>, after: () => void): void | Promise<void> {
  if (r instanceof Promise) return r.then(after);
  after();
}

/** A test reactor with hooks. */
export class HookReactor extends TestReactor {
  /** Node IDs passed to `initPeer`, in order. */
  readonly inited: Peer[] = [];
  constructor(name: string, channels: StreamDescriptor[], readonly hooks: Hooks = {}) {
    super(name, channels);
  }
  protected override onStart(): Promise<void> {
    return Promise.resolve(this.hooks.start?.());
  }
  override initPeer(peer: Peer): void | Promise<void> {
    return chain(this.hooks.initPeer?.(peer), () => void this.inited.push(peer));
  }
  override addPeer(peer: Peer): void | Promise<void> {
    return chain(this.hooks.addPeer?.(peer), () => super.addPeer(peer));
  }
  override removePeer(peer: Peer, reason: StopReason): void | Promise<void> {
    // Recorded first: a removal happened even if the hook then fails.
    super.removePeer(peer, reason);
    return this.hooks.removePeer?.(peer, reason);
  }
  override receive(env: InboundEnvelope): void | Promise<void> {
    return chain(this.hooks.receive?.(env), () => super.receive(env));
  }
}

/** A seeded xorshift U[0,1) source, so "random" delays repeat run to run. */
export function seededRandom(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Resolves after `ms` (a test delay, not a measured time). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
