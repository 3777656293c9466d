/**
 * Memory per idle connected peer: the RSS growth of one listening process when N (default
 * 1,000) peers are connected and idle, for a switchyard switch (`Deno.memoryUsage().rss` after a
 * full GC) and for the Go `interop-peer serve` switch (`VmRSS` from `/proc/<pid>/status`).
 * The clients are the same for both: a separate process (this file with `--clients`) that opens
 * N connections, each with its own node key, through the real handshake (SecretConnection +
 * NodeInfo exchange, `p2p/upgrade.ts`) and then holds them without sending anything.
 *
 * Both sides get the same GC treatment: sampled after plain full GCs (V8 `gc()`, Go
 * `runtime.GC()`: the headline), and after a memory-reducing collection (Go: GC +
 * `debug.FreeOSMemory()`; switchyard: V8's `gc({flavor: "last-resort"})`, which also shrinks
 * the young generation grown during the handshake burst and releases V8's pooled pages). Both
 * are printed, each side's REPS repetitions alternating in order, with the V8 heap and
 * ArrayBuffer (external) parts. `IDLE_PEERS_DEBUG=1` also prints V8 heap spaces and resident
 * anonymous mappings by size.
 *
 * Run: deno run --allow-all bench/idle_peers.ts [--peers=N] [--reps=N]
 * @module
 */
import { NetAddress } from "../p2p/netaddress.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";
import { EchoReactor, makeEchoNode } from "../tests/util/echo_reactor.ts";
import { buildGoPeer, serveArgs } from "../tests/interop/go_peer.ts";
import { nodeV8Flags, v8FlagsArgs } from "./util/node_flags.ts";
import { connectClients } from "./util/handshake_clients.ts";
import { medianRangeWith } from "./util/compare.ts";

const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const PEERS = Number(arg("peers") ?? 1000);
/** Settling time after the last peer was added, before the sample. */
const SETTLE_MS = 1_000;
const SELF = new URL(import.meta.url).pathname;
/** Repetitions of each side, alternating which goes first. */
const REPS = Number(arg("reps") ?? 3);

/**
 * Line-oriented reader of a child's stdout. It pumps continuously, so a child that prints a
 * line per event (the Go program prints one per added peer) never blocks on a full pipe.
 */
class Lines {
  readonly #lines: string[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #pump: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#pump = (async () => {
      let buf = "";
      try {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            this.#lines.push(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
          this.#wake?.();
        }
      } catch { /* closed */ }
      this.#ended = true;
      this.#wake?.();
    })();
  }
  /** The next line matching `pred` (others are skipped). */
  async next(pred: (l: string) => boolean = () => true): Promise<string> {
    for (;;) {
      while (this.#lines.length > 0) {
        const line = this.#lines.shift()!;
        if (pred(line)) return line;
      }
      if (this.#ended) throw new Error("child output ended");
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
  /** Resolves when the stream has ended. */
  drain(): Promise<void> {
    return this.#pump;
  }
}

const enc = new TextEncoder();
let lastProgress = 0;
/** A line on stderr every few seconds while waiting for the peers to be added. */
function progress(side: string, peers: number): void {
  if (Date.now() - lastProgress < 5_000) return;
  lastProgress = Date.now();
  console.error(`idle_peers: ${side} listener has ${peers}/${PEERS} peers`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- child: switchyard listener --------------------------------------------------------------

async function listener(): Promise<void> {
  const node = await makeEchoNode({
    reactor: new EchoReactor({ keep: false }),
    maxInbound: PEERS + 100,
    record: false,
  });
  console.log(`READY ${node.addr.toString()}`);
  const input = new Lines(Deno.stdin.readable);
  const gc = (globalThis as { gc?: (opts?: Record<string, string>) => void }).gc;
  try {
    for (;;) {
      const cmd = await input.next();
      if (cmd !== "rss" && cmd !== "rss-reduce") continue;
      const opts = cmd === "rss-reduce"
        ? { type: "major", execution: "sync", flavor: "last-resort" }
        : undefined;
      gc?.(opts);
      await sleep(50);
      gc?.(opts);
      const m = Deno.memoryUsage();
      console.log(`RSS ${m.rss} ${node.sw.peers().size} ${m.heapUsed} ${m.external}`);
      if (Deno.env.get("IDLE_PEERS_DEBUG")) await debugMemory();
    }
  } catch {
    // stdin closed: done
  }
  await node.stop();
}

/** Where the resident memory is: V8 heap spaces and anonymous mappings grouped by size. */
async function debugMemory(): Promise<void> {
  const { getHeapSpaceStatistics } = await import("node:v8");
  for (const sp of getHeapSpaceStatistics()) {
    if (sp.space_size === 0) continue;
    console.error(
      `debug: ${sp.space_name} size ${mib(sp.space_size)} MiB used ${mib(sp.space_used_size)} MiB`,
    );
  }
  const groups = new Map<string, { kb: number; n: number }>();
  let cur = "";
  for (const l of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) cur = l;
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (!m) continue;
    const f = cur.split(/\s+/);
    const [lo, hi] = f[0].split("-").map((x) => parseInt(x, 16));
    const key = f[5] ? f[5] : `anon ${f[1]} ${Math.round((hi - lo) / 1024)}k`;
    const g = groups.get(key) ?? { kb: 0, n: 0 };
    g.kb += Number(m[1]);
    g.n++;
    groups.set(key, g);
  }
  for (const [k, g] of [...groups].sort((a, b) => b[1].kb - a[1].kb).slice(0, 8)) {
    console.error(`debug: resident ${g.kb} kB in ${g.n} mapping(s): ${k}`);
  }
}

// ---- child: idle clients ---------------------------------------------------------------------

async function clients(target: string, n: number): Promise<void> {
  const addr = NetAddress.parseNoLookup(target);
  const conns = await connectClients(addr, n, { moniker: "idle", channels: [0x70] });
  console.log(`CONNECTED ${conns.length}`);
  for await (const _ of Deno.stdin.readable) { /* hold until the parent closes stdin */ }
  for (const c of conns) closeQuietly(c);
}

function spawnClients(target: string): { child: Deno.ChildProcess; out: Lines } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", SELF, `--clients=${target}`, `--peers=${PEERS}`],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return { child, out: new Lines(child.stdout) };
}

// ---- parent -----------------------------------------------------------------------------------

interface Sample {
  rss: number;
  peers: number;
  heap: number;
  external: number;
}

interface Ours {
  plain: { base: Sample; loaded: Sample };
  reduced: { base: Sample; loaded: Sample };
}

async function measureSwitchyard(): Promise<Ours> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...v8FlagsArgs(["--expose-gc"]),
      SELF,
      "--listener",
      `--peers=${PEERS}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = new Lines(child.stdout);
  const stdin = child.stdin.getWriter();
  const rss = async (cmd = "rss"): Promise<Sample> => {
    await stdin.write(enc.encode(`${cmd}\n`));
    const [, r, p, h, e] = (await out.next((l) => l.startsWith("RSS "))).split(" ").map(Number);
    return { rss: r, peers: p, heap: h, external: e };
  };
  const addr = (await out.next((l) => l.startsWith("READY "))).slice(6);
  const base = await rss();
  const baseReduced = await rss("rss-reduce");
  const cl = spawnClients(addr);
  try {
    await cl.out.next((l) => l.startsWith("CONNECTED "));
    for (let r = await rss(); r.peers < PEERS; r = await rss()) {
      await sleep(200);
      progress("switchyard", r.peers);
    }
    await sleep(SETTLE_MS);
    const loaded = await rss();
    const loadedReduced = await rss("rss-reduce");
    return {
      plain: { base, loaded },
      reduced: { base: baseReduced, loaded: loadedReduced },
    };
  } finally {
    await cl.child.stdin.close();
    await cl.child.status;
    await stdin.close();
    await child.status;
    await Promise.all([out.drain(), cl.out.drain()]);
  }
}

async function vmRssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error("no VmRSS");
  return Number(m[1]) * 1024;
}

interface GoMem {
  plain: { base: number; loaded: number };
  freed: { base: number; loaded: number };
}

/** The Go switch, sampled after the same treatment: plain GCs, then GC + FreeOSMemory. */
async function measureGo(): Promise<GoMem> {
  const bin = await buildGoPeer();
  const child = new Deno.Command(bin, {
    args: serveArgs({ quiet: true, maxInbound: PEERS + 100, logLevel: "none" }),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = new Lines(child.stdout);
  const stdin = child.stdin.getWriter();
  const inbound = async (): Promise<number> => {
    await stdin.write(enc.encode(`{"cmd":"stats","tag":"s"}\n`));
    const ev = JSON.parse(await out.next((l) => l.includes(`"tag":"s"`))) as { inbound: number };
    return ev.inbound;
  };
  const rssAfterGc = async (free: boolean): Promise<number> => {
    const cmd = { cmd: "gc", tag: "g", error: free ? "free" : undefined };
    await stdin.write(enc.encode(JSON.stringify(cmd) + "\n"));
    await out.next((l) => l.includes(`"tag":"g"`));
    await sleep(50);
    return await vmRssBytes(child.pid);
  };
  const ready = JSON.parse(await out.next((l) => l.includes(`"ready"`))) as { addr: string };
  await sleep(SETTLE_MS);
  const base = await rssAfterGc(false);
  const baseFreed = await rssAfterGc(true);
  const cl = spawnClients(ready.addr);
  try {
    await cl.out.next((l) => l.startsWith("CONNECTED "));
    for (let n = await inbound(); n < PEERS; n = await inbound()) {
      await sleep(200);
      progress("go", n);
    }
    await sleep(SETTLE_MS);
    const loaded = await rssAfterGc(false);
    const loadedFreed = await rssAfterGc(true);
    return { plain: { base, loaded }, freed: { base: baseFreed, loaded: loadedFreed } };
  } finally {
    await cl.child.stdin.close();
    await cl.child.status;
    await stdin.close();
    await child.status;
    await Promise.all([out.drain(), cl.out.drain()]);
  }
}

const mib = (b: number) => (b / (1 << 20)).toFixed(1);

if (import.meta.main) {
  const target = arg("clients");
  if (target !== undefined) await clients(target, PEERS);
  else if (Deno.args.includes("--listener")) await listener();
  else {
    const gos: GoMem[] = [];
    const ourss: Ours[] = [];
    for (let r = 0; r < REPS; r++) {
      // Alternate which side goes first, so drift in the machine's load falls on both.
      if (r % 2 === 0) {
        gos.push(await measureGo());
        ourss.push(await measureSwitchyard());
      } else {
        ourss.push(await measureSwitchyard());
        gos.push(await measureGo());
      }
    }
    const per = (r: { base: number; loaded: number }) => (r.loaded - r.base) / PEERS;
    const kib = (bytes: number) => (bytes / 1024).toFixed(1);
    const oursPer = (o: Ours, k: keyof Ours, f: keyof Sample) =>
      per({ base: o[k].base[f], loaded: o[k].loaded[f] });
    const report = (label: string, ok: keyof Ours, gk: keyof GoMem) => {
      const o = ourss.map((x) => oursPer(x, ok, "rss"));
      const g = gos.map((x) => per(x[gk]));
      console.log(
        `idle_peers ${label}: switchyard ${medianRangeWith(o, kib)} KiB/peer (V8 heap ${
          medianRangeWith(ourss.map((x) => oursPer(x, ok, "heap")), kib)
        }, ArrayBuffers ${
          medianRangeWith(ourss.map((x) => oursPer(x, ok, "external")), kib)
        }), go ${medianRangeWith(g, kib)} KiB/peer, switchyard/go ${
          medianRangeWith(o.map((x, i) => x / g[i]), (x) => x.toFixed(2))
        }`,
      );
    };
    console.log(
      `idle_peers: node V8 flags [${
        nodeV8Flags().join(" ")
      }]; ${PEERS} idle peers, RSS growth per peer, median [range] of ${REPS} reps ` +
        `(order alternated); base RSS switchyard ${
          medianRangeWith(ourss.map((x) => x.plain.base.rss), mib)
        } MiB, go ${medianRangeWith(gos.map((x) => x.plain.base), mib)} MiB`,
    );
    report("after plain gc() both sides (headline)", "plain", "plain");
    report("after memory-reducing gc / Go GC+FreeOSMemory", "reduced", "freed");
  }
}
