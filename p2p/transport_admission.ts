/**
 * Admission control for inbound handshakes (our addition; Go's `MultiplexTransport` has only
 * its 3 s per-phase deadlines): the table of handshakes in progress, with the phase each is in
 * and since when, a cap on how many may come from one IP, and the choice of which one gives up
 * its slot when a new connection needs it.
 *
 * An honest peer finishes each phase within a round trip or two: it sends its ephemeral key
 * with the TCP handshake's last ACK, its signature one round trip later, its NodeInfo one more.
 * A client that has sent nothing, or a few bytes, and then stalls, would otherwise hold its
 * slot for the whole deadline. So, while the slots are full, the handshake that has been in its
 * current phase the longest, if that is at least {@link SHED_PHASE_BUDGET_MS}, is dropped with
 * {@link HandshakeShedError} to make room; a handshake that keeps moving is never the one
 * picked while a staler one exists. The per-IP cap works the same way within one IP: a new
 * connection from an IP at its cap waits up to that budget for the IP's stalest handshake to
 * become sheddable, takes its place, and is refused only if all of them keep moving.
 * @module
 */
import { HandshakeError } from "./errors.ts";
import type { HandshakePhase } from "./upgrade.ts";

/** Handshakes allowed in flight at once before the accept loop pauses (our addition). */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 64;

/**
 * `p2p.max_pending_handshakes_per_ip`: handshakes in flight from one IP at once. With
 * `allow_duplicate_ip = false` (the default) the duplicate-IP filter already allows only one.
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP = 8;

/**
 * Under load, a handshake that has not finished its current phase within this long may give
 * its slot to a new connection (module comment).
 */
export const SHED_PHASE_BUDGET_MS = 100;

/** An inbound handshake dropped, stalled in a phase, to give its slot to a new connection. */
export class HandshakeShedError extends HandshakeError {
  constructor(phase: HandshakePhase, stalledMs: number, pending: number) {
    super(
      `handshake dropped: stalled ${Math.round(stalledMs)} ms in phase ${phase}, ` +
        `slot given to a new connection (${pending} pending)`,
    );
  }
}

/** One inbound handshake in progress. */
export class PendingHandshake {
  /** Aborted to shed this handshake. */
  readonly ac = new AbortController();
  #phase: HandshakePhase = "ephemeral_key";
  #since = performance.now();

  constructor(readonly ip: string) {}

  /** The phase the handshake is in. */
  get phase(): HandshakePhase {
    return this.#phase;
  }
  /** When the current phase began (performance.now()). */
  get phaseSince(): number {
    return this.#since;
  }
  /** Records progress: the handshake has moved on to `phase`. */
  enter(phase: HandshakePhase): void {
    this.#phase = phase;
    this.#since = performance.now();
  }
}

/** The table of inbound handshakes in progress (module comment). */
export class HandshakeAdmission {
  readonly #max: number;
  readonly #maxPerIP: number;
  readonly #pending = new Set<PendingHandshake>();
  readonly #perIP = new Map<string, number>();

  /** `maxPerIP` 0 = no per-IP cap. */
  constructor(max: number, maxPerIP: number) {
    this.#max = max;
    this.#maxPerIP = maxPerIP;
  }

  /** Handshakes in progress. */
  get size(): number {
    return this.#pending.size;
  }
  /** True while another handshake may start without shedding one. */
  hasSlot(): boolean {
    return this.#pending.size < this.#max;
  }
  /** True if `ip` already has as many handshakes in progress as it may. */
  ipFull(ip: string): boolean {
    return this.#maxPerIP > 0 && (this.#perIP.get(ip) ?? 0) >= this.#maxPerIP;
  }
  /** Registers a new handshake from `ip`. */
  add(ip: string): PendingHandshake {
    const p = new PendingHandshake(ip);
    this.#pending.add(p);
    this.#perIP.set(ip, (this.#perIP.get(ip) ?? 0) + 1);
    return p;
  }
  /** Unregisters a finished (or failed, or shed) handshake. Idempotent. */
  remove(p: PendingHandshake): void {
    if (!this.#pending.delete(p)) return;
    const n = (this.#perIP.get(p.ip) ?? 1) - 1;
    if (n > 0) this.#perIP.set(p.ip, n);
    else this.#perIP.delete(p.ip);
  }

  /** The handshake (from `ip`, if given) that has been in its current phase the longest. */
  stalest(ip?: string): PendingHandshake | undefined {
    let best: PendingHandshake | undefined;
    for (const p of this.#pending) {
      if (ip !== undefined && p.ip !== ip) continue;
      if (best === undefined || p.phaseSince < best.phaseSince) best = p;
    }
    return best;
  }

  /**
   * Milliseconds until some handshake may be shed: 0 if one may be now, undefined if none is
   * pending.
   */
  msUntilShed(ip?: string, now = performance.now()): number | undefined {
    const p = this.stalest(ip);
    if (p === undefined) return undefined;
    return Math.max(0, SHED_PHASE_BUDGET_MS - (now - p.phaseSince));
  }

  /**
   * Sheds the stalest handshake if it has been stuck in its phase for at least
   * {@link SHED_PHASE_BUDGET_MS}: aborts it with {@link HandshakeShedError} and frees its slot.
   * False if no handshake qualifies.
   */
  shedStalest(ip?: string): boolean {
    const now = performance.now();
    const p = this.stalest(ip);
    if (p === undefined || now - p.phaseSince < SHED_PHASE_BUDGET_MS) return false;
    const pending = this.#pending.size;
    this.remove(p);
    p.ac.abort(new HandshakeShedError(p.phase, now - p.phaseSince, pending));
    return true;
  }

  /**
   * Makes room for a new handshake from `ip` if it is at its cap: waits (at most
   * {@link SHED_PHASE_BUDGET_MS}) until the IP's stalest handshake may be shed, and sheds it.
   * False if every one of the IP's handshakes keeps moving (the new one is then refused).
   */
  async makeRoomFor(ip: string): Promise<boolean> {
    if (!this.ipFull(ip)) return true;
    const wait = this.msUntilShed(ip);
    if (wait !== undefined && wait > 0) await new Promise((r) => setTimeout(r, wait + 1));
    return !this.ipFull(ip) || this.shedStalest(ip);
  }
}
