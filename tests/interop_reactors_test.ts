/**
 * The demo reactors against real CometBFT v0.38.25 nodes (kvstore app, loopback):
 * 1. a single-validator chain with our node as its peer: a `k=v` tx submitted through our
 *    node's CLI (`broadcast-tx` against our RPC) is committed by the chain, and our watcher's
 *    recorded height for the Go peer rises block by block;
 * 2. Go A – ours – Go B in a line (no A–B link, PEX off, persistent_peers = us): a tx submitted
 *    to Go A's RPC reaches Go B's mempool through our relay.
 *
 * Our node runs in this process (switch + reactors + RPC server), so the test can read the
 * watcher's per-peer state directly.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { eventually } from "./util/eventually.ts";
import {
  type CometbftNode,
  CometbftRpcError,
  interopTest,
  startCometbft,
} from "./interop/cometbft.ts";
import { type ReactorNode, startNode, stopNodes } from "./util/reactor_node.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { RPCServer } from "../rpc/server.ts";
import { ConsensusWatcher, type HeightEvent } from "../reactors/consensus_watcher.ts";
import { TxRelay } from "../reactors/tx_relay.ts";
import { broadcastTxCommand } from "../cmd/broadcast_tx.ts";
import { ExitCode } from "../cmd/command.ts";

/** `abci_query` for a kvstore key; the value as text, or undefined while absent. */
async function kvQuery(node: CometbftNode, key: string): Promise<string | undefined> {
  const r = await node.rpc<{ response: { value?: string | null } }>("abci_query", {
    data: key,
  });
  const v = r.response.value;
  return v ? atob(v) : undefined;
}

interface OurNode {
  node: ReactorNode;
  watcher: ConsensusWatcher;
  relay: TxRelay;
  rpc: RPCServer;
  rpcUrl: string;
}

async function startOurs(chainId: string): Promise<OurNode> {
  const watcher = new ConsensusWatcher();
  const relay = new TxRelay();
  const node = await startNode({ MEMPOOL: relay, CONSENSUS: watcher }, {
    moniker: "switchyard-relay",
    network: chainId,
  });
  const rpc = new RPCServer({ laddr: "tcp://127.0.0.1:0", routes: relay.routes() });
  await rpc.start();
  const a = rpc.addr!;
  assert(a.kind === "tcp");
  return { node, watcher, relay, rpc, rpcUrl: `tcp://127.0.0.1:${a.port}` };
}

async function stopOurs(o: OurNode): Promise<void> {
  await o.rpc.stop();
  await stopNodes(o.node);
}

interopTest(
  "reactors interop: a tx submitted through our CLI is committed by a cometbft chain; our watcher follows its height block by block",
  async () => {
    const go = await startCometbft({ pex: false });
    let ours: OurNode | undefined;
    try {
      ours = await startOurs(go.chainId);
      const events: HeightEvent[] = [];
      ours.watcher.onHeight((ev) => events.push(ev));
      await ours.node.sw.dialPeerWithAddress(await NetAddress.parse(go.address));
      const w = ours.watcher;
      // Heights reported by the Go peer, one event per new height.
      await eventually(
        "four consecutive heights",
        () => Promise.resolve(events.length >= 4 ? true : undefined),
      );
      for (let i = 1; i < events.length; i++) {
        assertEquals(events[i].height, events[i - 1].height + 1n, "one block at a time");
        assertEquals(events[i].peerId, go.id);
      }
      assert(w.peerState(go.id)!.height >= events[3].height);
      // The Go node sees our announced height too (its peer state for us is not exposed, but it
      // gossips mempool txs only to peers that announced one: the next step proves it).

      const code = await broadcastTxCommand.run(["--node", ours.rpcUrl, "k=v"]);
      assertEquals(code, ExitCode.ok);
      assertEquals(await eventually("k=v committed", () => kvQuery(go, "k")), "v");
      assertEquals(ours.relay.stats.submitted, 1);
      assert(ours.relay.stats.relayed >= 1);
      // The duplicate is refused by our node with CometBFT's text.
      const dup = await broadcastTxCommand.run(["--node", ours.rpcUrl, "k=v"]);
      assertEquals(dup, ExitCode.rpcError);
      assert(ours.node.sw.peers().has(go.id), "the Go node kept us as a peer");
      assertEquals(ours.watcher.invalidMessages, 0);
    } finally {
      if (ours) await stopOurs(ours);
      await go.stop();
    }
  },
);

interopTest(
  "reactors interop: Go A – switchyard – Go B, a tx sent to A reaches B's mempool only through our relay",
  async () => {
    // Our node first: the Go nodes dial it as their only persistent peer.
    const chainHolder = await startCometbft({
      pex: false,
      // A makes a block only when it has txs, so its height stays low and B (which cannot sync:
      // its only peer is us, and we serve no blocks) stays within Go's one-block gossip lag.
      config: { "consensus.create_empty_blocks": false },
    });
    let ours: OurNode | undefined;
    let b: CometbftNode | undefined;
    try {
      // A was started before us; connect it by dialing it (A has no persistent peers).
      ours = await startOurs(chainHolder.chainId);
      const oursAddr = ours.node.addr.toString();
      b = await startCometbft({
        pex: false,
        persistentPeers: [oursAddr],
        config: {
          // B joins A's chain as a non-validator: same genesis file.
          "genesis_file": `${chainHolder.home}/config/genesis.json`,
          "consensus.create_empty_blocks": false,
        },
      });
      await ours.node.sw.dialPeerWithAddress(await NetAddress.parse(chainHolder.address));
      await eventually("both Go nodes connected to us", () =>
        Promise.resolve(
          ours!.node.sw.peers().has(chainHolder.id) && ours!.node.sw.peers().has(b!.id)
            ? true
            : undefined,
        ));
      // No direct A–B link.
      const aPeers = await chainHolder.netInfo();
      assertEquals(aPeers.peers.map((p) => p.node_info.id), [ours.node.key.id]);
      const bPeers = await b.netInfo();
      assertEquals(bPeers.peers.map((p) => p.node_info.id), [ours.node.key.id]);
      // A reported its height. B block-syncs forever (its only peer, us, serves no blocks), and a
      // block-syncing Go node sends no NewRoundStep (spec §11.3): its height stays 0 here. With
      // A at consensus height 2 (block 1 committed, no empty blocks), a tx is stamped 1, and 0 ≥
      // 1 − 1 satisfies Go's one-block lag rule, so B is eligible exactly as it would be for A.
      const w = ours.watcher;
      await eventually(
        "A's height",
        () => Promise.resolve(w.peerState(chainHolder.id)!.height > 0n ? true : undefined),
      );
      assertEquals(w.peerState(b.id)!.height, 0n);
      assert(w.currentHeight() <= 1, `A makes no empty blocks (stamp ${w.currentHeight()})`);

      await chainHolder.rpc("broadcast_tx_async", { tx: "relay=works" });
      const seen = await eventually("tx in B's mempool", async () => {
        const r = await b!.rpc<{ n_txs: string; txs: string[] | null }>("unconfirmed_txs");
        return (r.txs ?? []).map((t) => atob(t)).find((t) => t === "relay=works");
      });
      assertEquals(seen, "relay=works");
      assertEquals(ours.relay.stats.received, 1, "we got it from A");
      assert(ours.relay.stats.relayed >= 1, "and relayed it to B");
      // A committed it (a block is made now that there is a tx).
      assertEquals(
        await eventually("committed on A", () => kvQuery(chainHolder, "relay")),
        "works",
      );
    } catch (e) {
      if (e instanceof CometbftRpcError) console.error(e.message);
      throw e;
    } finally {
      if (ours) await stopOurs(ours);
      await b?.stop();
      await chainHolder.stop();
    }
  },
);
