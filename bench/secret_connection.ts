/**
 * SecretConnection benchmarks between two processes over loopback (this file is also the child):
 *   (a) bulk plaintext throughput with 1 MiB writes, next to raw TCP measured the same way;
 *   (b) full handshakes per second, sequential and 32 concurrent, next to raw TCP connect/accept
 *       (and SecretConnection + NodeInfo exchange when p2p/node_info.ts provides it).
 *
 * Run: deno run --allow-all bench/secret_connection.ts [--quick]
 * @module
 */
import { ed25519Signer, nobleAead, type Signer } from "../p2p/conn/crypto.ts";
import { SecretConnection } from "../p2p/conn/secret_connection.ts";
import type { ByteStream } from "../p2p/conn/stream.ts";
import { writeAll } from "../p2p/conn/stream.ts";

type Mode = "bulk-raw" | "bulk-sc" | "bulk-sc-noble" | "hs-raw" | "hs-sc" | "hs-sc-ni";

const WRITE_SIZE = 1 << 20;
const quick = Deno.args.includes("--quick");

// ---------------------------------------------------------------------------------------------
// NodeInfo (optional: another module; loaded only if present)

interface NodeInfoModule {
  exchangeNodeInfo(
    stream: ByteStream,
    ours: unknown,
    opts?: { timeoutMs?: number },
  ): Promise<unknown>;
}

async function loadNodeInfo(): Promise<NodeInfoModule | undefined> {
  try {
    const url = new URL("../p2p/node_info.ts", import.meta.url);
    await Deno.stat(url);
    const m = await import(url.href);
    return typeof m.exchangeNodeInfo === "function" ? m as NodeInfoModule : undefined;
  } catch {
    return undefined;
  }
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

// ---------------------------------------------------------------------------------------------
// Child

async function child(mode: Mode): Promise<void> {
  const signer = await ed25519Signer(crypto.getRandomValues(new Uint8Array(32)));
  const ni = mode === "hs-sc-ni" ? await loadNodeInfo() : undefined;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log((listener.addr as Deno.NetAddr).port);
  const handlers = new Set<Promise<void>>();
  for await (const conn of listener) {
    const h = serve(mode, conn, signer, ni).catch(() => {}).finally(() => handlers.delete(h));
    handlers.add(h);
  }
}

async function serve(mode: Mode, conn: Deno.TcpConn, signer: Signer, ni?: NodeInfoModule) {
  conn.setNoDelay(true);
  if (mode === "hs-raw") {
    conn.close();
    return;
  }
  if (mode === "hs-sc" || mode === "hs-sc-ni") {
    const sc = await SecretConnection.make(conn, signer);
    if (ni) await ni.exchangeNodeInfo(sc, sampleNodeInfo(sc.remoteId.replace(/./g, "0")));
    // Wait for the dialer to finish and close, so its last read never sees our EOF early.
    await sc.read(new Uint8Array(1)).catch(() => null);
    sc.close();
    return;
  }
  // bulk: first 8 bytes = total length; ack with one byte once everything arrived.
  const stream: ByteStream = mode === "bulk-raw"
    ? { read: (p) => conn.read(p), write: (p) => writeAll(conn, p), close: () => conn.close() }
    : await SecretConnection.make(conn, signer, {
      aead: mode === "bulk-sc-noble" ? nobleAead : undefined,
    });
  const buf = new Uint8Array(256 * 1024);
  let got = 0;
  let total = -1;
  while (total < 0 || got < total) {
    const n = await stream.read(buf);
    if (n === null) break;
    if (total < 0 && got + n >= 8) {
      // The header arrives first and whole in practice; keep it simple but correct for tests.
      total = Number(new DataView(buf.buffer, 0, 8).getBigUint64(0, true));
    }
    got += n;
  }
  await stream.write(Uint8Array.of(1));
  stream.close();
}

// ---------------------------------------------------------------------------------------------
// Parent

async function spawnChild(mode: Mode) {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--child", mode],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("child exited early");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = parseInt(text.trim(), 10);
  return {
    port,
    async stop() {
      proc.kill("SIGTERM");
      await proc.stdout.cancel().catch(() => {});
      await proc.status;
    },
  };
}

async function bulk(mode: Mode, totalBytes: number, signer: Signer): Promise<number> {
  const c = await spawnChild(mode);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: c.port });
    conn.setNoDelay(true);
    const stream: ByteStream = mode === "bulk-raw"
      ? { read: (p) => conn.read(p), write: (p) => writeAll(conn, p), close: () => conn.close() }
      : await SecretConnection.make(conn, signer, {
        aead: mode === "bulk-sc-noble" ? nobleAead : undefined,
      });
    const data = new Uint8Array(WRITE_SIZE);
    crypto.getRandomValues(data.subarray(0, 65536));
    const header = new Uint8Array(8);
    new DataView(header.buffer).setBigUint64(0, BigInt(totalBytes + 8), true);
    const t0 = performance.now();
    await stream.write(header);
    for (let sent = 0; sent < totalBytes; sent += WRITE_SIZE) await stream.write(data);
    const ack = new Uint8Array(1);
    await stream.read(ack);
    const dt = (performance.now() - t0) / 1000;
    stream.close();
    return totalBytes / dt / 1e6;
  } finally {
    await c.stop();
  }
}

/** Rounds of each handshake measurement. */
const ROUNDS = 5;

interface Rate {
  median: number;
  min: number;
  max: number;
}

function summarize(rates: number[]): Rate {
  const sorted = [...rates].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1)! };
}

function fmtRate(r: Rate): string {
  return `${r.median.toFixed(0)} (median of ${ROUNDS} rounds, range ${r.min.toFixed(0)}-${
    r.max.toFixed(0)
  })`;
}

async function handshakes(
  mode: Mode,
  count: number,
  concurrency: number,
  signer: Signer,
  ni?: NodeInfoModule,
): Promise<Rate> {
  const c = await spawnChild(mode);
  try {
    const one = async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: c.port });
      if (mode === "hs-raw") {
        await conn.read(new Uint8Array(1)); // EOF once the child accepted and closed
        conn.close();
        return;
      }
      conn.setNoDelay(true);
      const sc = await SecretConnection.make(conn, signer);
      if (ni) await ni.exchangeNodeInfo(sc, sampleNodeInfo(sc.remoteId.replace(/./g, "1")));
      sc.close();
    };
    // warm-up (JIT, WebCrypto init)
    for (let i = 0; i < 200; i++) await one();
    // Several rounds, reported as median and range: on 2 shared cores one round is noisy.
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < count) {
          next++;
          await one();
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      rates.push(count / ((performance.now() - t0) / 1000));
    }
    return summarize(rates);
  } finally {
    await c.stop();
  }
}

async function main() {
  const signer = await ed25519Signer(crypto.getRandomValues(new Uint8Array(32)));
  const mb = quick ? 64 : 512;
  const raw = await bulk("bulk-raw", mb * WRITE_SIZE, signer);
  console.log(`bulk raw_tcp_loopback 1MiB_writes MB/s ${raw.toFixed(0)}`);
  const sc = await bulk("bulk-sc", (mb / 2) * WRITE_SIZE, signer);
  console.log(`bulk secret_connection(native aead) 1MiB_writes MB/s ${sc.toFixed(0)}`);
  if (!quick) {
    const sn = await bulk("bulk-sc-noble", 64 * WRITE_SIZE, signer);
    console.log(`bulk secret_connection(noble aead) 1MiB_writes MB/s ${sn.toFixed(0)}`);
  }
  const n = quick ? 300 : 1000;
  for (const conc of [1, 32]) {
    const r = await handshakes("hs-raw", n, conc, signer);
    console.log(`handshakes raw_tcp_connect_accept concurrency=${conc} per_s ${fmtRate(r)}`);
    const h = await handshakes("hs-sc", n, conc, signer);
    console.log(`handshakes secret_connection concurrency=${conc} per_s ${fmtRate(h)}`);
  }
  const ni = await loadNodeInfo();
  if (ni) {
    for (const conc of [1, 32]) {
      const h = await handshakes("hs-sc-ni", n, conc, signer, ni);
      console.log(
        `handshakes secret_connection+node_info concurrency=${conc} per_s ${fmtRate(h)}`,
      );
    }
  } else {
    console.log("handshakes secret_connection+node_info skipped (p2p/node_info.ts not available)");
  }
}

const childAt = Deno.args.indexOf("--child");
if (childAt >= 0) await child(Deno.args[childAt + 1] as Mode);
else await main();
