/**
 * `deno task demo` as a newcomer runs it: spawned through `deno task` in a session of its own
 * (so a Ctrl-C can be imitated by signalling the whole process group, as a terminal does), read
 * until every node has printed the chat line (and, with a cometbft binary installed, until the
 * chain has committed the demo tx), then interrupted (Ctrl-C; or SIGTERM to the task process
 * only). It must exit 0 with every child stopped cleanly, leave no process behind (found by
 * listing processes (ps) whose command lines name the demo's temporary directory) and remove that
 * directory.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { childEnv, ROOT, waitFor } from "./util/daemon.ts";
import { cometbftAvailable } from "./interop/cometbft.ts";

/** Bound for the network to connect and the chat line to cross it (the demo itself waits 90 s). */
const DEMO_TIMEOUT_MS = 120_000;
/** Bound for the demo to stop everything after the interrupt (its own grace is 1.5 s + 8 s). */
const STOP_TIMEOUT_MS = 30_000;
/** Switchyard nodes besides the seed (cmd/demo.ts DEMO_NODES). */
const NODES = 5;

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Live processes (zombies excluded) as pid → command line, from `ps` (Deno refuses to read
 * /proc without --allow-all, which `deno task test` does not grant).
 */
async function processTable(): Promise<Map<number, string>> {
  const out = await new Deno.Command("ps", {
    args: ["-eo", "pid=,stat=,args="],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, `ps failed: ${new TextDecoder().decode(out.stderr)}`);
  const table = new Map<number, string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m && !m[2].startsWith("Z")) table.set(Number(m[1]), m[3]);
  }
  return table;
}

/** PIDs of live processes whose command line contains `needle`. */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const [pid, args] of await processTable()) if (args.includes(needle)) pids.push(pid);
  return pids;
}

/** The subset of `pids` still alive. */
async function stillAlive(pids: number[]): Promise<number[]> {
  const table = await processTable();
  return pids.filter((p) => table.has(p));
}

/** The demo in a new session; `pid` is also its process group id. */
class DemoRun {
  readonly child: Deno.ChildProcess;
  #text = "";
  readonly #pumps: Promise<void>;
  readonly #status: Promise<Deno.CommandStatus>;
  #exited = false;

  constructor(args: string[]) {
    this.child = new Deno.Command("setsid", {
      args: [Deno.execPath(), "task", "demo", ...args],
      cwd: ROOT,
      env: childEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) this.#text += dec.decode(chunk, { stream: true });
    };
    this.#pumps = Promise.all([pump(this.child.stdout), pump(this.child.stderr)]).then(() => {});
    this.#status = this.child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  /** Output so far without colour codes. */
  get text(): string {
    return this.#text.replace(ANSI, "");
  }

  /** Waits (bounded) until `probe` of the output is defined; fails early if the demo exits. */
  until<T>(what: string, probe: (text: string) => T | undefined, ms: number): Promise<T> {
    return waitFor(what, () => {
      const v = probe(this.text);
      if (v === undefined && this.#exited) throw new Error(`demo exited early:\n${this.text}`);
      return v;
    }, ms).catch((e) => {
      throw new Error(`${(e as Error).message}; demo output:\n${this.text}`);
    });
  }

  /** Signals the whole process group, as Ctrl-C in a terminal does. */
  signalGroup(sig: Deno.Signal): void {
    try {
      Deno.kill(-this.child.pid, sig);
    } catch { /* group already gone */ }
  }

  /** Exit status, or undefined if it is still running after `ms`. */
  async exit(ms: number): Promise<Deno.CommandStatus | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const st = await Promise.race([
      this.#status,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
    ]);
    clearTimeout(timer);
    if (st) await this.#pumps;
    return st;
  }

  /** Last resort: SIGKILL the group and wait for the exit and the end of the output. */
  async kill(): Promise<void> {
    if (!this.#exited) this.signalGroup("SIGKILL");
    await this.#status;
    await this.#pumps;
  }
}

/**
 * Runs the demo until every node printed the chat line (and cometbft committed, if it runs),
 * stops it with `stop`, and checks the exit and that nothing it started is left.
 */
async function demoRunsAndStops(
  args: string[],
  withCometbft: boolean,
  stop: (demo: DemoRun) => void,
): Promise<void> {
  const demo = new DemoRun(args);
  let dir: string | undefined;
  let seen: number[] = [];
  try {
    dir = await demo.until(
      "the demo's directory",
      (t) => /homes and logs in (\S+)/.exec(t)?.[1],
      60_000,
    );
    const printedBy = await demo.until("the chat line printed by every node", (t) => {
      const nodes = new Set(
        [...t.matchAll(/ (node\d)\s+prints node5: hello from node5/g)].map((m) => m[1]),
      );
      return nodes.size === NODES ? nodes : undefined;
    }, DEMO_TIMEOUT_MS);
    assertEquals([...printedBy].sort(), ["node1", "node2", "node3", "node4", "node5"]);
    if (withCometbft) {
      await demo.until(
        "the cometbft chain to commit the demo tx",
        (t) => /cometbft committed demo=works/.test(t) || undefined,
        DEMO_TIMEOUT_MS,
      );
    }
    const home = dir;
    seen = await processesMentioning(home);
    // seed + 5 nodes, plus cometbft.
    assertEquals(seen.length, 1 + NODES + (withCometbft ? 1 : 0), demo.text);

    stop(demo);
    const st = await demo.exit(STOP_TIMEOUT_MS);
    assert(
      st !== undefined,
      `demo still running ${STOP_TIMEOUT_MS} ms after the signal:\n${demo.text}`,
    );
    assertEquals(st.code, 0, demo.text);
    assertEquals(await stillAlive(seen), [], "children of the demo outlived it");
    assertEquals(await processesMentioning(home), [], "processes naming the demo directory remain");
    assert(/all processes stopped/.test(demo.text), demo.text);
    // Every child stopped by itself with exit 0 (the demo names any that did not).
    assert(!/exited with code/.test(demo.text), demo.text);
    const left = await Deno.stat(home).then(() => true, () => false);
    assertEquals(left, false, `${home} was not removed`);
  } finally {
    await demo.kill();
    // Whatever the outcome, nothing this test started may survive it.
    const left = dir ? [...seen, ...await processesMentioning(dir)] : seen;
    for (const pid of await stillAlive(left)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test(
  "deno task demo: chat line crosses the network (tx committed with cometbft); Ctrl-C stops all",
  async () => {
    // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    await demoRunsAndStops([], cometbftAvailable(), (d) => d.signalGroup("SIGINT"));
  },
);

Deno.test("deno task demo --no-cometbft: SIGTERM to the task alone stops every child", async () => {
  // A supervisor's `kill PID`: only the `deno task` process is signalled.
  await demoRunsAndStops(["--no-cometbft"], false, (d) => d.child.kill("SIGTERM"));
});
