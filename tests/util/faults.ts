/**
 * Fault injection for tests, soaks and fuzzing: a loopback TCP proxy that forwards a client's
 * connection to a target (a daemon's p2p, RPC or metrics port) and, at a chosen point of the
 * client→target byte stream, injects one {@link Fault}:
 *
 * | fault                  | what the target sees                                              |
 * | ---------------------- | ----------------------------------------------------------------- |
 * | `rst`                  | a TCP reset (both sockets closed with SO_LINGER 0)                |
 * | `half_close_to_target` | EOF on its reads (FIN); its writes still reach the client         |
 * | `half_close_to_client` | nothing more from us and nobody reading its writes; the client gets EOF |
 * | `stall`                | silence both ways, the socket left open (its writes are read)     |
 * | `trickle`              | the rest of the client's bytes one at a time, {@link TRICKLE_INTERVAL_MS} apart |
 * | `corrupt`              | one byte flipped (XOR 0xff), everything else intact               |
 * | `delay`                | the rest after a pause of `delayMs` (default {@link DEFAULT_DELAY_MS}) |
 *
 * Where ({@link FaultPoint}): a protocol phase of a CometBFT p2p connection ({@link Phase}),
 * counted in client→target bytes from the fixed wire sizes ({@link PHASE_OFFSETS}), or any byte
 * offset (`{ byteOffset }`, e.g. inside an HTTP request line), or `idle`: after
 * `idleMs` without client bytes once the handshake (or, with a byte offset, that offset) is
 * past. `accept` fires as soon as the proxy's connection to the target is up, before any byte.
 *
 * The proxy uses `node:net` because Deno's own sockets cannot send a reset. Every socket it
 * opens is closed by {@link FaultProxy.close}, by the `signal`, or `holdMs` after a fault that
 * leaves sockets open; nothing outlives the proxy. The target sees the proxy's upstream address
 * ({@link FaultedConnection.targetSees}), which is what its logs name.
 * @module
 */
import net from "node:net";

/** A fault the proxy can inject (module comment). */
export type Fault =
  | "rst"
  | "half_close_to_target"
  | "half_close_to_client"
  | "stall"
  | "trickle"
  | "corrupt"
  | "delay";

/** Every {@link Fault}, for matrices. */
export const FAULTS: readonly Fault[] = [
  "rst",
  "half_close_to_target",
  "half_close_to_client",
  "stall",
  "trickle",
  "corrupt",
  "delay",
];

/** Phases of a CometBFT p2p connection, as the client's bytes cross them. */
export type Phase =
  | "accept"
  | "ephemeral_key"
  | "auth_sig"
  | "node_info"
  | "first_packet"
  | "mid_message"
  | "idle";

/** Every {@link Phase}, in order. */
export const PHASES: readonly Phase[] = [
  "accept",
  "ephemeral_key",
  "auth_sig",
  "node_info",
  "first_packet",
  "mid_message",
  "idle",
];

/** The ephemeral-key message on the wire: uvarint 34, then field 1 with 32 key bytes. */
export const EPHEMERAL_KEY_MSG_BYTES = 35;
/** Every SecretConnection frame on the wire: 4-byte length + 1024 data + 16-byte tag. */
export const SEALED_FRAME_BYTES = 1044;

/**
 * Client→target byte offset of the first byte each byte-counted phase's fault applies to (the
 * fault fires when the client sends that byte; what came before was forwarded): `ephemeral_key`
 * the second byte of the key message (the target got a partial key), `auth_sig` / `node_info` /
 * `first_packet` the first byte of their sealed frame, `mid_message` the middle of the first
 * frame after the handshake.
 */
export const PHASE_OFFSETS: Readonly<Record<Exclude<Phase, "accept" | "idle">, number>> = {
  ephemeral_key: 1,
  auth_sig: EPHEMERAL_KEY_MSG_BYTES,
  node_info: EPHEMERAL_KEY_MSG_BYTES + SEALED_FRAME_BYTES,
  first_packet: EPHEMERAL_KEY_MSG_BYTES + 2 * SEALED_FRAME_BYTES,
  mid_message: EPHEMERAL_KEY_MSG_BYTES + 2 * SEALED_FRAME_BYTES + SEALED_FRAME_BYTES / 2,
};

/** Pause between bytes of a `trickle`. */
export const TRICKLE_INTERVAL_MS = 50;
/** Pause of a `delay` unless `delayMs` says otherwise. */
export const DEFAULT_DELAY_MS = 1_000;
/** Quiet time before an `idle` fault unless `idleMs` says otherwise. */
export const DEFAULT_IDLE_MS = 500;
/** Sockets a fault leaves open are destroyed after this long unless `holdMs` says otherwise. */
export const DEFAULT_HOLD_MS = 15_000;

/** Where a fault fires: a phase, or a client→target byte offset (optionally then idle). */
export type FaultPoint = Phase | { byteOffset: number; idle?: boolean };

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where the proxy forwards to; must be loopback. */
  target: { hostname?: string; port: number };
  fault: Fault;
  at: FaultPoint;
  /** `delay`'s pause (default {@link DEFAULT_DELAY_MS}). */
  delayMs?: number;
  /** `idle`'s quiet time (default {@link DEFAULT_IDLE_MS}). */
  idleMs?: number;
  /** Upper bound on how long a fault keeps sockets open (default {@link DEFAULT_HOLD_MS}). */
  holdMs?: number;
  /** Aborting closes the proxy and every connection through it. */
  signal?: AbortSignal;
}

/** One client connection through the proxy. */
export interface FaultedConnection {
  /** The proxy's upstream address as the target sees it ("127.0.0.1:port"), once connected. */
  readonly targetSees: string | undefined;
  /** True once the fault fired on this connection. */
  readonly triggered: boolean;
  /** Client→target bytes seen so far (forwarded or not). */
  readonly clientBytes: number;
  /** Resolves once the fault has fired. */
  readonly fired: Promise<void>;
  /** Resolves once both of its sockets are closed. */
  readonly closed: Promise<void>;
}

/** A running proxy. */
export interface FaultProxy {
  readonly hostname: string;
  /** Where clients connect. */
  readonly port: number;
  /** Every connection so far, in accept order. */
  readonly connections: readonly FaultedConnection[];
  /** Stops listening, destroys every socket and waits until all are closed. */
  close(): Promise<void>;
}

function triggerOffset(at: FaultPoint): number | undefined {
  if (typeof at === "object") return at.byteOffset;
  if (at === "accept") return undefined;
  if (at === "idle") return PHASE_OFFSETS.first_packet;
  return PHASE_OFFSETS[at];
}

function isIdle(at: FaultPoint): boolean {
  return at === "idle" || (typeof at === "object" && at.idle === true);
}

/** Starts a proxy on 127.0.0.1 (random port) in front of `opts.target`. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const hostname = opts.target.hostname ?? "127.0.0.1";
  if (!hostname.startsWith("127.") && hostname !== "::1") {
    throw new Error(`fault proxy: target ${hostname} is not loopback`);
  }
  const conns: Conn[] = [];
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (down) => {
    conns.push(new Conn(down, hostname, opts));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      opts.signal?.removeEventListener("abort", onAbort);
      const serverClosed = new Promise<void>((r) => server.close(() => r()));
      for (const c of conns) c.destroy();
      await Promise.all(conns.map((c) => c.closed));
      await serverClosed;
    })();
    return closing;
  };
  const onAbort = () => void close();
  if (opts.signal?.aborted) await close();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  return { hostname: "127.0.0.1", port, connections: conns, close };
}

/** One proxied connection: client socket `down`, target socket `up`. */
class Conn implements FaultedConnection {
  targetSees: string | undefined;
  triggered = false;
  clientBytes = 0;
  readonly fired: Promise<void>;
  readonly closed: Promise<void>;
  readonly #down: net.Socket;
  readonly #up: net.Socket;
  readonly #opts: FaultProxyOptions;
  readonly #trigger: number | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #fire!: () => void;
  /** Client bytes held back (delay, trickle) or dropped (stall, half-close, rst). */
  #mode: "forward" | "hold" | "drop" = "forward";
  #held: Uint8Array[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** `stall`: nothing is forwarded either way (the target's bytes are read and dropped). */
  #stalled = false;
  /** `corrupt` at accept or idle: flip the next client byte. */
  #corruptNext = false;

  constructor(down: net.Socket, hostname: string, opts: FaultProxyOptions) {
    this.#down = down;
    this.#opts = opts;
    this.#trigger = triggerOffset(opts.at);
    this.fired = new Promise((r) => (this.#fire = r));
    this.#up = net.connect({ host: hostname, port: opts.target.port, allowHalfOpen: true });
    const closedOf = (s: net.Socket) => new Promise<void>((r) => s.once("close", () => r()));
    this.closed = Promise.all([closedOf(down), closedOf(this.#up)]).then(() => this.#clearTimers());
    for (const s of [down, this.#up]) s.on("error", () => this.destroy());
    down.once("close", () => this.#up.destroy());
    this.#up.once("close", () => down.destroy());
    this.#up.once("connect", () => {
      this.targetSees = `127.0.0.1:${this.#up.localPort}`;
      if (opts.at === "accept") {
        this.#apply(new Uint8Array(0));
        if (opts.fault === "rst") return;
      }
      this.#up.on("data", (b: Uint8Array) => {
        if (this.#stalled) return; // read and dropped: the target's writes go nowhere
        if (!this.#down.destroyed && !this.#down.writableEnded) this.#down.write(b);
      });
      this.#up.on("end", () => {
        // A stalled connection ends when the target gives up on it.
        if (this.#stalled) this.destroy();
        else this.#down.end();
      });
      down.on("data", (b: Uint8Array) => this.#onClientData(b));
      down.on("end", () => {
        if (this.#mode === "forward") this.#up.end();
      });
      if (!(this.triggered && opts.fault === "stall")) down.resume();
    });
  }

  /** Destroys both sockets (no reset). */
  destroy(): void {
    this.#down.destroy();
    this.#up.destroy();
  }

  #onClientData(b: Uint8Array): void {
    const start = this.clientBytes;
    this.clientBytes += b.length;
    const t = this.#trigger;
    if (this.triggered || t === undefined) return this.#pass(b);
    if (isIdle(this.#opts.at)) {
      this.#pass(b);
      if (this.clientBytes >= t) this.#armIdle();
      return;
    }
    if (this.clientBytes <= t) return this.#pass(b);
    // This chunk holds the byte at the trigger offset: forward what comes before it, and
    // fault from that byte on.
    this.#pass(b.subarray(0, t - start));
    this.#apply(b.subarray(t - start));
  }

  /** Forwards, holds or drops client bytes according to the current mode. */
  #pass(b: Uint8Array): void {
    if (b.length === 0) return;
    if (this.#corruptNext) {
      this.#corruptNext = false;
      b = b.slice();
      b[0] ^= 0xff;
    }
    if (this.#mode === "forward") {
      if (!this.#up.destroyed && !this.#up.writableEnded) this.#up.write(b);
    } else if (this.#mode === "hold") this.#held.push(b.slice());
  }

  #armIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = this.#timer(() => {
      if (!this.triggered) this.#apply(new Uint8Array(0));
    }, this.#opts.idleMs ?? DEFAULT_IDLE_MS);
  }

  #timer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #clearTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /** Fires the fault; `rest` is the client data at and after the trigger point. */
  #apply(rest: Uint8Array): void {
    this.triggered = true;
    this.#fire();
    const hold = () => this.#timer(() => this.destroy(), this.#opts.holdMs ?? DEFAULT_HOLD_MS);
    switch (this.#opts.fault) {
      case "rst":
        this.#mode = "drop";
        this.#up.resetAndDestroy();
        this.#down.resetAndDestroy();
        return;
      case "half_close_to_target":
        this.#mode = "drop";
        this.#up.end();
        hold();
        return;
      case "half_close_to_client":
        this.#mode = "drop";
        this.#up.pause(); // nobody reads what the target writes
        this.#down.end();
        hold();
        return;
      case "stall":
        this.#mode = "drop";
        this.#stalled = true;
        this.#down.pause();
        hold();
        return;
      case "corrupt": {
        // `rest` starts with the byte at the trigger offset (empty only at accept or idle,
        // where the next byte the client sends is flipped instead).
        if (rest.length === 0) {
          this.#corruptNext = true;
          return;
        }
        const b = rest.slice();
        b[0] ^= 0xff;
        this.#pass(b);
        return;
      }
      case "delay":
        this.#mode = "hold";
        this.#pass(rest);
        this.#timer(() => this.#release(), this.#opts.delayMs ?? DEFAULT_DELAY_MS);
        return;
      case "trickle":
        this.#mode = "hold";
        this.#pass(rest);
        this.#trickle();
        hold();
        return;
    }
  }

  #release(): void {
    this.#mode = "forward";
    for (const b of this.#held.splice(0)) this.#pass(b);
  }

  #trickle(): void {
    const step = () => {
      if (this.#up.destroyed) return;
      const first = this.#held[0];
      if (first !== undefined) {
        this.#up.write(first.subarray(0, 1));
        if (first.length > 1) this.#held[0] = first.subarray(1);
        else this.#held.shift();
      }
      this.#timer(step, TRICKLE_INTERVAL_MS);
    };
    step();
  }
}
