/**
 * `deno task demo`: a local switchyard network on loopback, live in the terminal.
 *
 * Starts, as subprocesses in a temporary directory: a seed node (PEX seed mode) and five nodes
 * running `tx_relay`, `consensus_watcher`, `chat` and `pex`, which find each other through the
 * seed; plus, when a `cometbft` binary is installed, a single-validator CometBFT node (kvstore)
 * peered with node1. It prints each link as it appears (polling every node's RPC `net_info`),
 * then sends a chat line from node5 and shows it printed by every node, and, with CometBFT,
 * submits a `k=v` tx to node5 and shows the chain commit it. Ctrl-C (or `--duration S`) stops
 * every process: each gets SIGTERM, is waited for, and is killed after a grace period, so no
 * process outlives the demo. Node logs stay in the temporary directory (`--keep` keeps it).
 * @module
 */
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { NodeKey } from "../p2p/key.ts";
import { RpcClient } from "../rpc/client.ts";
import { findCometbft } from "./demo_cometbft.ts";
import { sleep } from "../libs/sleep.ts";
import { type DemoProcess, SIGINT_SETTLE_MS, startProcess } from "./demo_process.ts";

/** Chain ID of the demo network. */
export const DEMO_CHAIN_ID = "switchyard-demo";
/** Nodes besides the seed. */
export const DEMO_NODES = 5;
/** How often every node's `net_info` is polled. */
const POLL_MS = 1000;
/** Longest wait for the network to become connected before the chat line is sent anyway. */
const CONNECT_WAIT_MS = 90_000;
const PROJECT_ROOT = new URL("..", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** The `cli` task's permissions. */
const NODE_PERMS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env=HOME,SWITCHYARD_*",
];

const USAGE = `Usage: deno task demo [--duration SECONDS] [--keep] [--no-cometbft]

Starts a seed and ${DEMO_NODES} switchyard nodes on 127.0.0.1 (plus a cometbft node when one is
installed), shows them discovering each other and a chat line crossing the network. Ctrl-C
stops everything.

  --duration S    stop by itself after S seconds (default: run until Ctrl-C)
  --keep          keep the temporary directory with every node's home and log
  --no-cometbft   do not start a cometbft node even if one is installed`;

/** Colour only on a terminal, and never with NO_COLOR set (Deno.noColor reads it). */
const COLOR = !Deno.noColor && Deno.stdout.isTerminal();
const paint = (code: string) => (s: string) => COLOR ? `\x1b[${code}m${s}\x1b[0m` : s;
const C = {
  dim: paint("2"),
  bold: paint("1"),
  green: paint("32"),
  cyan: paint("36"),
  yellow: paint("33"),
};

function say(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`${C.dim(t)} ${line}`);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One switchyard node of the demo. */
interface DemoNode {
  name: string;
  home: string;
  id: string;
  p2pPort: number;
  rpc: RpcClient;
  proc?: DemoProcess;
  peers: Set<string>;
}

async function runInit(node: DemoNode, extra: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...NODE_PERMS,
      MAIN,
      "init",
      "--home",
      node.home,
      "--moniker",
      node.name,
      ...extra,
    ],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`init ${node.name} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  node.id = (await NodeKey.load(`${node.home}/config/node_key.json`)).id;
}

/** True if the nodes (seed excluded) form one connected graph. */
function connected(nodes: DemoNode[]): boolean {
  const ids = new Set(nodes.map((n) => n.id));
  const seen = new Set([nodes[0].id]);
  const stack = [nodes[0]];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const p of n.peers) {
      if (!ids.has(p) || seen.has(p)) continue;
      seen.add(p);
      stack.push(nodes.find((x) => x.id === p)!);
    }
  }
  return seen.size === nodes.length;
}

/** Runs the demo until `signal` aborts. */
export async function runDemo(
  opts: { keep: boolean; cometbft: boolean },
  signal: AbortSignal,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-demo-" });
  const procs: DemoProcess[] = [];
  let commitWatch: Promise<void> | undefined;
  const mk = (name: string): DemoNode => ({
    name,
    home: `${dir}/${name}`,
    id: "",
    p2pPort: freePort(),
    rpc: new RpcClient(`tcp://127.0.0.1:${freePort()}`),
    peers: new Set(),
  });
  const seed = mk("seed");
  const nodes = Array.from({ length: DEMO_NODES }, (_, i) => mk(`node${i + 1}`));
  const names = new Map<string, string>();
  const common = (n: DemoNode) => [
    "--chain-id",
    DEMO_CHAIN_ID,
    "--p2p.laddr",
    `tcp://127.0.0.1:${n.p2pPort}`,
    "--p2p.external_address",
    `127.0.0.1:${n.p2pPort}`,
    "--rpc.laddr",
    n.rpc.address,
    "--p2p.allow_duplicate_ip=true",
    "--p2p.addr_book_strict=false",
  ];
  try {
    say(`${C.bold("switchyard demo")}: homes and logs in ${dir}`);
    await runInit(seed, [
      ...common(seed),
      "--p2p.seed_mode=true",
      "--node.reactors",
      "pex",
      "--p2p.seed.crawl_period",
      "2s",
    ]);
    names.set(seed.id, "seed");
    const seedAddr = `${seed.id}@127.0.0.1:${seed.p2pPort}`;
    await Promise.all(nodes.map((n) =>
      runInit(n, [
        ...common(n),
        "--p2p.seeds",
        seedAddr,
        "--node.reactors",
        "tx_relay,consensus_watcher,chat,pex",
      ])
    ));
    for (const n of nodes) names.set(n.id, n.name);
    const chatSeen = new Map<string, Set<string>>();
    const start = (n: DemoNode) => {
      n.proc = startProcess({
        name: n.name,
        cmd: Deno.execPath(),
        args: ["run", ...NODE_PERMS, MAIN, "node", "--home", n.home],
        cwd: PROJECT_ROOT,
        logFile: `${n.home}/node.log`,
        onLine: (line) => {
          const m = /^\[chat\] ([^:]+): (.*)$/.exec(line);
          if (!m) return;
          say(`${C.green(n.name.padEnd(7))} prints ${C.bold(`${m[1]}: ${m[2]}`)}`);
          const s = chatSeen.get(m[2]) ?? new Set();
          s.add(n.name);
          chatSeen.set(m[2], s);
        },
      });
      procs.push(n.proc);
    };
    start(seed);
    say(`started ${C.cyan("seed")} ${C.dim(seedAddr)}`);
    for (const n of nodes) {
      await sleep(400, signal);
      start(n);
      say(`started ${C.cyan(n.name)} ${C.dim(n.id)} (knows only the seed)`);
    }

    const bin = opts.cometbft ? findCometbft() : null;
    let comet: { proc: DemoProcess; rpc: string } | undefined;
    if (bin) {
      const { startDemoCometbft } = await import("./demo_cometbft.ts");
      comet = await startDemoCometbft(bin, `${dir}/cometbft`, DEMO_CHAIN_ID, nodes[0], signal);
      procs.push(comet.proc);
      names.set(comet.proc.name, "cometbft");
      say(`started ${C.cyan("cometbft")} (kvstore, 1 validator), peered with node1`);
    } else if (opts.cometbft) say(C.dim("no cometbft binary found: running without one"));

    // Watch links appear; once the network is connected, send the chat line.
    const deadline = Date.now() + CONNECT_WAIT_MS;
    let chatSent = false;
    let txSent = false;
    while (!signal.aborted) {
      for (const n of [seed, ...nodes]) {
        let list: { node_info: { id: string; moniker: string } }[] = [];
        try {
          list = (await n.rpc.call<{ peers: typeof list }>("net_info")).peers;
        } catch {
          continue; // not up yet
        }
        const now = new Set(list.map((p) => p.node_info.id));
        for (const p of list) {
          names.set(p.node_info.id, names.get(p.node_info.id) ?? p.node_info.moniker);
        }
        for (const id of now) {
          // Report each link once, from the side with the smaller name.
          if (!n.peers.has(id) && (n.name < (names.get(id) ?? id) || id === comet?.proc.name)) {
            say(`link ${C.cyan(n.name)} ↔ ${C.cyan(names.get(id) ?? id.slice(0, 8))}`);
          }
        }
        for (const id of n.peers) {
          if (!now.has(id) && n.name < (names.get(id) ?? id)) {
            say(C.dim(`gone ${n.name} ↔ ${names.get(id) ?? id.slice(0, 8)}`));
          }
        }
        n.peers = now;
      }
      if (!chatSent && (connected(nodes) || Date.now() > deadline)) {
        chatSent = true;
        const text = "hello from node5, does everyone hear me?";
        say(
          `network ${connected(nodes) ? "connected" : "not yet connected"}; ${
            C.yellow(`node5 says "${text}"`)
          }`,
        );
        try {
          await nodes[4].rpc.call("say", { text });
        } catch (e) {
          say(`say failed: ${(e as Error).message}`);
        }
      }
      if (chatSent && comet && !txSent) {
        txSent = true;
        try {
          const r = await nodes[4].rpc.call<{ hash: string }>("broadcast_tx_async", {
            tx: btoa("demo=works"),
          });
          say(`${C.yellow("node5")} relays tx demo=works ${C.dim(r.hash.slice(0, 16))}…`);
          commitWatch = watchCommit(comet.rpc, signal);
        } catch (e) {
          say(`broadcast_tx_async failed: ${(e as Error).message}`);
        }
      }
      await sleep(POLL_MS, signal);
    }
    const heard = [...chatSeen.values()].map((s) => s.size);
    if (heard.length > 0) say(`chat line printed by ${heard[0]} of ${DEMO_NODES} nodes`);
  } finally {
    await commitWatch; // ends with the signal
    say("stopping every process …");
    // After Ctrl-C the terminal has already sent SIGINT to every child: let them stop on their
    // own first. Stopped any other way, the children heard nothing yet: no reason to wait.
    const settleMs = signal.reason === "SIGINT" ? SIGINT_SETTLE_MS : 0;
    await Promise.all(procs.map((p) => p.stop(settleMs)));
    // A clean stop is exit 0 for every child; say which ones were not (killed or failed).
    for (const p of procs) {
      const st = await p.exited;
      if (st.code === 0) continue;
      const name = names.get(p.name) ?? p.name;
      say(C.yellow(`${name} exited with code ${st.code}${st.signal ? ` (${st.signal})` : ""}`));
    }
    if (opts.keep) say(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
    say("all processes stopped");
  }
}

/** Polls the CometBFT node until the demo tx is committed, and says so once. */
async function watchCommit(rpc: string, signal: AbortSignal): Promise<void> {
  const client = new RpcClient(rpc);
  while (!signal.aborted) {
    try {
      const r = await client.call<{ response: { value?: string; height?: string } }>(
        "abci_query",
        { data: "64656d6f" }, // "demo" in hex
      );
      if (r.response.value) {
        say(
          `${C.green("cometbft")} committed demo=${atob(r.response.value)} (height ${
            r.response.height ?? "?"
          })`,
        );
        return;
      }
    } catch { /* not yet */ }
    await sleep(500, signal);
  }
}

/** `demo`: the local network demo. */
export const demoCommand: Command = {
  name: "demo",
  summary: "run a local demo network (seed + 5 nodes, chat, optional cometbft)",
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    let values;
    try {
      values = parseArgs({
        args,
        options: {
          duration: { type: "string" },
          keep: { type: "boolean" },
          "no-cometbft": { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }).values;
    } catch (e) {
      console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
      return ExitCode.usage;
    }
    if (values.help) {
      console.log(USAGE);
      return ExitCode.ok;
    }
    const ac = new AbortController();
    const onSignal = { SIGINT: () => ac.abort("SIGINT"), SIGTERM: () => ac.abort("SIGTERM") };
    const stop = () => ac.abort("duration");
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal[s]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (values.duration !== undefined) {
      const secs = Number(values.duration);
      if (!Number.isFinite(secs) || secs <= 0) {
        console.error(`error: --duration must be a positive number of seconds`);
        return ExitCode.usage;
      }
      timer = setTimeout(stop, secs * 1000);
    }
    try {
      await runDemo({ keep: values.keep ?? false, cometbft: !values["no-cometbft"] }, ac.signal);
      return ExitCode.ok;
    } catch (e) {
      console.error(`error: ${(e as Error).message}`);
      return ExitCode.failure;
    } finally {
      clearTimeout(timer);
      for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal[s]);
    }
  },
};

if (import.meta.main) Deno.exit(await demoCommand.run(Deno.args));
