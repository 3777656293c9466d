/**
 * Fault isolation between the chains of one daemon process (issue 15: "a crash or a hostile
 * peer on one chain does not disturb the others"). One daemon subprocess runs three chains:
 * the default chain `alpha-1` (A), `beta` and `gamma`. An honest peer (an in-process switch
 * running PEX) is connected to beta and to gamma. Then every fault of tests/util/faults.ts at
 * every p2p phase is run against A's port, one batch per phase (all faults at once, as
 * tests/faults_matrix_test.ts does, to keep the run short). After each batch: every fault fired,
 * the daemon is alive, A admits an honest handshake, the daemon's fd count is back to its
 * baseline, and the peers on beta and gamma are still connected (RPC `chains` peer counts and
 * `net_info?chain=`) and were never stopped (logs). Then a peer banned on A for PEX abuse is
 * not banned on beta: the same identity connects there and stays, and the books the daemon
 * saves on stop hold the ban on A only; an identity on beta's own deny-list is refused on beta
 * and stays connected on A. The one metrics endpoint counts the rejected handshakes
 * under A's chain_id only. Bounded throughout; nothing asserts on time.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type Daemon, fdCount, spawnDaemon, waitFor } from "./util/daemon.ts";
import {
  faultedP2pClient,
  handshakePeer,
  type HostilePeer,
  packetMsg,
  rawConnect,
  waitClosed,
} from "./util/hostile.ts";
import { type FaultedConnection, FAULTS, PHASES, startFaultProxy } from "./util/faults.ts";
import { makePexNode, type PexTestNode, stopAll } from "./util/pex_harness.ts";
import { multiChainConfig, writeConfig } from "./util/multi_chain.ts";
import { parsePrometheusText } from "./util/prom_text.ts";
import { freePort } from "./interop/cometbft.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { NodeKey } from "../p2p/key.ts";
import { SecretConnection } from "../p2p/conn/secret_connection.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";
import { exchangeNodeInfo, makeNodeInfo } from "../p2p/node_info.ts";
import { encodePexAddrs } from "../p2p/pex/pex_codec.ts";
import { PEX_CHANNEL } from "../p2p/pex/pex_reactor.ts";

const ALPHA = "alpha-1";
const BETA = "beta-1";
const GAMMA = "gamma-1";
const LOG_FLAGS = ["--log_level", "p2p:debug,pex:info,main:debug,*:info", "--log_format", "json"];
/** Quiet time before an idle fault. */
const IDLE_MS = 300;
/** A fault's sockets are dropped by the proxy after this at the latest. */
const HOLD_MS = 6_000;
/** A faulted client gives up waiting for the daemon to close after this. */
const CLIENT_MS = 6_000;

/** An identity on beta's deny-list. */
const DENIED = NodeKey.generate();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logLines(d: Daemon): string[] {
  return d.stdoutLines().filter((l) => l.startsWith("{"));
}

interface ChainEntry {
  name: string;
  chain_id: string;
  listen_addr: string;
  node_id: string;
  peers: { inbound: number; outbound: number };
}

async function chainsOf(d: Daemon): Promise<ChainEntry[]> {
  return ((await d.rpc.call("chains")) as { chains: ChainEntry[] }).chains;
}

function portOf(c: ChainEntry): number {
  return Number(new URL(c.listen_addr.replace(/^tcp:/, "http:")).port);
}

/** A p2p client through the proxy: handshake, a packet, idle, another packet, then wait. */
const p2pClient = (port: number) =>
  faultedP2pClient(port, { network: ALPHA }, IDLE_MS + 300, CLIENT_MS);

/** Every fault at `phase` against `port`, each through its own proxy, all at once. */
async function runBatch(port: number, phase: typeof PHASES[number]) {
  const cases: { name: string; conn: FaultedConnection }[] = [];
  await Promise.all(FAULTS.map(async (fault) => {
    const proxy = await startFaultProxy({
      target: { port },
      fault,
      at: phase,
      idleMs: IDLE_MS,
      holdMs: HOLD_MS,
    });
    try {
      await p2pClient(proxy.port);
      const conn = proxy.connections[0];
      assert(conn !== undefined, `${phase} ${fault}: no connection reached the proxy`);
      await Promise.race([conn.fired, sleep(CLIENT_MS)]);
      cases.push({ name: `${phase} ${fault}`, conn });
    } finally {
      await proxy.close();
    }
  }));
  return cases;
}

/** A peer with a given identity on `network`: SecretConnection + NodeInfo, nothing more. */
async function peerAs(key: NodeKey, port: number, network: string): Promise<HostilePeer> {
  const tcp = await rawConnect(port);
  try {
    const sc = await SecretConnection.make(tcp, key);
    const ours = makeNodeInfo({
      id: key.id,
      network,
      moniker: "same-identity",
      channels: [PEX_CHANNEL],
      listenAddr: "tcp://127.0.0.9:9",
    });
    const theirs = await exchangeNodeInfo(sc, ours);
    return {
      key,
      tcp,
      sc,
      theirs,
      send: async (b) => {
        try {
          await sc.write(b);
          return true;
        } catch {
          return false;
        }
      },
      closed: (ms) => waitClosed(sc, ms),
      close: () => {
        closeQuietly(sc);
        closeQuietly(tcp);
      },
    };
  } catch (e) {
    closeQuietly(tcp);
    throw e;
  }
}

/** Whether `chain`'s `net_info` lists the peer `id`. */
async function connectedOn(d: Daemon, chain: string, id: string): Promise<boolean> {
  const ni = await d.rpc.call("net_info", { chain }) as { peers: { node_info: { id: string } }[] };
  return ni.peers.some((p) => p.node_info.id === id);
}

/** The IDs in a saved book's ban list (our extension of addrbook.json). */
async function bannedIn(file: string): Promise<string[]> {
  const j = JSON.parse(await Deno.readTextFile(file)) as { banned?: { addr: { id: string } }[] };
  return (j.banned ?? []).map((b) => b.addr.id);
}

Deno.test("multi-chain daemon: every fault at every phase on chain A leaves chains B and C alone; a ban on A is not a ban on B", async (t) => {
  await withTempDir(async (home) => {
    await writeConfig(
      home,
      multiChainConfig([
        {
          name: "default",
          chainId: ALPHA,
          // Inherited by beta and gamma: a stalled peer is found out quickly on every chain.
          p2p: [
            'ping_interval = "2s"',
            'pong_timeout = "1s"',
            "max_pending_handshakes_per_ip = 64",
          ],
        },
        // Beta's own deny-list: one identity refused there, and only there.
        { name: "beta", chainId: BETA, p2p: [`deny_list = ["${DENIED.id}"]`] },
        { name: "gamma", chainId: GAMMA },
      ], { seedMode: false }),
    );
    let d: Daemon | undefined;
    const honest: PexTestNode[] = [];
    const hostile: HostilePeer[] = [];
    try {
      const metricsPort = freePort();
      d = await spawnDaemon(home, { flags: LOG_FLAGS, prometheusPort: metricsPort });
      const daemon = d;
      // RPC answers before the chains start: wait for the last one.
      await d.waitForLine(/"Node started".*"chain":"gamma"/);
      const byName = new Map((await chainsOf(daemon)).map((c) => [c.name, c]));
      assertEquals([...byName.keys()], ["default", "beta", "gamma"]);
      assertEquals(portOf(byName.get("default")!), daemon.p2pPort);
      for (const [name, network] of [["beta", BETA], ["gamma", GAMMA]] as const) {
        const c = byName.get(name)!;
        const n = await makePexNode({ network, name: `honest-${name}` });
        honest.push(n);
        await n.sw.dialPeerWithAddress(
          await NetAddress.parse(`${c.node_id}@127.0.0.1:${portOf(c)}`),
        );
      }
      const [onBeta, onGamma] = honest;
      const watched = [["beta", onBeta.key.id], ["gamma", onGamma.key.id]] as const;
      for (const [name, id] of watched) {
        await waitFor(
          `the honest peer on ${name}`,
          async () => (await connectedOn(daemon, name, id)) || undefined,
        );
      }
      await sleep(500);
      const baselineFds = await fdCount(daemon);
      console.log(`daemon fds at baseline (3 chains, 2 peers): ${baselineFds}`);

      /** B and C untouched: their peer still listed, counts as before, never stopped. */
      const othersUntouched = async (when: string, extraOnBeta = 0) => {
        const chains = new Map((await chainsOf(daemon)).map((c) => [c.name, c]));
        for (const [name, id] of watched) {
          const want = 1 + (name === "beta" ? extraOnBeta : 0);
          assertEquals(chains.get(name)!.peers.inbound, want, `${when}: ${name} inbound peers`);
          assert(await connectedOn(daemon, name, id), `${when}: the peer on ${name} is connected`);
          const stops = logLines(daemon).filter((l) =>
            l.includes("Stopping peer") && l.includes(id)
          );
          assertEquals(stops, [], `${when}: the peer on ${name} was never stopped`);
        }
        for (const n of honest) assertEquals(n.sw.peers().list().length, 1, `${when}: peer side`);
      };

      for (const phase of PHASES) {
        await t.step(`chain A, phase ${phase}: all ${FAULTS.length} faults`, async () => {
          const cases = await runBatch(daemon.p2pPort, phase);
          for (const c of cases) {
            assert(c.conn.triggered, `${c.name}: the fault never fired`);
            assert(c.conn.targetSees !== undefined, `${c.name}: never reached the daemon`);
          }
          assert(!daemon.hasExited, `${phase}: the daemon exited`);
          // A still admits an honest peer.
          const p = await handshakePeer(daemon.p2pPort, { network: ALPHA });
          assertEquals(p.theirs?.network, ALPHA);
          p.close();
          await waitFor(`${phase}: fds back to the baseline`, async () => {
            const n = await fdCount(daemon);
            return n <= baselineFds ? n : undefined;
          }, 20_000);
          await othersUntouched(`after phase ${phase}`);
        });
      }

      await t.step("metrics: the rejected handshakes are counted on A only", async () => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        // `process_*` describe the one process and carry no chain_id (as Go's collector).
        const samples = parsePrometheusText(await res.text()).samples
          .filter((x) => !x.name.startsWith("process_"));
        const ids = new Set(samples.map((x) => x.labels.chain_id));
        assertEquals([...ids].sort(), [ALPHA, BETA, GAMMA]);
        const rejected = samples.filter((x) => x.name === "cometbft_p2p_inbound_rejected_total");
        assert(rejected.length > 0, "A counted its rejected handshakes");
        assertEquals([...new Set(rejected.map((x) => x.labels.chain_id))], [ALPHA]);
        for (const [chainId] of [[BETA], [GAMMA]]) {
          const peers = samples.find((x) =>
            x.name === "cometbft_p2p_peers" && x.labels.chain_id === chainId
          );
          assertEquals(peers?.value, 1, `${chainId}: its one peer`);
        }
      });

      await t.step("an ID on B's deny-list is refused on B only", async () => {
        const onA = await peerAs(DENIED, daemon.p2pPort, ALPHA);
        hostile.push(onA);
        await waitFor(
          "A lists the identity B denies",
          async () => (await connectedOn(daemon, "default", DENIED.id)) || undefined,
        );
        // Refused in the handshake, or closed right after it; a connection B kept open would
        // make closed() throw (still open after 10 s).
        const outcome = await peerAs(DENIED, portOf(byName.get("beta")!), BETA).then(
          (p) => {
            hostile.push(p);
            return p.closed(10_000);
          },
          (e: Error) => `refused in the handshake (${e.message})`,
        );
        console.log(`denied identity on beta: ${outcome}`);
        assertEquals(await connectedOn(daemon, "beta", DENIED.id), false, "B never lists it");
        assert(await connectedOn(daemon, "default", DENIED.id), "still connected on A");
        onA.close();
        await othersUntouched("after the denied identity");
      });

      await t.step("a peer banned on A is not banned on B", async () => {
        const key = NodeKey.generate();
        const onA = await peerAs(key, daemon.p2pPort, ALPHA);
        hostile.push(onA);
        // Let PEX put its self-reported address in A's book (only a known entry can be banned).
        await sleep(300);
        await onA.send(
          packetMsg(
            PEX_CHANNEL,
            true,
            encodePexAddrs([{ id: "b".repeat(40), ip: "127.0.0.9", port: 9 }]),
          ),
        );
        await waitFor(
          "A bans the peer",
          () =>
            logLines(daemon).some((l) =>
              l.includes("Banning peer for PEX abuse") && l.includes("unsolicited_addrs") &&
              !l.includes('"chain"')
            ) || undefined,
        );
        assert((await onA.closed(10_000)) !== undefined);
        // The same identity on beta: admitted, kept, never stopped.
        const onB = await peerAs(key, portOf(byName.get("beta")!), BETA);
        hostile.push(onB);
        await waitFor(
          "beta lists the same identity",
          async () => (await connectedOn(daemon, "beta", key.id)) || undefined,
        );
        await sleep(1_000);
        assert(await connectedOn(daemon, "beta", key.id), "still connected on beta");
        const betaBans = logLines(daemon).filter((l) =>
          l.includes("Banning peer") && l.includes('"chain":"beta"')
        );
        assertEquals(betaBans, []);
        await othersUntouched("after the ban on A", 1);
        onB.close();
        // The books saved on stop: the ban is in A's only.
        assertEquals(await daemon.stop(), 0);
        assert((await bannedIn(`${home}/config/addrbook.json`)).includes(key.id), "A's book bans");
        assertEquals(await bannedIn(`${home}/config/chains/beta/addrbook.json`), []);
        assertEquals(await bannedIn(`${home}/config/chains/gamma/addrbook.json`), []);
      });
    } finally {
      for (const h of hostile) h.close();
      await stopAll(...honest);
      await d?.stop();
    }
  }, "sy_mcfaults_");
});
