/**
 * The transport's accept loop and handshake admission under hostile clients (issue 9): a reset
 * before the first read must not end the accept loop, and partial handshakes that stall must
 * not keep honest peers out. The hostile sockets come from tests/util/socket_clients.py
 * (python3: SO_LINGER 0 and source addresses 127.1.x.y). Bounded; nothing asserts on time.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { makeTransport } from "./util/transport_harness.ts";
import {
  type AcceptResult,
  ConnRejectedError,
  HandshakeShedError,
  type Transport,
} from "../p2p/transport.ts";
import { rstConnects, startStalls } from "./util/socket_clients.ts";
import { spawnDaemon } from "./util/daemon.ts";
import { handshakePeer } from "./util/hostile.ts";
import { withTempDir } from "./util/temp_dir.ts";

/** Takes every accept result until the transport closes; closes upgraded connections. */
function drain(t: Transport, into: AcceptResult[]): Promise<void> {
  return (async () => {
    for (;;) {
      const r = await t.accept();
      if (r === null) return;
      into.push(r);
      if (r.ok) r.conn.close();
    }
  })();
}

Deno.test("transport: connections reset before the first read do not end the accept loop", async () => {
  const a = makeTransport();
  const b = makeTransport({}, false);
  const results: AcceptResult[] = [];
  const draining = drain(a.t, results);
  try {
    const rep = await rstConnects(a.addr.port, 20);
    assertEquals(rep.connected, 20);
    for (let i = 0; i < 3; i++) {
      const out = await b.t.dial(a.addr);
      assertEquals(out.nodeInfo.id, a.key.id);
      out.close();
    }
    assertEquals(a.t.state.code, "listening");
  } finally {
    await a.t.close();
    await b.t.close();
    await draining;
  }
});

Deno.test("transport: 1,000 partial handshakes from 127.1.x.y that stall do not keep 10 honest peers out", async () => {
  const a = makeTransport();
  const b = makeTransport({}, false);
  const results: AcceptResult[] = [];
  const draining = drain(a.t, results);
  const stalls = await startStalls({
    port: a.addr.port,
    count: 1000,
    minBytes: 1,
    maxBytes: 20,
    holdSeconds: 60,
  });
  try {
    assert(stalls.report.connected > 900, `stalls connected: ${JSON.stringify(stalls.report)}`);
    let ok = 0;
    const failures: string[] = [];
    const tookMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const t0 = performance.now();
        const out = await b.t.dial(a.addr);
        tookMs.push(Math.round(performance.now() - t0));
        out.close();
        ok++;
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    assertEquals(ok, 10, `honest handshakes failed: ${failures.join("; ")}`);
    console.log(`honest handshakes under 1,000 stalls took ${tookMs.join(", ")} ms`);
  } finally {
    await stalls.close();
    await a.t.close();
    await b.t.close();
    await draining;
  }
});

Deno.test("transport: one IP gets at most maxPendingHandshakesPerIP handshakes; its stalled ones make way", async () => {
  const a = makeTransport({ maxPendingHandshakesPerIP: 2 });
  const b = makeTransport({}, false);
  const results: AcceptResult[] = [];
  const draining = drain(a.t, results);
  const stalls = await startStalls({ port: a.addr.port, count: 6, spread: false, holdSeconds: 20 });
  try {
    assertEquals(stalls.report.connected, 6);
    // Each stall past the first two either took the place of its IP's stalest handshake (once
    // that was past the phase budget) or, if none was by then, was refused.
    const dropped = await waitFor(() => {
      const r = results.filter((r) =>
        !r.ok && (r.error instanceof HandshakeShedError ||
          (r.error instanceof ConnRejectedError && r.error.reason === "pending_per_ip"))
      );
      return r.length === 4 ? r : undefined;
    });
    for (const r of dropped) assert(!r.ok && r.remoteAddr.hostname === "127.0.0.1");
    assert(dropped.some((r) => !r.ok && r.error instanceof HandshakeShedError));
    assertEquals(a.t.numPendingHandshakes, 2);
    // A newcomer from the same IP is not refused: a stalled handshake makes way for it too.
    const out = await b.t.dial(a.addr);
    out.close();
  } finally {
    await stalls.close();
    await a.t.close();
    await b.t.close();
    await draining;
  }
});

async function waitFor<T>(fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("daemon: 1,000 partial handshakes from 127.1.x.y that stall, 10 of 10 honest handshakes from 127.0.0.1 complete", async () => {
  await withTempDir(async (dir) => {
    const d = await spawnDaemon(`${dir}/home`);
    try {
      const st = await d.rpc.call("status") as { node_info: { id: string; network: string } };
      const stalls = await startStalls({
        port: d.p2pPort,
        count: 1000,
        minBytes: 1,
        maxBytes: 20,
        holdSeconds: 60,
      });
      try {
        assert(stalls.report.connected > 900, `stalls: ${JSON.stringify(stalls.report)}`);
        const failures: string[] = [];
        for (let i = 0; i < 10; i++) {
          try {
            const p = await handshakePeer(d.p2pPort, { network: st.node_info.network });
            assertEquals(p.theirs?.id, st.node_info.id);
            p.close();
          } catch (e) {
            failures.push((e as Error).message);
          }
        }
        assertEquals(failures, [], "every honest handshake completes");
        assertEquals(await d.rpc.call("health"), {});
      } finally {
        await stalls.close();
      }
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});
