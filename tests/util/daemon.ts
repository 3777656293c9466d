/**
 * The daemon and the CLI as users run them, for end-to-end tests: `deno run <the cli task's
 * permissions from deno.json> main.ts ...` as a subprocess in the project root, with the
 * environment minus `SWITCHYARD_*` (so the test runner's settings never leak into the child's
 * config). {@link cli} runs a one-shot subcommand to completion; {@link spawnDaemon} starts
 * `main.ts node --home <home>` on free loopback ports, waits until its RPC answers and keeps
 * its output (stdout lines separately, for what the daemon prints as opposed to logs on
 * stderr); {@link Daemon.stop} signals it and awaits the exit and the end of its output.
 * @module
 */
import { freePort } from "../interop/cometbft.ts";
import { RpcClient } from "../../rpc/client.ts";
import { eventually } from "./eventually.ts";

/** Project root (where deno.json and main.ts are), with a trailing slash. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * The permission flags of `deno task cli` (and so `deno task node`), read from deno.json so the
 * tests run the daemon exactly as the task does; `--no-prompt` turns a missing permission into
 * an error instead of a hang.
 */
export const CLI_PERMS: readonly string[] = (() => {
  const task: string = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks.cli;
  const words = task.split(/\s+/).map((w) => w.replace(/^'(.*)'$/, "$1"));
  const perms = words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
  if (perms.some((p) => p === "-A" || p === "--allow-all")) throw new Error("task grants -A");
  return ["--no-prompt", ...perms];
})();

/** How long a daemon may take to answer RPC after spawn. */
export const START_TIMEOUT_MS = 30_000;
/** Default bound of {@link waitFor} (dials start after up to 3 s). */
export const WAIT_TIMEOUT_MS = 20_000;
const POLL_MS = 100;

/** The test process's environment without `SWITCHYARD_*`. */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (!k.startsWith("SWITCHYARD_")) env[k] = v;
  }
  return env;
}

/** Outcome of a finished CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts <args>` with the cli task's permissions and waits for it to exit. */
export function cli(...args: string[]): Promise<CliRun> {
  return runCli(args);
}

/** {@link cli} with options: `timeoutMs` kills a run that has not exited by then. */
export async function runCli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLI_PERMS, "main.ts", ...args],
    cwd: ROOT,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: opts.timeoutMs === undefined ? undefined : AbortSignal.timeout(opts.timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Polls `fn` every 100 ms until it returns something other than undefined; bounded. A throw
 * from `fn` fails the wait at once.
 */
export function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<T> {
  return eventually(what, fn, { timeoutMs, pollMs: POLL_MS, failOnError: true });
}

/** A running daemon subprocess. */
export class Daemon {
  /** RPC client for `--rpc.laddr`. */
  readonly rpc: RpcClient;
  #out = "";
  #stdout = "";
  readonly #pumps: Promise<void>;
  readonly #status: Promise<Deno.CommandStatus>;
  #exited = false;

  constructor(
    readonly home: string,
    readonly rpcPort: number,
    readonly p2pPort: number,
    readonly child: Deno.ChildProcess,
  ) {
    this.rpc = new RpcClient(`tcp://127.0.0.1:${rpcPort}`, { timeoutMs: 2_000 });
    const pump = async (s: ReadableStream<Uint8Array>, isStdout: boolean) => {
      const dec = new TextDecoder();
      for await (const chunk of s) {
        const text = dec.decode(chunk, { stream: true });
        this.#out += text;
        if (isStdout) this.#stdout += text;
      }
    };
    this.#pumps = Promise.all([pump(child.stdout, true), pump(child.stderr, false)]).then(
      () => {},
    );
    this.#status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  /** `tcp://127.0.0.1:<rpc port>`, for `--node`. */
  get rpcAddr(): string {
    return `tcp://127.0.0.1:${this.rpcPort}`;
  }

  /** Everything written so far, stdout and stderr interleaved as read. */
  get output(): string {
    return this.#out;
  }

  /** Complete lines written to stdout so far. */
  stdoutLines(): string[] {
    const lines = this.#stdout.split("\n");
    lines.pop(); // the unterminated tail (or "" after a final newline)
    return lines;
  }

  /** True once the process has exited. */
  get hasExited(): boolean {
    return this.#exited;
  }

  /** Waits (bounded) until a stdout line matches `re`; returns that line. */
  waitForLine(re: RegExp, timeoutMs = WAIT_TIMEOUT_MS): Promise<string> {
    return waitFor(`a stdout line matching ${re}`, () => {
      const hit = this.stdoutLines().find((l) => re.test(l));
      if (hit === undefined && this.#exited) {
        throw new Error(`daemon exited before printing ${re}:\n${this.#out}`);
      }
      return hit;
    }, timeoutMs);
  }

  /** Sends `sig` and waits for the exit and the end of its output; returns the exit code. */
  async stop(sig: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.child.kill(sig);
    } catch { /* already exited */ }
    return await this.exited();
  }

  /** Exit status without sending anything. */
  async exited(): Promise<number> {
    const st = await this.#status;
    await this.#pumps;
    return st.code;
  }
}

/**
 * The daemon's open descriptors, listed by `ls`: Deno lets only --allow-all read /proc/<pid>,
 * and the test task runs with narrower permissions.
 */
export async function fdCount(d: Daemon): Promise<number> {
  const out = await new Deno.Command("ls", {
    args: ["-1", `/proc/${d.child.pid}/fd`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`ls /proc/${d.child.pid}/fd failed`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").length;
}

/** Options of {@link spawnDaemon}. */
export interface DaemonOptions {
  /** Further flags after the defaults (later flags win). */
  flags?: string[];
  /** Serve Prometheus metrics on this port. */
  prometheusPort?: number;
  /** Run under this open-file limit (`prlimit --nofile`; the process keeps its PID). */
  fdLimit?: number;
  /** Flags for `deno run` itself (e.g. `--inspect=127.0.0.1:PORT`), before the script. */
  denoFlags?: string[];
}

/**
 * Spawns `main.ts node --home <home>` on free loopback P2P and RPC ports (address book not
 * strict, duplicate IPs allowed: every peer is 127.0.0.1) and waits until RPC `health`
 * answers. On a start-up failure the process is gone before this throws.
 */
export async function spawnDaemon(home: string, opts: DaemonOptions = {}): Promise<Daemon> {
  const d = launchDaemon(home, opts);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (d.hasExited) {
      await d.exited();
      throw new Error(`daemon exited during start-up:\n${d.output}`);
    }
    try {
      await d.rpc.call("health");
      return d;
    } catch (e) {
      if (Date.now() > deadline) {
        await d.stop("SIGKILL");
        throw new Error(`daemon RPC did not come up: ${(e as Error).message}\n${d.output}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

/**
 * Starts the daemon as {@link spawnDaemon} does, without waiting for it (for tests that act
 * during start-up).
 */
export function launchDaemon(home: string, opts: DaemonOptions = {}): Daemon {
  const rpcPort = freePort();
  const p2pPort = freePort();
  const args = [
    "run",
    ...(opts.denoFlags ?? []),
    ...CLI_PERMS,
    "main.ts",
    "node",
    "--home",
    home,
    "--p2p.laddr",
    `tcp://127.0.0.1:${p2pPort}`,
    "--rpc.laddr",
    `tcp://127.0.0.1:${rpcPort}`,
    "--p2p.addr_book_strict=false",
    "--p2p.allow_duplicate_ip=true",
    ...(opts.prometheusPort
      ? [
        "--instrumentation.prometheus",
        "--instrumentation.prometheus_listen_addr",
        `127.0.0.1:${opts.prometheusPort}`,
      ]
      : []),
    ...(opts.flags ?? []),
  ];
  const [cmd, cmdArgs] = opts.fdLimit === undefined
    ? [Deno.execPath(), args]
    : ["prlimit", [`--nofile=${opts.fdLimit}:${opts.fdLimit}`, Deno.execPath(), ...args]];
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: ROOT,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new Daemon(home, rpcPort, p2pPort, child);
}

/** Stops every daemon given (SIGTERM), in parallel; returns their exit codes in order. */
export function stopDaemons(ds: readonly (Daemon | undefined)[]): Promise<(number | undefined)[]> {
  return Promise.all(ds.map((d) => d?.stop("SIGTERM")));
}
