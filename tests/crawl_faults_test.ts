/**
 * The crawler against honest nodes behind a fault-injection proxy (`util/faults.ts`): a stall,
 * a byte-by-byte trickle or a TCP reset at each phase of the connection (accept, ephemeral key,
 * auth signature, NodeInfo, the first packet after the handshake). Every probe ends within the
 * crawl's per-phase and answer deadlines with the right reason (`timeout` for stalls and
 * trickles inside the handshake, `bad_handshake` for resets, reached without a PEX answer after
 * the handshake), the crawl ends by itself, and the outputs stay valid. The other direction too:
 * a node whose handshake bytes trickle in (a reverse proxy) times out and frees its slot. Deno's test sanitizers
 * check that no socket, timer or unhandled rejection outlives it.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { crawl } from "../crawler/crawl.ts";
import { nodeLine } from "../crawler/summary.ts";
import { renderMapPage } from "../crawler/html.ts";
import type { CrawlNode, FailureReason } from "../crawler/types.ts";
import { type CrawlTestNode, startCrawlNode, stopCrawlNodes } from "./util/crawl_net.ts";
import { type Fault, type FaultProxy, type Phase, startFaultProxy } from "./util/faults.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";

const CHAIN = "crawl-faults";
/** Per-phase handshake deadline of these crawls. */
const HANDSHAKE_MS = 1_000;
/** PexAddrs wait of these crawls. */
const ANSWER_MS = 1_500;

/** What a probe through a fault may end as. */
type Outcome = FailureReason | "reached_no_answer";

/**
 * Expected outcomes per fault and phase. Where the target's own NodeInfo may cross the fault
 * point (both sides write it at once), either outcome is right; nothing else is.
 */
const EXPECTED: Record<"stall" | "trickle" | "rst", Partial<Record<Phase, Outcome[]>>> = {
  stall: {
    accept: ["timeout"],
    ephemeral_key: ["timeout"],
    auth_sig: ["timeout"],
    node_info: ["timeout", "reached_no_answer"],
    first_packet: ["reached_no_answer"],
  },
  // Our bytes arrive 50 ms apart: a 35-byte key or 1044-byte frame outlasts the 1 s phase
  // deadline. Their NodeInfo comes unhindered once their SecretConnection is complete.
  trickle: {
    accept: ["timeout"],
    ephemeral_key: ["timeout"],
    auth_sig: ["timeout"],
    node_info: ["reached_no_answer"],
    first_packet: ["reached_no_answer"],
  },
  rst: {
    accept: ["bad_handshake"],
    ephemeral_key: ["bad_handshake"],
    auth_sig: ["bad_handshake"],
    node_info: ["bad_handshake", "reached_no_answer"],
    first_packet: ["reached_no_answer"],
  },
};

function outcome(n: CrawlNode): Outcome | "reached_with_answer" {
  if (n.reachable) return n.pexAddrs === undefined ? "reached_no_answer" : "reached_with_answer";
  return n.failure!;
}

Deno.test("crawl faults: stall, trickle and reset at every phase end in the right reason", async () => {
  const cases: { fault: Fault; at: Phase; node: CrawlTestNode; proxy: FaultProxy }[] = [];
  const nodes: CrawlTestNode[] = [];
  const proxies: FaultProxy[] = [];
  try {
    let i = 0;
    for (const fault of ["stall", "trickle", "rst"] as const) {
      for (const at of Object.keys(EXPECTED[fault]) as Phase[]) {
        i++;
        const node = await startCrawlNode({ host: `127.0.6.${i}`, network: CHAIN, moniker: "n" });
        nodes.push(node);
        const proxy = await startFaultProxy({
          target: { hostname: node.addr.ip, port: node.addr.port },
          fault,
          at,
          holdMs: 10_000,
        });
        proxies.push(proxy);
        cases.push({ fault, at, node, proxy });
      }
    }
    // A control: the same kind of node without a proxy answers with its (empty) book.
    const control = await startCrawlNode({ host: "127.0.6.100", network: CHAIN, moniker: "c" });
    nodes.push(control);
    const seeds = cases.map((c) =>
      NetAddress.fromIPPort(c.proxy.hostname, c.proxy.port, c.node.key.id)
    );
    const r = await crawl({
      seeds: [...seeds, control.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      concurrency: 16,
      handshakeTimeoutMs: HANDSHAKE_MS,
      answerTimeoutMs: ANSWER_MS,
      maxTimeMs: 60_000,
    });
    assertEquals(r.end, "complete", "the crawl ends by itself");
    const byId = new Map(r.nodes.map((n) => [n.id, n]));
    assertEquals(outcome(byId.get(control.key.id)!), "reached_with_answer");
    const wrong: string[] = [];
    for (const c of cases) {
      const n = byId.get(c.node.key.id)!;
      const got = outcome(n);
      const want = EXPECTED[c.fault as "stall"][c.at]!;
      if (!(want as string[]).includes(got)) {
        wrong.push(`${c.fault}@${c.at}: ${got} (${n.addrs[0].error ?? ""}), want ${want}`);
      }
      if (got === "reached_no_answer") {
        assert(n.pexError !== undefined, `${c.fault}@${c.at}: the missing answer is explained`);
        assertEquals(JSON.parse(nodeLine(n)).pex_error, n.pexError);
      }
      assert(c.proxy.connections.length === 1, `${c.fault}@${c.at}: one connection`);
      assert(c.proxy.connections[0].triggered, `${c.fault}@${c.at}: the fault fired`);
    }
    assertEquals(wrong, []);
    for (const n of r.nodes) JSON.parse(nodeLine(n));
    assert(renderMapPage(r).includes(`"found":${r.nodes.length}`));
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
    await stopCrawlNodes(nodes);
  }
});

/**
 * A proxy on 127.0.0.1 that passes the crawler's bytes at once but the node's answers one byte
 * every `intervalMs` (the fault proxy trickles the other direction): a peer that holds a crawler
 * slot by sending just enough to look alive. Closed by `close`, which ends both pumps.
 */
function answerTrickleProxy(
  target: NetAddress,
  intervalMs: number,
): { port: number; close(): Promise<void> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const socks = new Set<Deno.Conn>();
  const pumps: Promise<void>[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn, slow: boolean) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        for (let i = 0; i < n; i += slow ? 1 : n) {
          if (slow) await new Promise((r) => setTimeout(r, intervalMs));
          await to.write(buf.subarray(i, slow ? i + 1 : n));
        }
      }
    } catch {
      // Either side closed: the other is closed below.
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  };
  const loop = (async () => {
    for await (const c of l) {
      socks.add(c);
      try {
        const t = await Deno.connect({ hostname: target.ip, port: target.port });
        socks.add(t);
        pumps.push(pump(c, t, false), pump(t, c, true));
      } catch {
        closeQuietly(c);
      }
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    close: async () => {
      closeQuietly(l);
      for (const s of socks) closeQuietly(s);
      await loop;
      await Promise.all(pumps);
    },
  };
}

Deno.test("crawl faults: a node trickling its handshake bytes times out and frees the slot", async () => {
  const slow = await startCrawlNode({ host: "127.0.6.101", network: CHAIN, moniker: "slow" });
  const ok = await startCrawlNode({ host: "127.0.6.102", network: CHAIN, moniker: "ok" });
  // 20 ms a byte: the 35-byte key arrives within the phase deadline, the 1044-byte sealed auth
  // frame (about 21 s) cannot.
  const proxy = answerTrickleProxy(slow.addr, 20);
  try {
    const r = await crawl({
      seeds: [NetAddress.fromIPPort("127.0.0.1", proxy.port, slow.key.id), ok.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      concurrency: 1,
      handshakeTimeoutMs: HANDSHAKE_MS,
      answerTimeoutMs: ANSWER_MS,
      maxTimeMs: 60_000,
    });
    assertEquals(r.end, "complete");
    const byId = new Map(r.nodes.map((n) => [n.id, n]));
    const s = byId.get(slow.key.id)!;
    assertEquals(s.failure, "timeout", s.addrs[0].error);
    assert(/within|timed out/.test(s.addrs[0].error ?? ""), s.addrs[0].error);
    assert(byId.get(ok.key.id)?.reachable, "the next probe in the one slot ran");
  } finally {
    await proxy.close();
    await stopCrawlNodes([slow, ok]);
  }
});
