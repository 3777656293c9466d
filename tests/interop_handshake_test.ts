/**
 * Handshake interop with a real CometBFT v0.38.25 node: we dial it, it dials us, and the `dial`
 * probe runs against it as a subprocess. We run no MConnection yet, so the Go node drops us
 * after a while; the tests only hold the connection briefly.
 */
import { STOCK_CHANNELS } from "./util/vectors.ts";
import { assert, assertEquals } from "./util/assert.ts";
import { interopTest, startCometbft } from "./interop/cometbft.ts";
import { ExitCode } from "../cmd/command.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { type NodeInfo, validateNodeInfo } from "../p2p/node_info.ts";
import { dialTcp, upgradeInbound, upgradeOutbound } from "../p2p/upgrade.ts";

/** p2p debug logs show "Added peer"; everything else stays at info. */
const GO_LOG_LEVEL = "p2p:debug,*:info";
/** How long we wait for the Go node to dial its persistent peer (it dials right at start). */
const GO_DIAL_WAIT_MS = 15_000;

function ourInfo(key: NodeKey, network: string, listenAddr: string): NodeInfo {
  return {
    protocolVersion: { p2p: 8, block: 11, app: 0 },
    id: key.id,
    listenAddr,
    network,
    version: "0.38.25",
    channels: STOCK_CHANNELS,
    moniker: "switchyard-interop",
    other: { txIndex: "off", rpcAddress: "" },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

interopTest("interop: we dial the Go node and receive its NodeInfo", async () => {
  const node = await startCometbft({ chainId: "interop-dial", logLevel: GO_LOG_LEVEL });
  try {
    const key = NodeKey.generate();
    const conn = await dialTcp(NetAddress.parseNoLookup(node.address));
    const { secretConn, nodeInfo } = await upgradeOutbound(conn, {
      nodeKey: key,
      nodeInfo: ourInfo(key, node.chainId, "tcp://127.0.0.1:26656"),
      dialedId: node.id,
    });
    try {
      assertEquals(nodeInfo.id, node.id);
      assertEquals(nodeInfo.network, "interop-dial");
      assertEquals(nodeInfo.version, "0.38.25");
      assertEquals(nodeInfo.protocolVersion.block, 11);
      assertEquals(nodeInfo.listenAddr, `tcp://127.0.0.1:${node.p2pPort}`);
      assertEquals(nodeInfo.channels, STOCK_CHANNELS);
      await await validateNodeInfo(nodeInfo);
      // The Go node accepted our NodeInfo too: it added us as an inbound peer.
      await node.waitForLog(new RegExp(`Added peer.*${key.id} in`), 5_000);
      await sleep(1_000);
    } finally {
      secretConn.close();
    }
  } finally {
    await node.stop();
  }
});

interopTest("interop: the Go node dials us as a persistent peer", async () => {
  const key = NodeKey.generate();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let node;
  try {
    node = await startCometbft({
      chainId: "interop-inbound",
      logLevel: GO_LOG_LEVEL,
      persistentPeers: [`${key.id}@127.0.0.1:${port}`],
    });
    // Closing the listener is the only way to bound accept(): do it if Go never dials.
    const giveUp = setTimeout(() => listener.close(), GO_DIAL_WAIT_MS);
    const conn = await listener.accept().finally(() => clearTimeout(giveUp));
    const { secretConn, nodeInfo } = await upgradeInbound(conn, {
      nodeKey: key,
      nodeInfo: ourInfo(key, "interop-inbound", `tcp://127.0.0.1:${port}`),
    });
    try {
      assertEquals(nodeInfo.id, node.id);
      assertEquals(nodeInfo.network, "interop-inbound");
      await await validateNodeInfo(nodeInfo);
      // The Go side finished its half of the handshake with our NodeInfo: it added us as an
      // outbound peer ("Peer{MConn{127.0.0.1:<port>} <our id> out}").
      const m = await node.waitForLog(
        new RegExp(`Added peer.*MConn\\{127\\.0\\.0\\.1:${port}\\} ${key.id} out`),
        5_000,
      );
      assert(m[0].includes(key.id));
      await sleep(1_000);
    } finally {
      secretConn.close();
    }
  } finally {
    try {
      listener.close();
    } catch {
      // already closed by the give-up timer
    }
    await node?.stop();
  }
});

/** Runs `main.ts dial ...` as a subprocess. */
async function runProbe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-env", main, "dial", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

interopTest(
  "interop: dial probe against the Go node (ok, wrong ID, wrong chain, closed port)",
  async () => {
    const node = await startCometbft({ chainId: "interop-probe", logLevel: GO_LOG_LEVEL });
    try {
      const ok = await runProbe([node.address, "--chain-id", "interop-probe"]);
      assertEquals(ok.code, ExitCode.ok, ok.stderr);
      const json = JSON.parse(ok.stdout);
      assertEquals(json.id, node.id);
      assertEquals(json.network, "interop-probe");
      assertEquals(json.channels, "40202122233038606100");
      assertEquals(json.protocol_version.block, "11");

      const wrongId = NodeKey.generate().id;
      const badId = await runProbe([
        `${wrongId}@127.0.0.1:${node.p2pPort}`,
        "--chain-id",
        "interop-probe",
      ]);
      assertEquals(badId.code, ExitCode.idMismatch, badId.stderr);
      assert(badId.stderr.startsWith("error: "), badId.stderr);
      assertEquals(badId.stdout, "");

      const badChain = await runProbe([node.address, "--chain-id", "some-other-chain"]);
      assertEquals(badChain.code, ExitCode.incompatible, badChain.stderr);
      assert(badChain.stderr.includes("interop-probe"), badChain.stderr);
      // The Go node refused us for the same reason.
      await node.waitForLog(
        new RegExp(`Inbound Peer rejected.*${escapeRe("some-other-chain")}`),
        5_000,
      );

      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closedPort = (l.addr as Deno.NetAddr).port;
      l.close();
      const closed = await runProbe([
        `${node.id}@127.0.0.1:${closedPort}`,
        "--chain-id",
        "interop-probe",
      ]);
      assertEquals(closed.code, ExitCode.unreachable, closed.stderr);
      assertEquals(closed.stderr.trim().split("\n").length, 1);
    } finally {
      await node.stop();
    }
  },
);
