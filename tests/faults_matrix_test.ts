/**
 * Every fault at every phase (tests/util/faults.ts) against one running daemon (issue 9): the
 * p2p port at each p2p phase (accept, ephemeral key, auth signature, NodeInfo, first packet,
 * mid-message, idle), and the RPC and metrics ports at each HTTP phase (accept, mid-request,
 * idle keep-alive). A client goes through a fault proxy; the fault fires; then, for every
 * case: the fault really fired, the daemon logged the connection's end naming the address it
 * saw (the proxy's upstream side), an honest client is admitted (a p2p handshake, or
 * `/health`), and the daemon is alive. After each batch (one phase, all faults at once, to
 * keep the run short): the daemon's open fd count is back to its baseline and the honest peer
 * connected before the matrix was never stopped. Bounded throughout; nothing asserts on time.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type Daemon, fdCount, spawnDaemon, waitFor } from "./util/daemon.ts";
import { freePort } from "./interop/cometbft.ts";
import {
  faultedP2pClient,
  handshakePeer,
  rawConnect,
  waitClosed,
  writeQuietly,
} from "./util/hostile.ts";
import {
  type Fault,
  type FaultedConnection,
  type FaultPoint,
  FAULTS,
  type Phase,
  PHASES,
  startFaultProxy,
} from "./util/faults.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";
import { CHAT_CHANNEL } from "../reactors/chat.ts";

const NETWORK = "switchyard-local";
const LOG_FLAGS = [
  "--log_level",
  "p2p:debug,rpc-server:debug,main:debug,*:info",
  "--log_format",
  "json",
];
/** Quiet time before an idle fault. */
const IDLE_MS = 300;
/** A fault's sockets are dropped by the proxy after this at the latest. */
const HOLD_MS = 6_000;
/** A faulted client gives up waiting for the daemon to close after this. */
const CLIENT_MS = 6_000;
const HTTP_REQUEST = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

function logText(d: Daemon): string[] {
  return d.stdoutLines().filter((l) => l.startsWith("{"));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A p2p client through the proxy: handshake, a packet, idle, another packet, then wait. */
const p2pClient = (port: number) =>
  faultedP2pClient(port, { network: NETWORK, channels: [CHAT_CHANNEL] }, IDLE_MS + 300, CLIENT_MS);

/** An HTTP client through the proxy: a request, idle, another request, then wait. */
async function httpClient(port: number): Promise<void> {
  const conn = await rawConnect(port);
  try {
    const closed = waitClosed(conn, CLIENT_MS).catch(() => "timeout" as const);
    await writeQuietly(conn, new TextEncoder().encode(HTTP_REQUEST));
    await sleep(IDLE_MS + 300);
    await writeQuietly(conn, new TextEncoder().encode(HTTP_REQUEST));
    await closed;
  } finally {
    closeQuietly(conn);
  }
}

interface Case {
  name: string;
  fault: Fault;
  conn: FaultedConnection;
}

/** Runs one client per fault through its own proxy at `at`; returns the faulted connections. */
async function runBatch(
  targetPort: number,
  at: FaultPoint,
  client: (port: number) => Promise<void>,
  label: string,
): Promise<Case[]> {
  const cases: Case[] = [];
  await Promise.all(FAULTS.map(async (fault) => {
    const proxy = await startFaultProxy({
      target: { port: targetPort },
      fault,
      at,
      idleMs: IDLE_MS,
      holdMs: HOLD_MS,
    });
    try {
      await client(proxy.port);
      const conn = proxy.connections[0];
      assert(conn !== undefined, `${label} ${fault}: no connection reached the proxy`);
      await Promise.race([conn.fired, sleep(CLIENT_MS)]);
      cases.push({ name: `${label} ${fault}`, fault, conn });
    } finally {
      await proxy.close();
    }
  }));
  return cases;
}

interface Fixture {
  target: Daemon;
  honest: Daemon;
  honestId: string;
  metricsPort: number;
  baselineFds: number;
}

/** The per-case and per-batch checks (module comment). */
async function check(f: Fixture, cases: Case[], admit: () => Promise<void>): Promise<void> {
  for (const c of cases) {
    assert(c.conn.triggered, `${c.name}: the fault never fired`);
    const addr = c.conn.targetSees;
    assert(addr !== undefined, `${c.name}: the proxy never reached the daemon`);
    // The address, not followed by another digit (127.0.0.1:4567 is not 127.0.0.1:45678).
    const named = new RegExp(`${addr.replaceAll(".", "\\.")}(?!\\d)`);
    await waitFor(`${c.name}: a log line naming ${addr}`, () => {
      const lines = logText(f.target);
      if (lines.some((l) => named.test(l))) return true;
      // A reset before Deno read the socket's address can only be logged without it.
      if (
        c.fault === "rst" &&
        lines.some((l) => l.includes("Accept failed for one connection"))
      ) return true;
      return undefined;
    }, 15_000);
    assert(!f.target.hasExited, `${c.name}: the daemon exited`);
    await admit();
  }
  const fds = await waitFor("the daemon's fd count back to its baseline", async () => {
    const n = await fdCount(f.target);
    return n <= f.baselineFds ? n : undefined;
  }, 20_000);
  assert(fds <= f.baselineFds);
  const ni = await f.target.rpc.call("net_info") as {
    listening: boolean;
    peers: { node_info: { id: string } }[];
  };
  assert(ni.listening, "net_info says listening");
  assert(ni.peers.some((p) => p.node_info.id === f.honestId), "honest peer still connected");
  const stops = logText(f.target).filter((l) =>
    l.includes("Stopping peer") && l.includes(f.honestId)
  );
  assertEquals(stops, [], "the honest peer was never stopped");
}

async function admitP2P(f: Fixture): Promise<void> {
  const peer = await handshakePeer(f.target.p2pPort, {
    network: NETWORK,
    channels: [CHAT_CHANNEL],
  });
  peer.close();
}

async function admitHttp(port: number): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  assertEquals(r.status, 200);
  await r.body?.cancel();
}

Deno.test("faults matrix: every fault at every phase on the p2p, RPC and metrics ports", async (t) => {
  await withTempDir(async (dir) => {
    const ds: Daemon[] = [];
    try {
      const metricsPort = freePort();
      const target = await spawnDaemon(`${dir}/target`, {
        prometheusPort: metricsPort,
        flags: [
          "--moniker",
          "target",
          "--node.reactors",
          "chat",
          "--p2p.pex=false",
          "--p2p.ping_interval",
          "2s",
          "--p2p.pong_timeout",
          "1s",
          "--p2p.max_pending_handshakes_per_ip",
          "64",
          "--rpc.read_timeout",
          "2s",
          ...LOG_FLAGS,
        ],
      });
      ds.push(target);
      const st = await target.rpc.call("status") as { node_info: { id: string } };
      const honest = await spawnDaemon(`${dir}/honest`, {
        flags: [
          "--moniker",
          "honest",
          "--node.reactors",
          "chat",
          "--p2p.pex=false",
          "--p2p.persistent_peers",
          `${st.node_info.id}@127.0.0.1:${target.p2pPort}`,
        ],
      });
      ds.push(honest);
      const hs = await honest.rpc.call("status") as { node_info: { id: string } };
      const honestId = hs.node_info.id;
      await waitFor("the honest peer to connect", async () => {
        const ni = await target.rpc.call("net_info") as { peers: { node_info: { id: string } }[] };
        return ni.peers.some((p) => p.node_info.id === honestId) ? true : undefined;
      });
      await admitHttp(metricsPort); // the metrics server's first scrape opens what it keeps
      await sleep(500);
      const f: Fixture = {
        target,
        honest,
        honestId,
        metricsPort,
        baselineFds: await fdCount(target),
      };
      console.log(`daemon fds at baseline: ${f.baselineFds}`);

      for (const phase of PHASES) {
        await t.step(`p2p port, phase ${phase}`, async () => {
          const cases = await runBatch(target.p2pPort, phase as Phase, p2pClient, phase);
          await check(f, cases, () => admitP2P(f));
        });
      }
      const httpPoints: [string, FaultPoint][] = [
        ["accept", "accept"],
        ["mid-request", { byteOffset: 10 }],
        ["idle keep-alive", { byteOffset: HTTP_REQUEST.length, idle: true }],
      ];
      for (const [port, name] of [[target.rpcPort, "RPC"], [metricsPort, "metrics"]] as const) {
        for (const [label, at] of httpPoints) {
          await t.step(`${name} port, ${label}`, async () => {
            const cases = await runBatch(port, at, httpClient, `${name} ${label}`);
            await check(f, cases, () => admitHttp(port));
          });
        }
      }
      console.log(`daemon fds at the end: ${await fdCount(target)}`);
    } finally {
      for (const d of ds) await d.stop();
    }
  });
});
