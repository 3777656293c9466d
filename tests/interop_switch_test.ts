/**
 * Switch / Peer / MConnection interop with a real CometBFT v0.38.25 node (kvstore, loopback):
 *
 * 1. The Go node has our switch in `persistent_peers`: it connects, both sides ping and pong
 *    across the 60 s interval while the connection stays up, `/net_info` lists our moniker and
 *    channels, and the Go node reconnects after we restart with the same key and port.
 * 2. Our switch has the Go node as a persistent peer: when the Go node is killed and restarted,
 *    we redial it, and the recorded dial attempts and pauses follow the reconnect schedule.
 *
 * Our node carries one reactor on the PEX channel (0x00, `tendermint.p2p.Message`) that answers
 * each `PexRequest` once with an empty `PexAddrs` and never sends anything else, and a passive
 * listener on the evidence channel (0x38), so the Go node has no reason to drop us. Every
 * reactor is wrapped in the grammar recorder; zero violations.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { freePort, interopTest, startCometbft } from "./interop/cometbft.ts";
import { assertGrammar, bytesChannel, makeNode, TestReactor } from "./util/p2p_harness.ts";
import type { LogFields, Logger } from "../libs/log.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { Peer } from "../p2p/peer.ts";
import { protoType } from "../p2p/proto.ts";
import type { InboundEnvelope, StreamDescriptor } from "../p2p/reactor.ts";
import { abortableSleep, type ReconnectSchedule, type Sleep } from "../p2p/reconnect.ts";

/** makeNode's NodeInfo network; the Go node's genesis uses the same chain id. */
const CHAIN_ID = "test-chain";
/** Go's MConnection ping interval is 60 s; we stay connected past one full round plus margin. */
const STAY_CONNECTED_MS = 65_000;
/** Upper bound on waiting for the 60 s pings (safety net, not a timing assertion). */
const PING_WAIT_MS = 90_000;

const PEX_MESSAGE = protoType("tendermint.p2p.Message");

/** PEX channel as CometBFT declares it (priority 1, queue 10, 64000-byte messages). */
const PEX_CHANNEL: StreamDescriptor = {
  id: 0x00,
  priority: 1,
  sendQueueCapacity: 10,
  recvMessageCapacity: 64_000,
  messageType: PEX_MESSAGE,
  unwrap: true,
};

/** Answers every PexRequest once with an empty PexAddrs; ignores everything else. */
class PexAnswerer extends TestReactor {
  requests = 0;
  answered = 0;
  failed = 0;
  readonly #sends = new Set<Promise<void>>();

  constructor() {
    super("PEX", [PEX_CHANNEL]);
  }

  override receive(env: InboundEnvelope): void {
    if (env.member !== "pex_request") return;
    this.requests++;
    const p = env.src.send({ channelId: 0x00, message: { pex_addrs: { addrs: [] } } }).then(
      (ok) => {
        if (ok) this.answered++;
        else this.failed++;
      },
    );
    this.#sends.add(p);
    p.finally(() => this.#sends.delete(p));
  }

  protected override async onStop(): Promise<void> {
    await Promise.all([...this.#sends]);
  }
}

/**
 * A passive reactor on the evidence channel (0x38): it never sends, and Go sends evidence only
 * when it has some (never here). `EvidenceList` is `repeated Evidence evidence = 1`, which the
 * BytesValue type of a test channel would also decode, so nothing Go could send stops the peer.
 * It gives us a channel in common with a Go node that runs without PEX.
 */
function evidenceListener(): TestReactor {
  return new TestReactor("EVIDENCE", [bytesChannel(0x38, 6)]);
}

/** One captured log line. */
interface LogLine {
  readonly level: "debug" | "info" | "error";
  readonly msg: string;
  readonly fields: LogFields;
  readonly t: number;
}

/** A logger that keeps every line (debug included), with `with` fields merged in. */
function captureLogger(lines: LogLine[], base: LogFields = {}): Logger {
  const push = (level: LogLine["level"]) => (msg: string, fields: LogFields = {}) =>
    void lines.push({ level, msg, fields: { ...base, ...fields }, t: performance.now() });
  return {
    debug: push("debug"),
    info: push("info"),
    error: push("error"),
    with: (fields) => captureLogger(lines, { ...base, ...fields }),
  };
}

/** Polls `cond` every 100 ms; throws after `ms` (a safety net for a broken run). */
async function pollUntil(cond: () => boolean | Promise<boolean>, what: string, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasLog(lines: LogLine[], msg: string, peer: string): boolean {
  return lines.some((l) => l.msg === msg && l.fields.peer === peer);
}

function onlyPeer(sw: { peers(): { list(): readonly Peer[] } }, id: string): Peer | undefined {
  return sw.peers().list().find((p) => p.id === id);
}

interopTest(
  "interop switch: Go node keeps us as a persistent peer through ping/pong and restart",
  async () => {
    const key = NodeKey.generate();
    const port = freePort();
    const lines: LogLine[] = [];
    const pexA = new PexAnswerer();
    const a = await makeNode({
      key,
      port,
      reactors: [pexA, evidenceListener()],
      switchOptions: { logger: captureLogger(lines) },
    });
    let b: Awaited<ReturnType<typeof makeNode>> | undefined;
    const go = await startCometbft({ chainId: CHAIN_ID, persistentPeers: [a.addr.toString()] });
    try {
      await pexA.until(() => pexA.added.length === 1, "the Go node to connect");
      const peer = pexA.added[0];
      const connectedAt = performance.now();
      assertEquals(peer.id, go.id);
      assert(!peer.isOutbound, "the Go node dialed us");
      assertEquals(peer.nodeInfo.network, CHAIN_ID);
      assertEquals(peer.nodeInfo.version, "0.38.25");

      // /net_info on the Go side lists us with our moniker and channels.
      const ni = await go.netInfo();
      const us = ni.peers.find((p) => p.node_info.id === key.id);
      assert(us !== undefined, `Go /net_info lists ${key.id}: ${JSON.stringify(ni.peers)}`);
      assertEquals(us.node_info.moniker, a.transport.nodeInfo.moniker);
      assertEquals(us.node_info.channels, "0038");
      assertEquals(us.node_info.network, CHAIN_ID);
      assertEquals(us.is_outbound, true);

      // Go pings every 60 s and we pong; we ping every 60 s and Go pongs.
      await pollUntil(
        () =>
          hasLog(lines, "Receive Ping", go.id) && hasLog(lines, "Send Pong", go.id) &&
          hasLog(lines, "Receive Pong", go.id),
        "a ping/pong round in both directions",
        PING_WAIT_MS,
      );
      const rest = STAY_CONNECTED_MS - (performance.now() - connectedAt);
      if (rest > 0) await sleep(rest);
      assert(peer.isRunning, "the Go peer is still running after 65 s");
      assertEquals(onlyPeer(a.sw, go.id), peer);
      assertEquals(pexA.removed.length, 0);
      const ni2 = await go.netInfo();
      assert(ni2.peers.some((p) => p.node_info.id === key.id), "still in Go /net_info");
      const st = a.sw.peers().get(go.id)!.status();
      assert(st.recvMonitor.bytes > 0 && st.sendMonitor.bytes > 0, "bytes flowed both ways");
      // The Go node asked for addresses (its book is empty) and got exactly one answer each.
      assert(pexA.requests >= 1, "the Go PEX reactor asked us for addresses");
      await pollUntil(() => pexA.answered === pexA.requests, "PEX answers", 10_000);
      assertEquals(pexA.failed, 0);
      assert(!lines.some((l) => l.msg === "Stopping peer for error"), "no peer error");

      // Restart: same key, same port. The Go node redials (its reconnect loop).
      await a.stop();
      assertGrammar(a);
      const pexB = new PexAnswerer();
      b = await makeNode({ key, port, reactors: [pexB, evidenceListener()] });
      await go.waitForLog(new RegExp(`Reconnecting to peer.*${key.id}`), 15_000);
      await pollUntil(() => pexB.added.length === 1, "the Go node to reconnect", 30_000);
      assertEquals(pexB.added[0].id, go.id);
      await pollUntil(
        async () => (await go.netInfo()).peers.some((p) => p.node_info.id === key.id),
        "us back in Go /net_info",
        10_000,
      );
    } finally {
      await a.stop();
      await b?.stop();
      await go.stop();
    }
    assertGrammar(a, b!);
  },
);

/** One recorded event of the redial test, in order. */
type RedialEvent =
  | { readonly kind: "loop"; readonly t: number }
  | { readonly kind: "sleep"; readonly t: number; readonly ms: number }
  | { readonly kind: "dial"; readonly t: number; ok?: boolean };

/** The bounds of the k-th pause (0-based) of one redial loop under schedule `s`. */
function expectedPause(s: ReconnectSchedule, k: number): [number, number] {
  const base = k < s.attempts ? s.intervalMs : Math.pow(s.backoffBase, k - s.attempts + 1) *
    s.backoffUnitMs;
  return [base, base + s.jitterMs];
}

/**
 * Checks the recorded events against the schedule: each loop dials at once, then alternates
 * pause → dial (two pauses at the phase boundary) with pauses inside the expected bounds, dials never earlier than the pause
 * before them allows, and at most attempts + backoffAttempts dials per loop. Returns the number
 * of failed dials seen inside loops.
 */
function checkSchedule(events: readonly RedialEvent[], s: ReconnectSchedule): number {
  let failed = 0;
  let loopSeen = false;
  let k = 0; // pauses so far in the current loop
  let dials = 0;
  let last: RedialEvent | undefined;
  let pause = 0;
  for (const ev of events) {
    if (ev.kind === "loop") {
      loopSeen = true;
      k = 0;
      dials = 0;
      pause = 0;
      last = ev;
      continue;
    }
    if (!loopSeen) continue; // the initial dial before any disconnect
    if (ev.kind === "sleep") {
      const [lo, hi] = expectedPause(s, k);
      assert(ev.ms >= lo && ev.ms < hi, `pause #${k} = ${ev.ms} ms, expected [${lo}, ${hi})`);
      // Go sleeps after every phase-1 failure and again before each back-off dial, so the
      // first back-off pause directly follows the last phase-1 pause.
      assertEquals(last?.kind, k === s.attempts ? "sleep" : "dial", `what precedes pause #${k}`);
      k++;
      pause = ev.ms;
    } else {
      if (dials === 0) assertEquals(last?.kind, "loop", "a loop dials at once");
      else {
        assertEquals(last?.kind, "sleep", "a redial follows a pause");
        // 2 ms slack: timers may round down by a millisecond.
        assert(
          ev.t - last!.t >= pause - 2,
          `redial ${ev.t - last!.t} ms after a ${pause} ms pause`,
        );
      }
      dials++;
      assert(dials <= s.attempts + s.backoffAttempts, "no more dials than the schedule allows");
      if (ev.ok === false) failed++;
    }
    last = ev;
  }
  return failed;
}

interopTest(
  "interop switch: we redial a killed and restarted Go persistent peer on schedule",
  async () => {
    const schedule: ReconnectSchedule = {
      attempts: 4,
      intervalMs: 300,
      jitterMs: 200,
      backoffAttempts: 10,
      backoffBase: 3,
      backoffUnitMs: 100,
    };
    const events: RedialEvent[] = [];
    const lines: LogLine[] = [];
    const logger = captureLogger(lines);
    const loopLogger: Logger = {
      ...logger,
      info(msg, fields) {
        if (msg === "Reconnecting to peer") events.push({ kind: "loop", t: performance.now() });
        logger.info(msg, fields);
      },
      with: (f) => logger.with(f),
    };
    const recordingSleep: Sleep = (ms, signal) => {
      if (ms > 0) events.push({ kind: "sleep", t: performance.now(), ms });
      return abortableSleep(ms, signal);
    };
    // Deterministic jitter source (xorshift), so a failure is reproducible.
    let x = 0x9e3779b9;
    const random = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };

    // PEX off on the Go side: its address book would remember us and dial us itself after the
    // restart, and this test is about our redial.
    const go = await startCometbft({ chainId: CHAIN_ID, pex: false });
    const pex = new PexAnswerer();
    const n = await makeNode({
      reactors: [pex, evidenceListener()],
      config: { reconnect: schedule, dialRandomizerMs: 0 },
      switchOptions: { logger: loopLogger, sleep: recordingSleep, random },
    });
    const dial = n.transport.dial.bind(n.transport);
    n.transport.dial = async (addr, opts) => {
      const ev: RedialEvent = { kind: "dial", t: performance.now() };
      events.push(ev);
      try {
        const c = await dial(addr, opts);
        ev.ok = true;
        return c;
      } catch (e) {
        ev.ok = false;
        throw e;
      }
    };
    try {
      const goAddr = NetAddress.parseNoLookup(go.address);
      await n.sw.addPersistentPeers([go.address]);
      await n.sw.dialPeersAsync([go.address]);
      await pex.until(() => pex.added.length === 1, "the first connection");
      const first = pex.added[0];
      assert(first.isOutbound && first.isPersistent, "outbound persistent peer");
      assert(n.sw.isPeerPersistent(goAddr));

      // SIGTERM (SIGKILL after 5 s), 2.5 s down (through phase 1 into the back-off), same home
      // and ports, start again.
      await go.restart({ downMs: 2_500 });
      // restart() returns once the new process answers RPC, so this is the new node's view.
      await pollUntil(
        async () => (await go.netInfo()).peers.some((p) => p.node_info.id === n.key.id),
        "the redial to reach the restarted Go node",
        60_000,
      );
      const again = onlyPeer(n.sw, go.id);
      assert(again !== undefined && again !== first && again.isRunning, "a new connection runs");
      assert(again.isOutbound && again.isPersistent);
      assert(!first.isRunning, "the old connection was stopped");
      assertEquals(pex.removed[0].peer, first);
      assertEquals(pex.removed[0].reason.kind, "connection_error");

      assert(events.some((e) => e.kind === "loop"), "a redial loop ran");
      const failed = checkSchedule(events, schedule);
      assert(failed >= 1, "the node was down for at least one redial");
      const lastDial = events.filter((e) => e.kind === "dial").at(-1);
      assertEquals(lastDial?.kind === "dial" && lastDial.ok, true, "the last dial connected");
      assert(!lines.some((l) => l.msg.includes("cooldown")), "no reactor-error cooldown");
    } finally {
      await n.stop();
      await go.stop();
    }
    assertGrammar(n);
  },
);
