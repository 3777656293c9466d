import { assert, assertEquals, assertRejects, assertStringIncludes } from "./util/assert.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { makeTransport } from "./util/transport_harness.ts";
import { type AcceptResult, ConnRejectedError, type Transport } from "../p2p/transport.ts";
import { DialFailedError, HandshakeError } from "../p2p/errors.ts";
import { waitFor } from "./util/p2p_harness.ts";

async function nextResult(t: Transport): Promise<AcceptResult> {
  const r = await t.accept();
  assert(r !== null, "transport closed unexpectedly");
  return r;
}

Deno.test("transport: dial + accept yield upgraded connections with the right addresses", async () => {
  const a = makeTransport();
  const b = makeTransport({}, false);
  try {
    const out = await b.t.dial(a.addr);
    const r = await nextResult(a.t);
    assert(r.ok);
    assertEquals(r.conn.nodeInfo.id, b.key.id);
    assertEquals(r.conn.outbound, false);
    assertEquals(r.conn.socketAddr.id, b.key.id);
    assertEquals(r.conn.socketAddr.port, r.conn.remoteAddr.port);
    assertEquals(out.outbound, true);
    assertEquals(out.socketAddr.toString(), a.addr.toString());
    assertEquals(out.nodeInfo.id, a.key.id);
    assertEquals(a.t.numConnections, 1);
    assertEquals(b.t.numConnections, 1);
    r.conn.close();
    out.close();
    assertEquals(a.t.numConnections, 0);
    assertEquals(b.t.numConnections, 0);
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

Deno.test("transport: at the pending-handshake cap, a silent handshake gives its slot to a new connection", async () => {
  const a = makeTransport({ handshakeTimeoutMs: 300, maxPendingHandshakes: 1 });
  const b = makeTransport({}, false);
  // A raw socket that never speaks: its handshake stalls until the 300 ms deadline.
  const stall = await Deno.connect({ hostname: "127.0.0.1", port: a.addr.port });
  try {
    await waitFor(() => a.t.numPendingHandshakes === 1, "stalled handshake pending");
    const dialed = b.t.dial(a.addr); // takes the slot of the silent one (shed) once accepted
    const first = await nextResult(a.t);
    assert(!first.ok);
    assert(first.error instanceof HandshakeError, String(first.error));
    const second = await nextResult(a.t);
    assert(second.ok);
    (await dialed).close();
    second.conn.close();
  } finally {
    stall.close();
    await a.t.close();
    await b.t.close();
  }
});

Deno.test("transport: without a pending cap, a stalled handshake does not delay a good one", async () => {
  const a = makeTransport({ handshakeTimeoutMs: 2000 });
  const b = makeTransport({}, false);
  const stall = await Deno.connect({ hostname: "127.0.0.1", port: a.addr.port });
  try {
    const out = await b.t.dial(a.addr);
    const r = await nextResult(a.t);
    assert(r.ok, "the good connection is delivered first");
    r.conn.close();
    out.close();
  } finally {
    stall.close();
    await a.t.close();
    await b.t.close();
  }
});

Deno.test("transport: listener cap holds extra connections in the backlog", async () => {
  const a = makeTransport({ maxIncomingConnections: 1 });
  const b = makeTransport({}, false);
  const c = makeTransport({}, false);
  const e = makeTransport({ handshakeTimeoutMs: 300 }, false);
  try {
    const first = await b.t.dial(a.addr);
    const r = await nextResult(a.t);
    assert(r.ok);
    assertEquals(a.t.numOpenInbound, 1);
    // The second socket is connected by the kernel but never accepted: its handshake times out.
    // (A second dial from b itself would be refused as "duplicate CONN", as in Go.)
    await assertRejects(() => e.t.dial(a.addr), HandshakeError);
    // Closing the first frees the slot; a new dial now goes through.
    r.conn.close();
    first.close();
    const third = await c.t.dial(a.addr);
    let res = await nextResult(a.t);
    while (!res.ok) res = await nextResult(a.t); // the dead backlog socket fails its handshake
    third.close();
    res.conn.close();
  } finally {
    await a.t.close();
    await b.t.close();
    await c.t.close();
    await e.t.close();
  }
});

Deno.test("transport: duplicate IP and deny-list filters reject before the handshake", async () => {
  const a = makeTransport({ allowDuplicateIP: false });
  const b = makeTransport({}, false);
  const c = makeTransport({}, false);
  const d = makeTransport({
    connFilter: (ip, port) => ip === "127.0.0.1" ? `denied ${port}` : undefined,
  });
  try {
    const ok = await b.t.dial(a.addr);
    const r1 = await nextResult(a.t);
    assert(r1.ok);
    await assertRejects(() => c.t.dial(a.addr));
    const r2 = await nextResult(a.t);
    assert(!r2.ok && r2.error instanceof ConnRejectedError);
    assertEquals(r2.error.reason, "duplicate_ip");
    assertStringIncludes(r2.error.message, "filtered CONN<127.0.0.1:");
    assertEquals(a.t.numConnections, 1);
    ok.close();
    r1.conn.close();

    await assertRejects(() => b.t.dial(d.addr));
    const r3 = await nextResult(d.t);
    assert(!r3.ok && r3.error instanceof ConnRejectedError);
    assertEquals(r3.error.reason, "denied");
    assertEquals(d.t.numConnections, 0);
  } finally {
    await a.t.close();
    await b.t.close();
    await c.t.close();
    await d.t.close();
  }
});

Deno.test("transport: dialing a closed port fails fast; a wrong ID fails the handshake", async () => {
  const a = makeTransport();
  const b = makeTransport({}, false);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = l.addr.port;
  l.close();
  try {
    await assertRejects(
      () => b.t.dial(NetAddress.fromIPPort("127.0.0.1", closedPort, a.key.id)),
      DialFailedError,
    );
    const wrong = NetAddress.fromIPPort("127.0.0.1", a.addr.port, NodeKey.generate().id);
    await assertRejects(() => b.t.dial(wrong));
    const r = await nextResult(a.t);
    assert(!r.ok);
    assertEquals(b.t.numConnections, 0);
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

Deno.test("transport: close ends the accept loop and closes undelivered connections", async () => {
  const a = makeTransport();
  const b = makeTransport({}, false);
  const out = await b.t.dial(a.addr);
  await waitFor(() => a.t.numPendingHandshakes === 0, "inbound upgrade finished");
  assertEquals(a.t.numConnections, 1);
  await a.t.close(); // the inbound result was never taken: closed by close()
  assertEquals(await a.t.accept(), null);
  assertEquals(a.t.state.code, "closed");
  assertEquals(a.t.numConnections, 0);
  out.close();
  await b.t.close();
});
