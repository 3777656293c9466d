/**
 * RPC connection limits (issue 9 item 4), on a daemon started with `rpc.read_timeout = 2s`
 * and `rpc.max_open_connections = 150`: 100 slowloris clients (headers trickled a byte at a
 * time) are all closed by the server; a request declaring a 50 MB body and sending 1 MB gets
 * 413 at once and its socket closed; with 150 connections open the 151st gets 503 and is
 * closed; `/health` answers throughout. Every wait is bounded; nothing asserts on time.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type Daemon, spawnDaemon } from "./util/daemon.ts";
import { rawConnect, rawHttp, waitClosed, writeQuietly } from "./util/hostile.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";

const MAX_OPEN = 150;

async function assertHealthy(d: Daemon): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${d.rpcPort}/health`);
  assertEquals(r.status, 200);
  assertEquals((await r.json()).result, {});
  assert(!d.hasExited, "daemon still running");
}

/** Sends a request head one byte every 200 ms until the server closes the socket (bounded). */
async function slowloris(port: number): Promise<"closed"> {
  const conn = await rawConnect(port);
  const head = new TextEncoder().encode(
    "GET /health HTTP/1.1\r\nHost: x\r\n" + "X-Slow: " + "a".repeat(200) + "\r\n",
  );
  const closed = waitClosed(conn, 15_000);
  let open = true;
  closed.finally(() => (open = false));
  for (let i = 0; i < head.length && open; i++) {
    if (!(await writeQuietly(conn, head.subarray(i, i + 1)))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await closed; // throws if the server never closed it
  closeQuietly(conn);
  return "closed";
}

Deno.test("RPC limits: slowloris closed, oversized declared body 413, max_open_connections", async (t) => {
  await withTempDir(async (dir) => {
    const d = await spawnDaemon(`${dir}/home`, {
      flags: ["--rpc.read_timeout", "2s", "--rpc.max_open_connections", String(MAX_OPEN)],
    });
    try {
      await t.step("100 slowloris connections are closed by the server", async () => {
        const all = Array.from({ length: 100 }, () => slowloris(d.rpcPort));
        await assertHealthy(d);
        const outcomes = await Promise.all(all);
        assertEquals(outcomes.filter((o) => o === "closed").length, 100);
        await assertHealthy(d);
      });

      await t.step("a declared 50 MB body, 1 MB sent: 413 and the socket closed", async () => {
        const head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          "Content-Length: 50000000\r\n\r\n";
        const req = new Uint8Array(head.length + 1_000_000);
        req.set(new TextEncoder().encode(head));
        req.fill(0x5b, head.length); // "[[[[..."
        const r = await rawHttp(d.rpcPort, req, 10_000);
        assertEquals(r.status, 413, r.text);
        assertEquals(JSON.parse(r.text).error.code, -32600);
        // And the server closes the socket (EOF or reset), not waiting for the other 49 MB.
        const conn = await rawConnect(d.rpcPort);
        const closed = waitClosed(conn, 10_000);
        await writeQuietly(conn, req);
        await closed;
        closeQuietly(conn);
        await assertHealthy(d);
      });

      await t.step(
        `past ${MAX_OPEN} open connections a new one gets 503 and is closed`,
        async () => {
          const held: Deno.Conn[] = [];
          try {
            for (let i = 0; i < MAX_OPEN; i++) held.push(await rawConnect(d.rpcPort));
            // The server counts a connection once it accepted it: give it a moment to get there.
            let r = { status: 0, text: "" };
            for (let i = 0; i < 20 && r.status !== 503; i++) {
              r = await rawHttp(d.rpcPort, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 5_000);
            }
            assertEquals(r.status, 503, r.text);
          } finally {
            for (const c of held) closeQuietly(c);
          }
          await assertHealthy(d);
        },
      );
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});
