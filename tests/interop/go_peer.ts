/**
 * Harness for the Go interop peer (`tests/interop/go/`, a small program of ours that uses
 * CometBFT v0.38.25's p2p package as a library). It builds the binary (cached), starts
 * `interop-peer serve` as a subprocess, parses its JSON-lines stdout into typed events and
 * drives it with JSON-lines commands on stdin.
 *
 * Echo channels carry `google.protobuf.BytesValue`: `0x0a <uvarint len> <payload>`, and an
 * empty payload is an empty message. See `tests/interop/go/main.go`.
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  type GoPeerCommand,
  type GoPeerEvent,
  GoPeerExitedError,
  type GoPeerOptions,
  GoPeerTimeoutError,
  type ReadyEvent,
  serveArgs,
} from "./go_peer_types.ts";

export * from "./go_peer_types.ts";

/** Directory of the Go module. */
export const GO_PEER_DIR: string = fileURLToPath(new URL("./go/", import.meta.url));
/** Path of the built binary (gitignored). */
export const GO_PEER_BINARY: string = GO_PEER_DIR + "bin/interop-peer";
/** Why Go interop tests cannot run. */
export const MISSING_GO_MESSAGE = "go toolchain not found (PATH or /usr/local/go/bin/go)";

/** Default wait for one event. */
const DEFAULT_WAIT_MS = 10_000;
/** Default wait for the `ready` line (a cold `go build` is done before this starts). */
const DEFAULT_READY_MS = 20_000;
/** How long `stop()` waits for a graceful exit before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Lines of stderr kept for diagnostics. */
const STDERR_TAIL_LINES = 200;

const FALLBACK_GO_PATHS = ["/usr/local/go/bin/go", "/usr/lib/go/bin/go"];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Absolute path of the `go` tool, or null. `SWITCHYARD_GO` overrides the search (a path; an
 * empty or missing file means "no Go", which is how the skip/fail paths are exercised).
 */
export function findGo(): string | null {
  const forced = Deno.env.get("SWITCHYARD_GO");
  if (forced !== undefined) return forced && isFile(forced) ? forced : null;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && isFile(`${dir}/go`)) return `${dir}/go`;
  }
  return FALLBACK_GO_PATHS.find(isFile) ?? null;
}

/** Whether a Go toolchain is installed. */
export function hasGo(): boolean {
  return findGo() !== null;
}

let skipNoticePrinted = false;

/**
 * Test-option fragment: runs when Go is present; without Go it is ignored locally (reason
 * printed once) and runs (and fails in {@link buildGoPeer}) when `CI=true`.
 */
export function requireGoOrSkip(): { ignore: boolean } {
  if (hasGo() || Deno.env.get("CI") === "true") return { ignore: false };
  if (!skipNoticePrinted) {
    skipNoticePrinted = true;
    console.error(`skipping Go interop tests: ${MISSING_GO_MESSAGE} (set CI=true to fail instead)`);
  }
  return { ignore: true };
}

/** Registers a test with the skip/fail semantics of {@link requireGoOrSkip}. */
export function goPeerTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, ...requireGoOrSkip(), fn });
}

async function mtimeMs(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return -1;
  }
}

/** Whether any Go source or go.mod/go.sum is newer than the binary. */
async function binaryIsStale(): Promise<boolean> {
  const built = await mtimeMs(GO_PEER_BINARY);
  if (built < 0) return true;
  for await (const entry of Deno.readDir(GO_PEER_DIR)) {
    if (!entry.isFile) continue;
    if (entry.name.endsWith(".go") || entry.name === "go.mod" || entry.name === "go.sum") {
      if ((await mtimeMs(GO_PEER_DIR + entry.name)) > built) return true;
    }
  }
  return false;
}

let building: Promise<string> | null = null;

/**
 * Builds `tests/interop/go/bin/interop-peer` unless it is newer than every source file.
 * Concurrent callers share one build. Returns the binary path.
 */
export function buildGoPeer(): Promise<string> {
  building ??= doBuild().finally(() => {
    building = null;
  });
  return building;
}

async function doBuild(): Promise<string> {
  const go = findGo();
  if (go === null) throw new Error(MISSING_GO_MESSAGE);
  if (!(await binaryIsStale())) return GO_PEER_BINARY;
  const out = await new Deno.Command(go, {
    args: ["build", "-o", "bin/interop-peer", "./"],
    cwd: GO_PEER_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(`go build failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`);
  }
  return GO_PEER_BINARY;
}

/** Event predicate; a type guard narrows the result of {@link GoPeer.waitFor}. */
export type EventPredicate = (e: GoPeerEvent) => boolean;

/** A running `interop-peer serve` process. */
export class GoPeer {
  #ready: ReadyEvent | null = null;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #history: GoPeerEvent[] = [];
  readonly #wakeups = new Set<() => void>();
  readonly #stderrTail: string[] = [];
  readonly #pumps: Promise<void>;
  /** Both output streams reached EOF: no further event can arrive. */
  #drained = false;
  #exitStatus: Deno.CommandStatus | null = null;
  #stopping: Promise<void> | null = null;
  #writeChain: Promise<void> = Promise.resolve();
  #tagSeq = 0;

  /** Use {@link startGoPeer}. Starts pumping stdout (events) and stderr (tail). */
  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    const drained = () => {
      this.#drained = true;
      this.#wake();
    };
    this.#pumps = Promise.all([
      pumpLines(child.stdout, (line) => {
        try {
          this.#history.push(JSON.parse(line) as GoPeerEvent);
        } catch {
          this.#pushStderr(`[stdout] ${line}`);
        }
        this.#wake();
      }),
      pumpLines(child.stderr, (line) => this.#pushStderr(line)),
    ]).then(drained, drained);
    child.status.then((s) => {
      this.#exitStatus = s;
      this.#wake();
    });
  }

  /** @internal Spawns and waits for `ready`; see {@link startGoPeer}. */
  static async spawn(bin: string, opts: GoPeerOptions): Promise<GoPeer> {
    const child = new Deno.Command(bin, {
      args: serveArgs(opts),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const peer = new GoPeer(child);
    try {
      peer.#ready = await peer.waitFor(
        (e): e is ReadyEvent => e.event === "ready",
        opts.readyTimeoutMs ?? DEFAULT_READY_MS,
      );
    } catch (err) {
      await peer.stop();
      throw err;
    }
    return peer;
  }

  #pushStderr(line: string): void {
    this.#stderrTail.push(line);
    if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
  }

  /** The `ready` event as printed. */
  get ready(): ReadyEvent {
    if (this.#ready === null) throw new Error("go peer is not ready");
    return this.#ready;
  }

  /** Node ID (hex of the address of the node key). */
  get id(): string {
    return this.ready.id;
  }

  /** Dialable `id@127.0.0.1:port`. */
  get addr(): string {
    return this.ready.addr;
  }

  /** The bound TCP port. */
  get port(): number {
    return this.ready.port;
  }

  #wake(): void {
    for (const w of [...this.#wakeups]) w();
  }

  /** Number of events seen so far; pass it as `since` to wait only for later events. */
  mark(): number {
    return this.#history.length;
  }

  /** Every event seen so far (a copy). */
  events(): GoPeerEvent[] {
    return [...this.#history];
  }

  /** The last lines the process wrote to stderr (CometBFT logs). */
  stderrText(): string {
    return this.#stderrTail.join("\n");
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exitStatus !== null;
  }

  /**
   * Resolves with the first event (at index ≥ `since`, default 0) matching `pred`. Rejects with
   * {@link GoPeerTimeoutError} after `timeoutMs`, or {@link GoPeerExitedError} if the process
   * exits (and its output is drained) first.
   */
  waitFor<E extends GoPeerEvent>(
    pred: (e: GoPeerEvent) => e is E,
    timeoutMs?: number,
    opts?: { since?: number },
  ): Promise<E>;
  waitFor(
    pred: EventPredicate,
    timeoutMs?: number,
    opts?: { since?: number },
  ): Promise<GoPeerEvent>;
  async waitFor(
    pred: EventPredicate,
    timeoutMs = DEFAULT_WAIT_MS,
    opts: { since?: number } = {},
  ): Promise<GoPeerEvent> {
    let cursor = opts.since ?? 0;
    let timedOut = false;
    let wakeup: () => void = () => {};
    const timer = setTimeout(() => {
      timedOut = true;
      wakeup();
    }, timeoutMs);
    try {
      for (;;) {
        for (; cursor < this.#history.length; cursor++) {
          if (pred(this.#history[cursor])) return this.#history[cursor];
        }
        if (timedOut) {
          throw new GoPeerTimeoutError(
            `no matching event within ${timeoutMs} ms`,
            this.stderrText(),
          );
        }
        if (this.#exitStatus !== null && this.#drained) {
          if (cursor < this.#history.length) continue;
          throw new GoPeerExitedError(this.#exitStatus.code, this.stderrText());
        }
        await new Promise<void>((resolve) => {
          wakeup = resolve;
          this.#wakeups.add(resolve);
        });
        this.#wakeups.delete(wakeup);
      }
    } finally {
      clearTimeout(timer);
      this.#wakeups.delete(wakeup);
    }
  }

  /** Writes one command line to the process's stdin. */
  command(cmd: GoPeerCommand): Promise<void> {
    const line = new TextEncoder().encode(JSON.stringify(cmd) + "\n");
    this.#writeChain = this.#writeChain.then(() => this.#stdin.write(line));
    return this.#writeChain;
  }

  /** Sends a command with a fresh tag and waits for the reply event carrying that tag. */
  async request(cmd: GoPeerCommand, timeoutMs = DEFAULT_WAIT_MS): Promise<GoPeerEvent> {
    const tag = `t${++this.#tagSeq}`;
    const since = this.mark();
    await this.command({ ...cmd, tag });
    return this.waitFor((e) => "tag" in e && e.tag === tag, timeoutMs, { since });
  }

  /**
   * Sends `data` (or, given a number, that many bytes with byte i = i mod 256) on `channel` to
   * `peer` (default: every peer), `count` times, with the blocking `Peer.Send` (or `TrySend`).
   * Resolves with the `sent` (or `error`) event.
   */
  send(
    data: Uint8Array | number,
    opts: { channel: number; peer?: string; count?: number; try?: boolean; timeoutMs?: number },
  ): Promise<GoPeerEvent> {
    const payload = typeof data === "number"
      ? { len: data }
      : { hex: Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("") };
    return this.request(
      {
        cmd: "send",
        channel: opts.channel,
        peer: opts.peer,
        count: opts.count,
        try: opts.try,
        ...payload,
      },
      opts.timeoutMs ?? 60_000,
    );
  }

  /** Dials `addr`; resolves with the `dial` event (check `.ok`). */
  dial(
    addr: string,
    opts: { persistent?: boolean; timeoutMs?: number } = {},
  ): Promise<GoPeerEvent> {
    return this.request(
      { cmd: "dial", addr, persistent: opts.persistent },
      opts.timeoutMs ?? 30_000,
    );
  }

  /** Stops a peer gracefully, or for an error when `error` is given. */
  stopPeer(id: string, error?: string): Promise<GoPeerEvent> {
    return this.request({ cmd: "stop_peer", peer: id, error });
  }

  /** Kills the process with SIGKILL (simulates a crash; {@link stop} still cleans up). */
  kill(): void {
    if (this.#exitStatus === null) this.#child.kill("SIGKILL");
  }

  /**
   * Stops the process: `quit` on stdin and close it, SIGKILL after a grace period; awaits exit
   * and the end of both output streams. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    try {
      await this.command({ cmd: "quit" });
    } catch {
      // stdin already closed (process gone): nothing to say.
    }
    await this.#stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), STOP_GRACE_MS);
    });
    const res = await Promise.race([this.#child.status, grace]);
    clearTimeout(timer);
    if (res === "timeout") {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // exited in between
      }
    }
    await this.#child.status;
    await this.#pumps;
  }
}

async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trimEnd();
      buf = buf.slice(nl + 1);
      if (line) onLine(line);
    }
  }
  if (buf.trim()) onLine(buf.trim());
}

/** Builds (if needed) and starts `interop-peer serve`; resolves once it printed `ready`. */
export async function startGoPeer(opts: GoPeerOptions = {}): Promise<GoPeer> {
  const bin = await buildGoPeer();
  return await GoPeer.spawn(bin, opts);
}

/**
 * Runs `interop-peer bench <args>` to completion and returns its one JSON result line.
 * Throws with stderr on failure.
 */
export async function runGoBench(args: string[]): Promise<Record<string, unknown>> {
  const bin = await buildGoPeer();
  const out = await new Deno.Command(bin, {
    args: ["bench", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  const lines = dec.decode(out.stdout).split("\n").filter((l) => l.trim());
  const last = lines.length ? JSON.parse(lines[lines.length - 1]) as Record<string, unknown> : {};
  if (!out.success || last.event === "error") {
    throw new Error(
      `interop-peer bench failed (${out.code}): ${JSON.stringify(last)}\n${dec.decode(out.stderr)}`,
    );
  }
  return last;
}
