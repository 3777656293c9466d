/**
 * The interop matrix, once per CometBFT line (v0.34.35, v0.37.18, v0.38.25, v0.39.4, v0.40.0,
 * v1.0.1; binaries from `tests/interop/lines.ts`), against our daemon's `Node` run in this process
 * with the PEX, consensus watcher and tx relay reactors, twice: with DEFAULT settings (no
 * `cometbft_line`: v0.38's wire; a newer line's unknown consensus messages are ignored), and with
 * `cometbft_line` set to that line (then every consensus message must be known: none ignored,
 * and V sees our p2p protocol version as its own); v1.0 also with `auto`.
 *
 * 1. dial probe, us → them: `dial` completes the handshake with the line's validator V and reads
 *    its NodeInfo (version and p2p protocol of that line);
 * 2. PEX, their seed → us: Go node W1 announced itself to the Go seed S; our node, whose only
 *    seed is S, learns W1's address (nobody else knows W1 then);
 * 3. PEX, our node → them, and dial them → us: Go node W2 has our node as its only seed; it
 *    dials us (inbound to us), asks for addresses and then dials V or W1 itself;
 * 4. persistent peer: V is in our `p2p.persistent_peers`; with our ping period shortened to
 *    {@link PING_INTERVAL} (CometBFT's own is a fixed 60 s), the same connection to V lasts two
 *    of our ping periods with zero disconnects on either side and zero invalid messages;
 * 5. consensus heights observed: our watcher records V's height rising;
 * 6. tx relay: a tx submitted to our relay is committed by V's kvstore chain.
 *
 * Lines run one after another (each test owns four Go processes, about 10-20 s).
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { eventually } from "./util/eventually.ts";
import { type CometbftNode, freePort, startCometbft } from "./interop/cometbft.ts";
import { LINE_BINARIES, lineTest } from "./interop/lines.ts";
import { buildConfig, type RawValue } from "../config/mod.ts";
import { type CometbftLineSetting, lineProfile } from "../p2p/cometbft_line.ts";
import { Node } from "../node/node.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { Peer } from "../p2p/peer.ts";
import { runDial } from "../cmd/dial.ts";
import type { ConsensusWatcher } from "../reactors/consensus_watcher.ts";
import type { TxRelay } from "../reactors/tx_relay.ts";

/** Our keep-alive ping period in this test (config `p2p.ping_interval`). */
const PING_INTERVAL_MS = 2_000;
/** How long the persistent connection must last: two of our ping periods, plus one second. */
const HOLD_MS = 2 * PING_INTERVAL_MS + 1_000;
/** Start attempts of a Go node whose freshly picked port was taken meanwhile. */
const START_ATTEMPTS = 3;
/** Bound of every wait on the Go nodes (they connect and make blocks within seconds). */
const WAIT_MS = 60_000;

/** Bounds of every {@link eventually} here: {@link WAIT_MS}, polled every 250 ms. */
const POLL = { timeoutMs: WAIT_MS, pollMs: 250 };

const when = (ok: boolean) => Promise.resolve(ok ? true : undefined);

/** Our node with default settings, except loopback, fast pings, its seed and persistent peer. */
async function startOurs(
  home: string,
  chainId: string,
  seed: string,
  persistent: string,
  line: CometbftLineSetting | undefined,
): Promise<Node> {
  const src = { kind: "file", path: `${home}/config.toml` } as const;
  const raw: Record<string, unknown> = {
    chain_id: chainId,
    moniker: "switchyard-lines",
    "p2p.laddr": "tcp://127.0.0.1:0",
    "rpc.laddr": "",
    "p2p.seeds": seed,
    "p2p.persistent_peers": persistent,
    "p2p.addr_book_strict": false,
    "p2p.allow_duplicate_ip": true,
    "p2p.ping_interval": `${PING_INTERVAL_MS}ms`,
    "p2p.pong_timeout": `${PING_INTERVAL_MS / 2}ms`,
    "node.reactors": ["pex", "consensus_watcher", "tx_relay"],
    ...(line === undefined ? {} : { cometbft_line: line }),
  };
  const layer = new Map<string, RawValue>(
    Object.entries(raw).map(([k, v]) => [k, { raw: v, source: src }]),
  );
  const config = buildConfig(home, [layer]);
  assertEquals(config.cometbftLine, line ?? "v0.38", "default line");
  const node = await Node.create({ config, chainId, nodeKey: NodeKey.generate() });
  await node.start();
  return node;
}

async function peerIds(n: CometbftNode): Promise<string[]> {
  return (await n.netInfo()).peers.map((p) => p.node_info.id);
}

/** `abci_query` for a kvstore key: the value as text, or undefined while absent. */
async function kvQuery(n: CometbftNode, key: string): Promise<string | undefined> {
  const r = await n.rpc<{ response: { value?: string | null } }>("abci_query", { data: key });
  return r.response.value ? atob(r.response.value) : undefined;
}

/** Count of the Go node's log lines saying it stopped `id` for an error. */
function goErrorStops(n: CometbftNode, id: string): number {
  return n.logText().split("\n").filter((l) =>
    l.includes("Stopping peer for error") && l.includes(id)
  )
    .length;
}

const runs = LINE_BINARIES.flatMap((b) => {
  const settings: (CometbftLineSetting | undefined)[] = [undefined, b.line];
  if (b.line === "v1.0") settings.push("auto");
  return settings.map((setting) => ({ b, setting }));
});

for (const { b, setting } of runs) {
  const label = setting === undefined ? "default settings" : `cometbft_line = ${setting}`;
  lineTest(b, `interop lines ${b.line} (cometbft v${b.tag}), ${label}`, async (bin) => {
    const chainId = `lines-${b.line.replace(".", "")}-${setting ?? "default"}`.replace(".", "");
    const started: CometbftNode[] = [];
    const go = async (moniker: string, opts: Parameters<typeof startCometbft>[0] = {}) => {
      const genesis: Record<string, string> = started[0]
        ? { genesis_file: `${started[0].home}/config/genesis.json` }
        : {};
      for (let attempt = 1;; attempt++) {
        const p2pPort = freePort();
        try {
          const n = await startCometbft({
            bin,
            chainId,
            moniker,
            p2pPort,
            externalAddress: `127.0.0.1:${p2pPort}`,
            logLevel: "p2p:debug,pex:debug,*:info",
            ...opts,
            config: { ...genesis, ...opts.config },
          });
          started.push(n);
          return n;
        } catch (e) {
          // freePort() closes its probe socket before cometbft binds: another process on this
          // shared machine may take the port in between. Fresh ports, bounded retries.
          if (attempt >= START_ATTEMPTS || !String(e).includes("address already in use")) throw e;
        }
      }
    };
    let ours: Node | undefined;
    await withTempDir(async (home) => {
      try {
        // V: the validator (first: its genesis is everyone's); S: a seed; W1 announced to S.
        const v = await go("go-validator");
        const s = await go("go-seed", { seedMode: true });
        const w1 = await go("go-w1", { seeds: [s.address] });
        await s.waitForLog(new RegExp(`Added peer.*${w1.id}`), WAIT_MS);

        // 1. Dial probe us → them.
        const out: string[] = [];
        const errs: string[] = [];
        const code = await runDial([v.address, "--chain-id", chainId], {
          out: (l) => out.push(l),
          err: (l) => errs.push(l),
        });
        assertEquals(code, 0, errs.join("\n"));
        const info = JSON.parse(out.join("\n"));
        assertEquals(info.id, v.id);
        assertEquals(info.version, b.reported);
        assertEquals(info.protocol_version.p2p, String(b.p2pProtocol));

        ours = await startOurs(home, chainId, s.address, v.address, setting);
        const n = ours;
        const watcher = n.sw.reactor("CONSENSUS") as ConsensusWatcher;
        const relay = n.sw.reactor("MEMPOOL") as TxRelay;

        // 2. We learn W1 from their seed.
        const w1Addr = NetAddress.parseNoLookup(w1.address);
        await eventually(
          "W1 learnt from the Go seed",
          () => when(n.addrBook.hasAddress(w1Addr)),
          POLL,
        );

        // 4. (start) The persistent connection to V.
        const vPeer = await eventually<Peer>(
          "V connected",
          () => Promise.resolve(n.sw.peers().get(v.id)),
          POLL,
        );

        // 3. W2's only seed is us: it dials us, gets addresses, dials V or W1 itself.
        const ourAddr = `${n.nodeKey.id}@127.0.0.1:${n.p2pAddr!.port}`;
        const w2 = await go("go-w2", { seeds: [ourAddr] });
        await w2.waitForLog(new RegExp(`Added peer.*${n.nodeKey.id}`), WAIT_MS);
        await eventually("W2 dialed V or W1 from our addresses", async () =>
          when(
            (await w2.netInfo()).peers.some((p) =>
              p.is_outbound && (p.node_info.id === v.id || p.node_info.id === w1.id)
            ),
          ), POLL);

        // 5. Heights observed.
        const h0 = await eventually("a height from V", () => {
          const h = watcher.peerState(v.id)?.height ?? 0n;
          return Promise.resolve(h > 0n ? h : undefined);
        }, POLL);
        await eventually(
          "V's height rising",
          () => when((watcher.peerState(v.id)?.height ?? 0n) > h0),
          POLL,
        );

        // 6. A tx through our relay, committed by the line's chain.
        const key = `line${b.line.replace(/\W/g, "")}`;
        relay.checkTx(new TextEncoder().encode(`${key}=ok`));
        assertEquals(await eventually("tx committed by V", () => kvQuery(v, key), POLL), "ok");

        // 4. (end) Two of our ping periods later: the very same peer, never stopped.
        await new Promise((r) => setTimeout(r, HOLD_MS));
        assert(n.sw.peers().get(v.id) === vPeer, "V's connection was never replaced");
        assert(vPeer.isRunning, "V's connection is still up");
        assert((await peerIds(v)).includes(n.nodeKey.id), "V lists us");
        assertEquals(goErrorStops(v, n.nodeKey.id), 0, "V stopped us for an error");
        assertEquals(watcher.invalidMessages, 0);
        if (setting !== undefined) {
          // Our own line's (or auto's) table knows every message the line sends.
          assertEquals(watcher.unknownMessages, 0, "consensus messages unknown to our line");
          const seen = (await v.netInfo()).peers.find((p) => p.node_info.id === n.nodeKey.id);
          const pv = (seen?.node_info as { protocol_version?: { p2p: string } } | undefined)
            ?.protocol_version;
          assertEquals(pv?.p2p, String(lineProfile(setting).p2pProtocol));
        }
        console.log(
          `${b.line}, ${label}: heights ${h0}..${watcher.peerState(v.id)?.height}, ` +
            `unknown consensus messages ignored: ${watcher.unknownMessages}`,
        );
      } finally {
        await ours?.stop();
        // Reverse order: nodes that borrowed V's genesis stop before V's home is removed.
        for (const g of started.reverse()) await g.stop();
      }
    }, "sy_lines_");
  });
}
