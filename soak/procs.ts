/**
 * The processes of a soak network: one class for a switchyard daemon or a cometbft node run as a
 * child process, with its PID, its log file, and the perturbations the soak applies to it
 * (kill -9 and restart, SIGSTOP/SIGCONT, graceful restart). An exit the soak did not cause is
 * recorded as a crash with the exit code and the end of the log.
 * @module
 */

/** Where a node is in its life, as the soak sees it. */
export type NodeState =
  | { code: "down" }
  | { code: "running"; since: number }
  | { code: "paused"; since: number }
  | { code: "crashed"; at: number; exitCode: number; signal: string | null };

/** What kind of node. */
export type NodeKind = "seed" | "switchyard" | "cometbft";

/** An unexpected exit of a node. */
export interface Crash {
  node: string;
  at: number;
  exitCode: number;
  signal: string | null;
  logTail: string;
}

/** Log output kept per node (the rest is read and dropped, so the child never blocks). */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;
/** How long a stop waits after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5_000;

/** How a node is started: the command, and how to tell that it is up. */
export interface Launch {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Resolves when the node answers (e.g. RPC health); rejects when it never does. */
  ready(signal: AbortSignal): Promise<void>;
}

/** One node process, restartable. */
export class SoakProcess {
  #state: NodeState = { code: "down" };
  #child: Deno.ChildProcess | undefined;
  #exit: Promise<void> = Promise.resolve();
  #expectExit = false;
  #logBytes = 0;
  #log: Deno.FsFile | undefined;
  /** Unexpected exits so far. */
  readonly crashes: Crash[] = [];
  /** Times it was (re)started. */
  starts = 0;
  /** Exit code of the last exit (expected or not). */
  lastExitCode: number | undefined;

  constructor(
    readonly name: string,
    readonly kind: NodeKind,
    /** The 127.0.0.x address its p2p listener binds. */
    readonly ip: string,
    readonly p2pPort: number,
    readonly rpcPort: number,
    readonly home: string,
    readonly id: string,
    readonly launch: Launch,
    /** Perturbed by the soak (false: a long-lived node, watched for growth). */
    readonly perturbable: boolean,
  ) {}

  /** `id@ip:port`. */
  get address(): string {
    return `${this.id}@${this.ip}:${this.p2pPort}`;
  }

  get state(): NodeState {
    return this.#state;
  }

  /** PID of the live child, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get logFile(): string {
    return `${this.home}/soak-node.log`;
  }

  /** Starts the process and waits (bounded by `timeoutMs`) until it is ready. */
  async start(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.#child) throw new Error(`${this.name}: already started`);
    this.#log ??= await Deno.open(this.logFile, { append: true, create: true });
    const child = new Deno.Command(this.launch.command, {
      args: this.launch.args,
      env: this.launch.env,
      clearEnv: this.launch.env !== undefined,
      cwd: this.launch.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#expectExit = false;
    this.starts++;
    const pumps = Promise.all([this.#pump(child.stdout), this.#pump(child.stderr)]);
    this.#exit = child.status.then(async (st) => {
      await pumps;
      if (this.#child === child) this.#child = undefined;
      this.lastExitCode = st.code;
      if (this.#expectExit) {
        this.#state = { code: "down" };
        return;
      }
      this.#state = { code: "crashed", at: Date.now(), exitCode: st.code, signal: st.signal };
      this.crashes.push({
        node: this.name,
        at: Date.now(),
        exitCode: st.code,
        signal: st.signal,
        logTail: await this.logTail(),
      });
    });
    this.#state = { code: "running", since: Date.now() };
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(new Error("not ready in time")), timeoutMs);
    try {
      await Promise.race([
        this.launch.ready(ac.signal),
        this.#exit.then(() => {
          throw new Error(`${this.name} exited during start-up`);
        }),
      ]);
    } catch (e) {
      await this.kill9();
      throw new Error(`${this.name}: start failed: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      ac.abort(); // ends the ready() poller if the exit won the race
    }
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream) {
        if (this.#logBytes >= MAX_LOG_BYTES || !this.#log) continue;
        this.#logBytes += chunk.length;
        let off = 0;
        while (off < chunk.length) off += await this.#log.write(chunk.subarray(off));
      }
    } catch {
      // The stream errors when the process is killed mid-write: nothing to keep.
    }
  }

  /** The last `bytes` of the log. */
  async logTail(bytes = 2000): Promise<string> {
    try {
      const data = await Deno.readFile(this.logFile);
      return new TextDecoder().decode(data.subarray(Math.max(0, data.length - bytes)));
    } catch {
      return "";
    }
  }

  #signal(sig: Deno.Signal): boolean {
    const c = this.#child;
    if (!c) return false;
    try {
      c.kill(sig);
      return true;
    } catch {
      return false; // exited meanwhile
    }
  }

  /** kill -9, then waits for the exit (an expected one). */
  async kill9(): Promise<void> {
    if (!this.#child) return;
    this.#expectExit = true;
    this.#signal("SIGCONT"); // a stopped process still dies of SIGKILL, but keep it simple
    this.#signal("SIGKILL");
    await this.#exit;
  }

  /**
   * SIGTERM (SIGKILL after {@link STOP_GRACE_MS}), then waits for the exit; returns the exit
   * code (undefined when it was not running).
   */
  async stop(): Promise<number | undefined> {
    if (!this.#child) return undefined;
    this.#expectExit = true;
    this.#signal("SIGCONT");
    this.#signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const forced = new Promise<void>((r) => {
      timer = setTimeout(() => {
        this.#signal("SIGKILL");
        r();
      }, STOP_GRACE_MS);
    });
    await Promise.race([this.#exit, forced]);
    clearTimeout(timer);
    await this.#exit;
    return this.lastExitCode;
  }

  /** SIGSTOP. */
  pause(): void {
    if (this.#state.code !== "running") return;
    if (this.#signal("SIGSTOP")) this.#state = { code: "paused", since: Date.now() };
  }

  /** SIGCONT. */
  resume(): void {
    if (this.#state.code !== "paused") return;
    if (this.#signal("SIGCONT")) this.#state = { code: "running", since: Date.now() };
  }

  /** Closes the log file (after the last stop). */
  close(): void {
    this.#log?.close();
    this.#log = undefined;
  }
}
