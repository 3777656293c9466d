/**
 * Persistent-peer redialing (CometBFT `Switch.reconnectToPeer`, spec §7.7), with every timer a
 * named value that tests can scale down, plus our addition: a peer a reactor stopped for a
 * protocol violation is redialed only after a cooldown, so a misbehaving persistent peer is not
 * hammered in a tight loop (Go redials it at once).
 * @module
 */
import type { NetAddress } from "./netaddress.ts";
import { type Logger, nopLogger } from "../libs/log.ts";

/** Phase-1 attempts (Go `reconnectAttempts`). */
export const RECONNECT_ATTEMPTS = 20;
/** Phase-1 base pause between attempts (Go `reconnectInterval`). */
export const RECONNECT_INTERVAL_MS = 5_000;
/** Phase-2 attempts (Go `reconnectBackOffAttempts`). */
export const RECONNECT_BACKOFF_ATTEMPTS = 10;
/** Phase-2 pause before attempt i is `base^i` units (Go `reconnectBackOffBaseSeconds`). */
export const RECONNECT_BACKOFF_BASE = 3;
/** Unit of the phase-2 pause: one second. */
export const RECONNECT_BACKOFF_UNIT_MS = 1_000;
/** Random extra delay U[0, this) added to every pause (Go `dialRandomizerIntervalMilliseconds`). */
export const DIAL_RANDOMIZER_INTERVAL_MS = 3_000;
/** Delay before redialing a persistent peer stopped for a protocol violation (our addition). */
export const DEFAULT_REACTOR_ERROR_COOLDOWN_MS = 60_000;

/** The redial schedule. Defaults are Go's; tests scale them down. */
export interface ReconnectSchedule {
  attempts: number;
  intervalMs: number;
  backoffAttempts: number;
  backoffBase: number;
  backoffUnitMs: number;
  jitterMs: number;
}

/** Go's schedule: 20 × (5 s + U[0,3 s)), then 3^i s + U[0,3 s) for i = 1..10. */
export const DEFAULT_RECONNECT_SCHEDULE: Readonly<ReconnectSchedule> = Object.freeze({
  attempts: RECONNECT_ATTEMPTS,
  intervalMs: RECONNECT_INTERVAL_MS,
  backoffAttempts: RECONNECT_BACKOFF_ATTEMPTS,
  backoffBase: RECONNECT_BACKOFF_BASE,
  backoffUnitMs: RECONNECT_BACKOFF_UNIT_MS,
  jitterMs: DIAL_RANDOMIZER_INTERVAL_MS,
});

/** A sleep that rejects with the signal's reason when aborted (and clears its timer). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The real {@link Sleep}. */
export const abortableSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** What a dial attempt of the loop reports. */
export type RedialOutcome = "connected" | "already" | "failed";

/** Dependencies of a {@link Reconnector}. */
export interface ReconnectorOptions {
  /** One dial attempt. */
  dial(addr: NetAddress): Promise<RedialOutcome>;
  /** Aborted when the switch stops. */
  signal: AbortSignal;
  schedule?: Partial<ReconnectSchedule>;
  sleep?: Sleep;
  /** U[0,1) source. */
  random?: () => number;
  logger?: Logger;
}

/** Runs at most one redial loop per node ID. */
export class Reconnector {
  readonly #dial: (addr: NetAddress) => Promise<RedialOutcome>;
  readonly #signal: AbortSignal;
  readonly #s: ReconnectSchedule;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #loops = new Map<string, Promise<void>>();

  constructor(opts: ReconnectorOptions) {
    this.#dial = opts.dial;
    this.#signal = opts.signal;
    this.#s = { ...DEFAULT_RECONNECT_SCHEDULE, ...opts.schedule };
    this.#sleep = opts.sleep ?? abortableSleep;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.logger ?? nopLogger;
  }

  /** True while a loop for this ID runs (cooldown included). */
  has(id: string): boolean {
    return this.#loops.has(id);
  }

  /** Promises of every running loop (for shutdown). */
  running(): Promise<void>[] {
    return [...this.#loops.values()];
  }

  /**
   * Starts a loop for `addr` unless one runs for its ID (then returns that one). The first
   * dial happens after `initialDelayMs` (0 = at once).
   */
  start(addr: NetAddress, initialDelayMs = 0): Promise<void> {
    const running = this.#loops.get(addr.id);
    if (running) return running;
    const loop = this.#run(addr, initialDelayMs).catch((e) => {
      if (!this.#signal.aborted) this.#log.error("Reconnect loop failed", { addr, err: e });
    }).finally(() => this.#loops.delete(addr.id));
    this.#loops.set(addr.id, loop);
    return loop;
  }

  #jitter(): number {
    return Math.floor(this.#random() * this.#s.jitterMs);
  }

  /** One attempt; true when the loop should end. */
  async #attempt(addr: NetAddress, tries: number): Promise<boolean> {
    if (this.#signal.aborted) return true;
    const outcome = await this.#dial(addr);
    if (outcome !== "failed") return true;
    this.#log.debug("Error reconnecting to peer. Trying again", { tries, addr });
    return false;
  }

  async #run(addr: NetAddress, initialDelayMs: number): Promise<void> {
    if (initialDelayMs > 0) await this.#sleep(initialDelayMs, this.#signal);
    const start = performance.now();
    this.#log.info("Reconnecting to peer", { addr });
    for (let i = 0; i < this.#s.attempts; i++) {
      if (await this.#attempt(addr, i)) return;
      await this.#sleep(this.#s.intervalMs + this.#jitter(), this.#signal);
    }
    this.#log.error("Failed to reconnect to peer. Beginning exponential backoff", {
      addr,
      elapsed: `${Math.round(performance.now() - start)}ms`,
    });
    for (let i = 1; i <= this.#s.backoffAttempts; i++) {
      if (this.#signal.aborted) return;
      await this.#sleep(
        Math.pow(this.#s.backoffBase, i) * this.#s.backoffUnitMs + this.#jitter(),
        this.#signal,
      );
      if (await this.#attempt(addr, i)) return;
    }
    this.#log.error("Failed to reconnect to peer. Giving up", {
      addr,
      elapsed: `${Math.round(performance.now() - start)}ms`,
    });
  }
}
