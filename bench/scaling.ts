/**
 * Scaling: one node with 10, 100 and 500 connected peers, each peer sending one 256-byte
 * message on an echo channel every 100 ms (10 msgs/s), measured for a switchyard node and for
 * a Go node (`interop-peer serve`: cometbft v0.38.25's Switch/MConnection as a library). Both
 * nodes run default MConnection settings and do not echo; the peers are the same for both: a
 * separate process (this file with `--clients`) that connects through the real handshake
 * (SecretConnection + NodeInfo) and writes MConnection packets itself.
 *
 * Printed per size: the node's CPU% over a measurement window (utime + stime from
 * `/proc/<pid>/stat`) and its RSS at the end (`VmRSS`), with switchyard/go per repetition;
 * REPS repetitions, order alternating. Nothing here is asserted.
 *
 * Run: deno run --allow-all bench/scaling.ts [--quick] [--sizes=10,100,500]
 * @module
 */
import { NetAddress } from "../p2p/netaddress.ts";
import { type ByteStream, closeQuietly } from "../p2p/conn/stream.ts";
import { delimitedPacketMsgSize, writePacketMsg } from "../p2p/conn/packet.ts";
import { EchoReactor, makeEchoNode } from "../tests/util/echo_reactor.ts";
import { buildGoPeer, serveArgs } from "../tests/interop/go_peer.ts";
import { readProcCpuMs, readProcMemory, spawnReadyChild } from "./util/proc.ts";
import { nodeV8Flags, v8FlagsArgs } from "./util/node_flags.ts";
import { connectClients } from "./util/handshake_clients.ts";
import { medianRange } from "./util/compare.ts";

const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = Deno.args.includes("--quick");
const SIZES = (arg("sizes") ?? "10,100,500").split(",").map(Number);
const REPS = Number(arg("reps") ?? 3);
const WINDOW_MS = quick ? 4_000 : 8_000;
const SETTLE_MS = 2_000;
const MSG_SIZE = 256;
const INTERVAL_MS = 100;
const CH = 0x70;
/** Every client run ends by itself after this long (bounded even if the parent dies). */
const CLIENT_MAX_MS = 60_000;
const SELF = new URL(import.meta.url).pathname;

// ---- child: the switchyard node ---------------------------------------------------------------

async function node(maxPeers: number): Promise<void> {
  const n = await makeEchoNode({
    reactor: new EchoReactor({ keep: false, echo: false }),
    maxInbound: maxPeers + 10,
    record: false,
  });
  console.log(JSON.stringify({ event: "ready", addr: n.addr.toString() }));
  const dec = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    if (dec.decode(chunk).includes("stats")) {
      console.log(JSON.stringify({ event: "stats", inbound: n.sw.peers().size }));
    }
  }
  await n.stop();
}

// ---- child: the peers -------------------------------------------------------------------------

async function clients(target: string, n: number): Promise<void> {
  const addr = NetAddress.parseNoLookup(target);
  // BytesValue{value: 256 bytes}: 0a 80 02 ‖ payload.
  const bv = new Uint8Array(3 + MSG_SIZE);
  bv.set([0x0a, 0x80 | (MSG_SIZE & 0x7f), MSG_SIZE >> 7]);
  const wire = new Uint8Array(delimitedPacketMsgSize(CH, true, bv.length));
  writePacketMsg(wire, 0, CH, true, bv);
  const conns: ByteStream[] = await connectClients(addr, n, { moniker: "load", channels: [CH] });
  console.log(JSON.stringify({ event: "ready", connected: conns.length }));
  const stop = AbortSignal.any([
    AbortSignal.timeout(CLIENT_MAX_MS),
    (() => {
      const c = new AbortController();
      (async () => {
        for await (const _ of Deno.stdin.readable) { /* until the parent closes stdin */ }
        c.abort();
      })();
      return c.signal;
    })(),
  ]);
  // Each connection: drain what the node sends (pings, nothing else), send on a staggered tick.
  const loops = conns.map(async (c, i) => {
    const sink = new Uint8Array(4096);
    const reader = (async () => {
      while (!stop.aborted && (await c.read(sink).catch(() => null)) !== null) { /* drain */ }
    })();
    await new Promise((r) => setTimeout(r, (i * INTERVAL_MS) / conns.length));
    while (!stop.aborted) {
      const t0 = performance.now();
      await c.write(wire).catch(() => {});
      await new Promise((r) => setTimeout(r, Math.max(0, INTERVAL_MS - (performance.now() - t0))));
    }
    closeQuietly(c);
    await reader;
  });
  await Promise.all(loops);
}

// ---- parent -----------------------------------------------------------------------------------

interface Figure {
  cpuPct: number;
  rssMiB: number;
}

async function measure(side: "ours" | "go", peers: number): Promise<Figure> {
  const server = side === "ours"
    ? await spawnReadyChild("switchyard node", Deno.execPath(), [
      "run",
      "--allow-all",
      ...v8FlagsArgs(),
      SELF,
      "--node",
      `--peers=${peers}`,
    ], { inheritStderr: true })
    : await spawnReadyChild(
      "go node",
      await buildGoPeer(),
      serveArgs({ quiet: true, maxInbound: peers + 10, logLevel: "none" }),
    );
  const cl = await spawnReadyChild("load clients", Deno.execPath(), [
    "run",
    "--allow-all",
    SELF,
    `--clients=${server.ready.addr}`,
    `--peers=${peers}`,
  ], { inheritStderr: true, readyTimeoutMs: 120_000 });
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const c0 = readProcCpuMs(server.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const cpu = readProcCpuMs(server.pid) - c0;
    const wall = performance.now() - t0;
    return { cpuPct: (100 * cpu) / wall, rssMiB: readProcMemory(server.pid).rssKiB / 1024 };
  } finally {
    await cl.stop(10_000);
    await server.stop(10_000);
  }
}

async function main(): Promise<void> {
  console.log(
    `scaling: node V8 flags [${
      nodeV8Flags().join(" ")
    }]; peers send ${MSG_SIZE} B every ${INTERVAL_MS} ms; node CPU% over ${WINDOW_MS} ms ` +
      `after ${SETTLE_MS} ms settling, RSS at the end; median [range] of ${REPS} reps, ` +
      "order alternated",
  );
  for (const peers of SIZES) {
    const ours: Figure[] = [];
    const go: Figure[] = [];
    for (let r = 0; r < REPS; r++) {
      if (r % 2 === 0) {
        go.push(await measure("go", peers));
        ours.push(await measure("ours", peers));
      } else {
        ours.push(await measure("ours", peers));
        go.push(await measure("go", peers));
      }
    }
    const ratio = (k: keyof Figure) => medianRange(ours.map((o, i) => o[k] / go[i][k]), 2);
    console.log(
      `scaling ${peers} peers: CPU% switchyard ${medianRange(ours.map((o) => o.cpuPct), 1)}, go ${
        medianRange(go.map((g) => g.cpuPct), 1)
      }, switchyard/go ${ratio("cpuPct")}; RSS MiB switchyard ${
        medianRange(ours.map((o) => o.rssMiB), 1)
      }, go ${medianRange(go.map((g) => g.rssMiB), 1)}, switchyard/go ${ratio("rssMiB")}`,
    );
  }
}

if (import.meta.main) {
  const target = arg("clients");
  if (target !== undefined) await clients(target, Number(arg("peers")));
  else if (Deno.args.includes("--node")) await node(Number(arg("peers")));
  else await main();
}
