/**
 * PEX interop with real CometBFT v0.38.25 nodes on loopback (addr_book_strict = false,
 * allow_duplicate_ip = true, distinct ports, external_address set):
 * (a) Go nodes A and B know only our seed; Go node C knows only our seed and ends up connected
 *     to A or B (C's /net_info);
 * (b) our node's only seed is a Go seed-mode node; it learns an address and connects to it;
 * (c) PEX both ways between our node and a Go node, and the Go node's saved addrbook.json loads
 *     in our address book code.
 * Go nodes of one test share the first node's genesis (one validator, the others follow), so
 * their consensus reactors have nothing to disagree about.
 */
import { assert, assertEquals } from "./util/assert.ts";
import {
  type CometbftNode,
  type CometbftOptions,
  freePort,
  interopTest,
  startCometbft,
} from "./interop/cometbft.ts";
import { deadAddress, makePexNode, type PexTestNode, until } from "./util/pex_harness.ts";
import { decodeAddrBookJSON } from "../p2p/pex/addrbook_file.ts";
import { NetAddress } from "../p2p/netaddress.ts";

const GO_LOG_LEVEL = "p2p:debug,pex:debug,*:info";
/** Go nodes dial and answer within seconds; these bounds only end a broken test. */
const CONNECT_TIMEOUT_MS = 60_000;

/** Starts a Go node reachable at its external address; `genesisOf` shares another's genesis. */
function startGo(
  chainId: string,
  moniker: string,
  opts: Partial<CometbftOptions> = {},
  genesisOf?: CometbftNode,
): Promise<CometbftNode> {
  const p2pPort = freePort();
  return startCometbft({
    chainId,
    moniker,
    logLevel: GO_LOG_LEVEL,
    p2pPort,
    externalAddress: `127.0.0.1:${p2pPort}`,
    addrBookStrict: false,
    allowDuplicateIp: true,
    ...opts,
    config: {
      ...(genesisOf ? { genesis_file: `${genesisOf.home}/config/genesis.json` } : {}),
      ...opts.config,
    },
  });
}

async function peerIds(node: CometbftNode): Promise<string[]> {
  return (await node.netInfo()).peers.map((p) => p.node_info.id);
}

/** Polls an async condition every 250 ms until it holds or `timeoutMs` passes. */
async function eventually(
  cond: () => Promise<boolean>,
  what: string,
  timeoutMs = CONNECT_TIMEOUT_MS,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopGo(nodes: (CometbftNode | undefined)[]): Promise<void> {
  // Reverse order: nodes that borrowed a genesis stop before its owner's home is removed.
  for (const n of [...nodes].reverse()) await n?.stop();
}

interopTest("interop pex (a): Go nodes bootstrap from our seed; C connects to A or B", async () => {
  const chainId = "pex-interop-a";
  let seed: PexTestNode | undefined;
  const gos: (CometbftNode | undefined)[] = [];
  try {
    seed = await makePexNode({
      name: "seed",
      network: chainId,
      pex: {
        seedMode: true,
        seed: { disconnectWaitMs: 500, crawlPeriodMs: 5_000, verifyScanIntervalMs: 200 },
      },
    });
    const seeds = [seed.addr.toString()];
    const a = await startGo(chainId, "go-a", { seeds });
    gos.push(a);
    const b = await startGo(chainId, "go-b", { seeds }, a);
    gos.push(b);
    const v = seed.pex!.verifier!;
    await until(
      () => v.isLive(a.id) && v.isLive(b.id),
      "seed verified A and B",
      CONNECT_TIMEOUT_MS,
    );
    const c = await startGo(chainId, "go-c", { seeds }, a);
    gos.push(c);
    await eventually(async () => {
      const ids = await peerIds(c);
      return ids.includes(a.id) || ids.includes(b.id);
    }, "C connected to A or B");
    // C dialed them itself: it can only have learnt their addresses from our seed's answer.
    await eventually(
      async () =>
        (await c.netInfo()).peers.some((p) =>
          p.is_outbound && (p.node_info.id === a.id || p.node_info.id === b.id)
        ),
      "C has an outbound connection to A or B",
    );
  } finally {
    await stopGo(gos);
    await seed?.stop();
  }
});

interopTest(
  "interop pex (b): our node bootstraps from a Go seed and connects to what it learns",
  async () => {
    const chainId = "pex-interop-b";
    let ours: PexTestNode | undefined;
    const gos: (CometbftNode | undefined)[] = [];
    try {
      const goSeed = await startGo(chainId, "go-seed", { seedMode: true });
      gos.push(goSeed);
      const a = await startGo(chainId, "go-a", { seeds: [goSeed.address] }, goSeed);
      gos.push(a);
      // The seed stores A when A connects; its "Added peer" line follows the reactors' AddPeer.
      await goSeed.waitForLog(new RegExp(`Added peer.*${a.id}`), CONNECT_TIMEOUT_MS);
      ours = await makePexNode({
        name: "ours",
        network: chainId,
        pex: { seeds: [goSeed.address], ensurePeersPeriodMs: 30_000 },
      });
      const n = ours;
      await until(
        () => n.book.hasAddress(NetAddress.parseNoLookup(a.address)),
        "learnt A",
        CONNECT_TIMEOUT_MS,
      );
      await until(() => n.sw.peers().has(a.id), "connected to A", CONNECT_TIMEOUT_MS);
      await eventually(async () => (await peerIds(a)).includes(n.key.id), "A lists us");
    } finally {
      await ours?.stop();
      await stopGo(gos);
    }
  },
);

interopTest(
  "interop pex (c): PEX both ways with a Go node; its addrbook.json loads in ours",
  async () => {
    const chainId = "pex-interop-c";
    let ours: PexTestNode | undefined;
    let g: CometbftNode | undefined;
    try {
      // What we gossip (X) and what the Go node gossips (H): both dead, only their IDs matter.
      const x = deadAddress();
      const h = deadAddress();
      ours = await makePexNode({
        name: "ours",
        network: chainId,
        start: false,
        // Go refuses a third PexRequest within 10 s: stay at or above Go's own 30 s / 3.
        pex: { ensurePeersPeriodMs: 12_000 },
      });
      ours.book.addAddress(x, ours.addr);
      await ours.sw.start();
      const n = ours;
      // G dials us (persistent), so G asks us at once; we ask G from our next periodic round.
      g = await startGo(chainId, "go-g", {
        persistentPeers: [n.addr.toString(), h.toString()],
        config: { "rpc.unsafe": true },
      });
      const goNode = g;
      await until(() => n.sw.peers().has(goNode.id), "G connected", CONNECT_TIMEOUT_MS);
      // Direction Go → us.
      await until(() => n.book.hasAddress(h), "we learnt H from G", CONNECT_TIMEOUT_MS);
      // Direction us → Go: dial_peers makes the Go node save its book right away.
      const bookPath = `${goNode.home}/config/addrbook.json`;
      await eventually(async () => {
        await goNode.rpc("dial_peers", { peers: [h.toString()], persistent: false });
        const text = await Deno.readTextFile(bookPath).catch(() => "");
        return text.includes(x.id);
      }, "G stored X from our PexAddrs");
      // (d) The book the Go node wrote loads in ours and holds what we told it.
      const { snapshot, skipped } = decodeAddrBookJSON(await Deno.readTextFile(bookPath));
      assertEquals(skipped, 0, "every entry of the Go book decodes");
      const ids = snapshot.addrs.map((k) => k.id);
      assert(ids.includes(x.id) && ids.includes(h.id), `loaded ids: ${ids.join(",")}`);
    } finally {
      await g?.stop();
      await ours?.stop();
    }
  },
);
