/**
 * The demo reactors (consensus_watcher, tx_relay, chat) through the real daemon, driven by the
 * CLI as users run them (`main.ts` with the cli task's permissions, see tests/util/daemon.ts):
 * 1. three daemons in a line A–B–C (reactors from an `init`-written config.toml edited by hand,
 *    PEX off, links made with `dial-peers`): `say` at A is printed exactly once by every
 *    daemon with A's moniker, and no node sends it back where it came from (per-channel byte
 *    counters of the metrics endpoint);
 * 2. one daemon (reactors by flags) as the peer of a single-validator cometbft chain:
 *    `broadcast-tx k=v` at our RPC is committed by the chain (and so is a tx submitted before
 *    the Go node connected), `net-info --json` shows the Go peer's `consensus_height` rising,
 *    and the Go node's /net_info lists our moniker.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { parsePrometheusText } from "./util/prom_text.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type CometbftNode, freePort, interopTest, startCometbft } from "./interop/cometbft.ts";
import { cli, type Daemon, spawnDaemon, stopDaemons, waitFor } from "./util/daemon.ts";
import { CHAT_CHANNEL } from "../reactors/chat.ts";

const REACTORS = ["consensus_watcher", "tx_relay", "chat"];
/** Bound of the waits for the Go chain (blocks every 200 ms; a tx lands within a few). */
const CHAIN_TIMEOUT_MS = 30_000;

interface NetInfoPeer {
  node_info: { id: string; moniker: string; channels: string };
  is_outbound: boolean;
  consensus_height?: string;
}

async function peersOf(d: Daemon): Promise<NetInfoPeer[]> {
  const r = await cli("net-info", "--json", "--node", d.rpcAddr);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).peers;
}

async function nodeId(home: string): Promise<string> {
  const r = await cli("show-node-id", "--home", home);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** Replaces the one line of `toml` matching `re` (which must exist) with `line`. */
function replaceLine(toml: string, re: RegExp, line: string): string {
  const lines = toml.split("\n");
  const hits = lines.flatMap((l, i) => (re.test(l) ? [i] : []));
  assertEquals(hits.length, 1, `expected one line matching ${re}`);
  lines[hits[0]] = line;
  return lines.join("\n");
}

/** `init` a home, then edit its config.toml the way an operator would. */
async function initHome(home: string, moniker: string, unsafe: boolean): Promise<void> {
  const r = await cli("init", "--home", home, "--moniker", moniker);
  assertEquals(r.code, 0, r.stderr);
  const path = `${home}/config/config.toml`;
  let toml = await Deno.readTextFile(path);
  toml = replaceLine(toml, /^reactors = /, `reactors = ${JSON.stringify(REACTORS)}`);
  toml = replaceLine(toml, /^pex = /, "pex = false");
  toml = replaceLine(toml, /^unsafe = /, `unsafe = ${unsafe}`);
  await Deno.writeTextFile(path, toml);
}

/** Chat channel bytes counters (`peer_receive_bytes_total` / `peer_send_bytes_total`). */
async function chatBytes(port: number): Promise<{ rx: number; tx: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples = parsePrometheusText(text).samples;
  const chID = `0x${CHAT_CHANNEL.toString(16)}`;
  const sum = (name: string) =>
    samples.filter((s) => s.name === name && s.labels.chID === chID)
      .reduce((a, s) => a + s.value, 0);
  return {
    rx: sum("cometbft_p2p_peer_receive_bytes_total"),
    tx: sum("cometbft_p2p_peer_send_bytes_total"),
  };
}

Deno.test("three daemons in a line A–B–C: say at A is printed once by each, never echoed", async () => {
  await withTempDir(async (dir) => {
    const names = ["a", "b", "c"] as const;
    await Promise.all(names.map((n) => initHome(`${dir}/${n}`, `node-${n}`, n !== "c")));
    const metrics = names.map(() => freePort());
    const ds: (Daemon | undefined)[] = [];
    try {
      for (const [i, n] of names.entries()) {
        ds.push(await spawnDaemon(`${dir}/${n}`, { prometheusPort: metrics[i] }));
      }
      const [a, b, c] = ds as Daemon[];
      const [aId, bId, cId] = await Promise.all(names.map((n) => nodeId(`${dir}/${n}`)));
      for (const [from, to, toId] of [[a, b, bId], [b, c, cId]] as const) {
        const r = await cli(
          "dial-peers",
          "--node",
          from.rpcAddr,
          `${toId}@127.0.0.1:${to.p2pPort}`,
        );
        assertEquals(r.code, 0, r.stderr);
      }
      const want = new Map([[a, [bId]], [b, [aId, cId]], [c, [bId]]]);
      for (const [d, ids] of want) {
        const peers = await waitFor(`${d.home} to list ${ids.length} peer(s)`, async () => {
          const ps = await peersOf(d);
          return ids.every((id) => ps.some((p) => p.node_info.id === id)) ? ps : undefined;
        });
        // A line, not a triangle: PEX is off, so A and C never learn of each other.
        assertEquals(peers.map((p) => p.node_info.id).sort(), [...ids].sort());
        // Every peer advertises the three reactors' channels: mempool, consensus state, chat.
        // In registration order, upper-case hex as CometBFT prints it.
        for (const p of peers) assertEquals(p.node_info.channels, "30207C");
      }

      const say = await cli("say", "--node", a.rpcAddr, "hello");
      assertEquals(say.code, 0, say.stderr);
      assertEquals(say.stdout.trim(), "sent as node-a to 1 peer(s)");
      for (const d of [a, b, c]) await d.waitForLine(/^\[chat\] node-a: hello$/);
      const sent = await chatBytes(metrics[0]);
      assert(sent.tx > 0, "A counted the bytes of its line");

      // Barrier: a line of the same size from the other end. Links deliver in order, so once
      // it is printed at A, any copy of "hello" sent back along A–B or B–C has arrived.
      const reply = await cli("say", "--node", c.rpcAddr, "howdy");
      assertEquals(reply.code, 0, reply.stderr);
      for (const d of [c, b, a]) await d.waitForLine(/^\[chat\] node-c: howdy$/);
      const [ma, mb, mc] = await Promise.all(metrics.map(chatBytes));
      // A received only "howdy" (B did not return "hello"), C sent only "howdy" (C did not
      // return "hello" to B), B received one line from each side.
      assertEquals(ma.rx, sent.tx, "A received more than one line: an echo");
      assertEquals(mc.tx, sent.tx, "C sent more than its own line: an echo");
      assertEquals(mb.rx, 2 * sent.tx, "B received more than one line per side");

      for (const d of [a, b, c]) {
        const lines = d.stdoutLines();
        assertEquals(lines.filter((l) => l.includes("hello")), ["[chat] node-a: hello"]);
        assertEquals(lines.filter((l) => l.includes("howdy")), ["[chat] node-c: howdy"]);
      }
    } finally {
      const codes = await stopDaemons(ds);
      for (const [i, code] of codes.entries()) assertEquals(code, 0, ds[i]?.output);
    }
  }, "sy_reactors_");
});

/** `abci_query` for a kvstore key; the value as text, or undefined while absent. */
async function kvQuery(node: CometbftNode, key: string): Promise<string | undefined> {
  const r = await node.rpc<{ response: { value?: string | null } }>("abci_query", { data: key });
  const v = r.response.value;
  return v ? atob(v) : undefined;
}

interopTest(
  "a daemon with the demo reactors as a cometbft chain's peer: tx committed, heights rising",
  async () => {
    await withTempDir(async (dir) => {
      const comet = await startCometbft({ moniker: "comet", pex: false });
      let d: Daemon | undefined;
      try {
        d = await spawnDaemon(`${dir}/home`, {
          flags: [
            "--chain-id",
            comet.chainId,
            "--moniker",
            "ours",
            "--p2p.pex=false",
            "--rpc.unsafe",
            "--node.reactors",
            REACTORS.join(","),
          ],
        });
        const ours = d;
        // A tx submitted while we have no peer at all: Go's mempool sends a new peer what it
        // holds, so the Go node must get this one once it connects.
        const early = await cli("broadcast-tx", "--node", ours.rpcAddr, "early=1");
        assertEquals(early.code, 0, early.stderr);
        const dial = await cli("dial-peers", "--node", ours.rpcAddr, comet.address);
        assertEquals(dial.code, 0, dial.stderr);
        await waitFor("the Go peer in our net-info", async () => {
          return (await peersOf(ours)).find((p) => p.node_info.id === comet.id);
        });

        const tx = await cli("broadcast-tx", "--node", ours.rpcAddr, "k=v");
        assertEquals(tx.code, 0, tx.stderr);
        assert(/^[0-9A-F]{64}$/.test(tx.stdout.trim()), tx.stdout);
        const v = await waitFor("k=v committed", () => kvQuery(comet, "k"), CHAIN_TIMEOUT_MS);
        assertEquals(v, "v");
        const e = await waitFor(
          "early=1 (submitted before the Go peer connected) committed",
          () => kvQuery(comet, "early"),
          CHAIN_TIMEOUT_MS,
        );
        assertEquals(e, "1");

        const heightOfGo = async () => {
          const p = (await peersOf(ours)).find((p) => p.node_info.id === comet.id);
          return p?.consensus_height === undefined ? undefined : Number(p.consensus_height);
        };
        const h1 = await waitFor("consensus_height of the Go peer", heightOfGo, CHAIN_TIMEOUT_MS);
        assert(h1 >= 1, `consensus_height ${h1}`);
        const h2 = await waitFor("a higher consensus_height", async () => {
          const h = await heightOfGo();
          return h !== undefined && h > h1 ? h : undefined;
        }, CHAIN_TIMEOUT_MS);
        assert(h2 > h1);

        const goPeers = (await comet.netInfo()).peers;
        assertEquals(goPeers.map((p) => p.node_info.moniker), ["ours"]);
      } finally {
        const code = await d?.stop("SIGTERM");
        await comet.stop();
        if (code !== undefined) assertEquals(code, 0, d?.output);
      }
    }, "sy_reactors_");
  },
);
