/**
 * SecretConnection benchmarks, switchyard next to Go's own SecretConnection (cometbft v0.38.25
 * `p2p/conn` as a library: `interop-peer sc-bench`), same settings, two processes over loopback
 * for each (a dialer here or in the Go dialer, a server in a child process):
 *   (a) bulk plaintext throughput, one connection, 1 MiB writes after an 8-byte total, and the
 *       CPU time per MiB of the sending and of the receiving process (less swayed by load
 *       from other processes than MB/s on a shared machine);
 *   (b) full handshakes per second, sequential and 32 concurrent;
 *   (c) switchyard's SecretConnection + NodeInfo exchange next to the SecretConnection alone.
 * Each figure is measured in REPS repetitions whose order alternates (ours first, then Go
 * first, ...), and every ratio is given per repetition as a median and a range.
 *
 * Run: deno run --allow-all bench/secret_connection.ts [--quick] [--no-go]
 * @module
 */
import { ed25519Signer, nativeAead, type Signer } from "../p2p/conn/crypto.ts";
import { SecretConnection } from "../p2p/conn/secret_connection.ts";
import { type ByteStream, writeAll } from "../p2p/conn/stream.ts";
import { buildGoPeer, hasGo } from "../tests/interop/go_peer.ts";
import process from "node:process";
import { readProcCpuMs, spawnReadyChild } from "./util/proc.ts";
import { v8FlagsArgs } from "./util/node_flags.ts";
import { receiveBulk, sendBulk } from "./util/sc_bulk.ts";
import { medianRange } from "./util/compare.ts";

type Mode = "bulk-raw" | "bulk-sc" | "bulk-sc-native" | "hs-sc" | "hs-sc-ni";

const WRITE_SIZE = 1 << 20;
const quick = Deno.args.includes("--quick");
const withGo = !Deno.args.includes("--no-go") && hasGo();
const REPS = 3;
const BULK_MB = quick ? 64 : 256;
const HS_COUNT = quick ? 300 : 1000;
const HS_WARMUP = 200;

// ---------------------------------------------------------------------------------------------
// NodeInfo (loaded only for the hs-sc-ni mode)

interface NodeInfoModule {
  exchangeNodeInfo(stream: ByteStream, ours: unknown, opts?: object): Promise<unknown>;
}

async function loadNodeInfo(): Promise<NodeInfoModule> {
  return await import(new URL("../p2p/node_info.ts", import.meta.url).href) as NodeInfoModule;
}

function sampleNodeInfo(id: string) {
  return {
    protocolVersion: { p2p: 8, block: 11, app: 0 },
    id,
    listenAddr: "tcp://127.0.0.1:26656",
    network: "bench-chain",
    version: "0.38.25",
    channels: Uint8Array.of(0x40, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61, 0x00),
    moniker: "bench",
    other: { txIndex: "on", rpcAddress: "tcp://127.0.0.1:26657" },
  };
}

function openSc(conn: Deno.TcpConn, signer: Signer, mode: Mode): Promise<ByteStream> {
  if (mode === "bulk-raw") {
    return Promise.resolve({
      read: (p) => conn.read(p),
      write: (p) => writeAll(conn, p),
      close: () => conn.close(),
    });
  }
  return SecretConnection.make(conn, signer, {
    aead: mode === "bulk-sc-native" ? nativeAead : undefined,
  });
}

// ---------------------------------------------------------------------------------------------
// Child (the server): prints {"event":"ready","port":N}, stops when stdin closes.

async function child(mode: Mode): Promise<void> {
  const signer = await ed25519Signer(crypto.getRandomValues(new Uint8Array(32)));
  const ni = mode === "hs-sc-ni" ? await loadNodeInfo() : undefined;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ event: "ready", port: (listener.addr as Deno.NetAddr).port }));
  (async () => {
    for await (const _ of Deno.stdin.readable) { /* until the parent closes stdin */ }
    listener.close();
  })();
  const handlers = new Set<Promise<void>>();
  try {
    for await (const conn of listener) {
      const h = serve(mode, conn, signer, ni).catch(() => {}).finally(() => handlers.delete(h));
      handlers.add(h);
    }
  } catch {
    // listener closed
  }
  Deno.exit(0);
}

async function serve(mode: Mode, conn: Deno.TcpConn, signer: Signer, ni?: NodeInfoModule) {
  conn.setNoDelay(true);
  const stream = await openSc(conn, signer, mode);
  try {
    if (mode === "hs-sc" || mode === "hs-sc-ni") {
      if (ni) await ni.exchangeNodeInfo(stream, sampleNodeInfo("0".repeat(40)));
      // Wait for the dialer to finish and close, so its last read never sees our EOF early.
      await stream.read(new Uint8Array(1)).catch(() => null);
      return;
    }
    await receiveBulk(stream);
  } finally {
    stream.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Parent

async function oursServer(mode: Mode) {
  return await spawnReadyChild(`bench child ${mode}`, Deno.execPath(), [
    "run",
    "--allow-all",
    ...v8FlagsArgs(),
    new URL(import.meta.url).pathname,
    "--child",
    mode,
  ], { inheritStderr: true });
}

/** One bulk transfer: MB/s and the CPU ms per MiB of the sending and the receiving process. */
interface Bulk {
  mbps: number;
  sendCpuMsPerMiB: number;
  recvCpuMsPerMiB: number;
}

async function oursBulk(mode: Mode, signer: Signer): Promise<Bulk> {
  const c = await oursServer(mode);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: c.ready.port as number });
    conn.setNoDelay(true);
    const stream = await openSc(conn, signer, mode);
    const data = new Uint8Array(WRITE_SIZE);
    crypto.getRandomValues(data.subarray(0, 65536));
    const total = BULK_MB * WRITE_SIZE;
    const recv0 = readProcCpuMs(c.pid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sendBulk(stream, total, data);
    const dt = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const recvMs = readProcCpuMs(c.pid) - recv0;
    stream.close();
    return {
      mbps: total / dt / 1e6,
      sendCpuMsPerMiB: (cpu.user + cpu.system) / 1000 / BULK_MB,
      recvCpuMsPerMiB: recvMs / BULK_MB,
    };
  } finally {
    await c.stop();
  }
}

/** Handshakes: rate, and CPU ms per handshake of the dialing and the serving process. */
interface Hs {
  perSec: number;
  dialCpuMsPerHs: number;
  servCpuMsPerHs: number;
}

async function oursHandshakes(mode: Mode, conc: number, signer: Signer): Promise<Hs> {
  const ni = mode === "hs-sc-ni" ? await loadNodeInfo() : undefined;
  const c = await oursServer(mode);
  try {
    const one = async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: c.ready.port as number });
      conn.setNoDelay(true);
      const sc = await SecretConnection.make(conn, signer);
      if (ni) await ni.exchangeNodeInfo(sc, sampleNodeInfo("1".repeat(40)));
      sc.close();
    };
    // CPU is counted over warm-up and measurement alike on both sides (as for Go's).
    const serv0 = readProcCpuMs(c.pid);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < HS_WARMUP; i++) await one();
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < HS_COUNT) {
        next++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: conc }, worker));
    const perSec = HS_COUNT / ((performance.now() - t0) / 1000);
    const cpu = process.cpuUsage(cpu0);
    const all = HS_COUNT + HS_WARMUP;
    return {
      perSec,
      dialCpuMsPerHs: (cpu.user + cpu.system) / 1000 / all,
      servCpuMsPerHs: (readProcCpuMs(c.pid) - serv0) / all,
    };
  } finally {
    await c.stop();
  }
}

async function goRun(
  mode: "bulk" | "hs",
  dialArgs: string[],
): Promise<Record<string, unknown> & { serverCpuMs: number }> {
  const bin = await buildGoPeer();
  const srv = await spawnReadyChild("go sc-bench server", bin, [
    "sc-bench",
    "--role",
    "serve",
    "--mode",
    mode,
  ]);
  try {
    const srv0 = readProcCpuMs(srv.pid);
    const out = await new Deno.Command(bin, {
      args: ["sc-bench", "--role", "dial", "--mode", mode, "--addr", `127.0.0.1:${srv.ready.port}`]
        .concat(dialArgs),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "{}";
    const res = JSON.parse(text) as Record<string, unknown>;
    if (!out.success || res.event !== "result") {
      throw new Error(`go sc-bench failed: ${text} ${new TextDecoder().decode(out.stderr)}`);
    }
    return { ...res, serverCpuMs: readProcCpuMs(srv.pid) - srv0 };
  } finally {
    await srv.stop();
  }
}

async function goBulk(): Promise<Bulk> {
  const r = await goRun("bulk", ["--bytes", String(BULK_MB * WRITE_SIZE)]);
  return {
    mbps: r.mb_per_s as number,
    sendCpuMsPerMiB: (r.cpu_ms as number) / BULK_MB,
    recvCpuMsPerMiB: r.serverCpuMs / BULK_MB,
  };
}
async function goHandshakes(conc: number): Promise<Hs> {
  const r = await goRun("hs", [
    "--count",
    String(HS_COUNT),
    "--concurrency",
    String(conc),
    "--rounds",
    "1",
    "--warmup",
    String(HS_WARMUP),
  ]);
  const all = HS_COUNT + HS_WARMUP;
  return {
    perSec: (r.per_s as number[])[0],
    dialCpuMsPerHs: (r.cpu_ms as number) / all,
    servCpuMsPerHs: r.serverCpuMs / all,
  };
}

/**
 * Runs `a` and `b` REPS times, alternating which goes first; prints each figure of both and the
 * per-repetition ratio a/b as median [range].
 */
async function figPair<T extends object>(
  label: string,
  aName: string,
  a: () => Promise<T>,
  bName: string,
  b: () => Promise<T>,
  rows: [keyof T & string, string, number][],
): Promise<void> {
  const as: T[] = [];
  const bs: T[] = [];
  for (let r = 0; r < REPS; r++) {
    if (r % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  console.log(`${label} (median [range] of ${REPS} alternating reps):`);
  for (const [k, unit, digits] of rows) {
    const x = as.map((v) => v[k] as number);
    const y = bs.map((v) => v[k] as number);
    console.log(
      `  ${k}: ${aName} ${medianRange(x, digits)} ${unit}, ${bName} ${
        medianRange(y, digits)
      } ${unit}, ` +
        `${aName}/${bName} ${medianRange(x.map((v, i) => v / y[i]), 2)}`,
    );
  }
}

const BULK_ROWS: [keyof Bulk, string, number][] = [
  ["mbps", "MB/s", 0],
  ["sendCpuMsPerMiB", "CPU ms/MiB", 2],
  ["recvCpuMsPerMiB", "CPU ms/MiB", 2],
];
const HS_ROWS: [keyof Hs, string, number][] = [
  ["perSec", "per_s", 0],
  ["dialCpuMsPerHs", "CPU ms/handshake", 3],
  ["servCpuMsPerHs", "CPU ms/handshake", 3],
];

async function main() {
  const signer = await ed25519Signer(crypto.getRandomValues(new Uint8Array(32)));
  console.log(
    `secret_connection: ${BULK_MB} MiB bulk, ${HS_COUNT} handshakes per rep after ${HS_WARMUP} ` +
      `warm-up; ${REPS} reps, order alternated; loopback, two processes per side`,
  );
  const raw = await oursBulk("bulk-raw", signer);
  console.log(`bulk raw_tcp_loopback (reference, ours) 1MiB_writes MB/s ${raw.mbps.toFixed(0)}`);
  await figPair(
    "bulk sc, ours: WASM batch vs node:crypto per frame (same code otherwise)",
    "wasm",
    () => oursBulk("bulk-sc", signer),
    "native",
    () => oursBulk("bulk-sc-native", signer),
    BULK_ROWS,
  );
  if (withGo) {
    await figPair(
      "bulk secret_connection 1MiB_writes",
      "ours",
      () => oursBulk("bulk-sc", signer),
      "go",
      goBulk,
      BULK_ROWS,
    );
    for (const conc of [1, 32]) {
      await figPair(
        `handshakes secret_connection concurrency=${conc}`,
        "ours",
        () => oursHandshakes("hs-sc", conc, signer),
        "go",
        () => goHandshakes(conc),
        HS_ROWS,
      );
    }
  } else {
    console.log("secret_connection go side skipped (no go toolchain, or --no-go)");
  }
  for (const conc of [1, 32]) {
    await figPair(
      `handshakes ours sc+node_info vs sc alone concurrency=${conc}`,
      "sc+ni",
      () => oursHandshakes("hs-sc-ni", conc, signer),
      "sc",
      () => oursHandshakes("hs-sc", conc, signer),
      HS_ROWS,
    );
  }
}

const childAt = Deno.args.indexOf("--child");
if (childAt >= 0) await child(Deno.args[childAt + 1] as Mode);
else await main();
