/**
 * Hostile input on the daemon's RPC port (`rpc.unsafe` on, so the routes with parameters are
 * served; `rpc.max_body_bytes` lowered to 100 kB). Each request gets a JSON-RPC error or a 4xx,
 * never a crash and never a hang, and `/health` answers after every step. Requests that `fetch`
 * cannot make (a lying Content-Length, bytes that are not UTF-8, half-sent headers) go over raw
 * sockets (tests/util/hostile.ts).
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type Daemon, spawnDaemon } from "./util/daemon.ts";
import { rawConnect, rawHttp, writeQuietly } from "./util/hostile.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";

const MAX_BODY = 100_000;

interface RpcReply {
  status: number;
  json:
    & { error?: { code: number; message: string; data?: string }; result?: unknown }
    & Record<
      string,
      unknown
    >;
}

async function post(d: Daemon, body: BodyInit): Promise<RpcReply> {
  const r = await fetch(`http://127.0.0.1:${d.rpcPort}/`, { method: "POST", body });
  const text = await r.text();
  return { status: r.status, json: text === "" ? {} : JSON.parse(text) };
}

async function assertHealthy(d: Daemon): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${d.rpcPort}/health`);
  assertEquals(r.status, 200);
  assertEquals((await r.json()).result, {});
  assert(!d.hasExited, "daemon still running");
}

Deno.test("RPC port: hostile requests get JSON-RPC errors or 4xx; /health keeps answering", async (t) => {
  await withTempDir(async (dir) => {
    const d = await spawnDaemon(`${dir}/home`, {
      flags: ["--rpc.unsafe", "--rpc.max_body_bytes", String(MAX_BODY)],
    });
    try {
      await t.step("malformed JSON", async () => {
        for (const body of ["{not json", '{"id":1,"method":', "[", "\u0000", '"str"']) {
          const r = await post(d, body);
          assertEquals(r.json.error?.code, -32700, body);
        }
        await assertHealthy(d);
      });

      await t.step("a body over max_body_bytes", async () => {
        const big = JSON.stringify({
          id: 1,
          method: "health",
          params: { x: "a".repeat(MAX_BODY) },
        });
        const r = await post(d, big);
        assertEquals(r.status, 413); // declared by Content-Length: refused unread
        assertEquals(r.json.error?.code, -32600);
        await assertHealthy(d);
      });

      await t.step("a declared body of 1 GB is refused without waiting for it", async () => {
        const r = await rawHttp(
          d.rpcPort,
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            "Content-Length: 1000000000\r\nConnection: close\r\n\r\n{",
        );
        assertEquals(r.status, 413, r.text);
        assertEquals(JSON.parse(r.text).error.code, -32600);
        await assertHealthy(d);
      });

      await t.step("a chunked body that never ends is cut off at max_body_bytes", async () => {
        let sent = 0;
        const chunk = new TextEncoder().encode("[".repeat(16 * 1024));
        const stream = new ReadableStream<Uint8Array>({
          pull(c) {
            // Far past the limit, then stop (a bound for the test if the server never answers).
            if (sent > 200 * MAX_BODY) c.close();
            else {
              sent += chunk.length;
              c.enqueue(chunk);
            }
          },
        });
        const r = await post(d, stream);
        assertEquals(r.status, 400);
        assertEquals(r.json.error?.code, -32600);
        assert(sent < 200 * MAX_BODY, `the server read the whole ${sent}-byte body`);
        await assertHealthy(d);
      });

      await t.step("deeply nested JSON", async () => {
        const depth = 15_000; // within max_body_bytes for the object form
        const arrays = "[".repeat(depth) + "]".repeat(depth);
        const r1 = await post(d, arrays);
        assert(r1.json.error !== undefined, JSON.stringify(r1.json).slice(0, 200));
        const params = '{"seeds":' + "[".repeat(depth) + "]".repeat(depth) + "}";
        const r2 = await post(
          d,
          `{"jsonrpc":"2.0","id":1,"method":"dial_seeds","params":${params}}`,
        );
        assertEquals(r2.json.error?.code, -32602);
        const r3 = await post(d, `{"jsonrpc":"2.0","id":${arrays},"method":"health"}`);
        assert(r3.json.error !== undefined);
        await assertHealthy(d);
      });

      await t.step("a batch of 1,000", async () => {
        const batch = Array.from(
          { length: 1000 },
          (_, i) => ({ jsonrpc: "2.0", id: i, method: "health" }),
        );
        const r = await post(d, JSON.stringify(batch));
        assertEquals(r.json.error?.code, -32600);
        assertStringIncludes(JSON.stringify(r.json.error), "batch");
        await assertHealthy(d);
      });

      await t.step("wrong param types", async () => {
        for (
          const params of [
            { seeds: 5 },
            { seeds: [1, 2] },
            { seeds: "not-a-list" },
            { peers: {}, persistent: "yes" },
            [1, 2, 3, 4, 5, 6],
            "params",
          ]
        ) {
          const method = typeof params === "object" && "seeds" in params
            ? "dial_seeds"
            : "dial_peers";
          const r = await post(d, JSON.stringify({ jsonrpc: "2.0", id: 7, method, params }));
          assert(
            r.json.error?.code === -32602 || r.json.error?.code === -32603,
            `${method} ${JSON.stringify(params)}: ${JSON.stringify(r.json)}`,
          );
        }
        const uri = await fetch(`http://127.0.0.1:${d.rpcPort}/dial_peers?persistent=maybe`);
        assert(uri.status >= 400, String(uri.status));
        assert((await uri.json()).error.code < 0);
        await assertHealthy(d);
      });

      await t.step("unknown methods", async () => {
        for (const method of ["nope", "", "__proto__", "constructor", "toString", 42, null]) {
          const r = await post(d, JSON.stringify({ jsonrpc: "2.0", id: 1, method }));
          assertEquals(r.json.error?.code, -32601, String(method));
        }
        for (const path of ["/nope", "/__proto__", "/constructor", "/%ff%fe"]) {
          const r = await fetch(`http://127.0.0.1:${d.rpcPort}${path}`);
          await r.body?.cancel();
          assertEquals(r.status, 404, path);
        }
        await assertHealthy(d);
      });

      await t.step("bytes that are not UTF-8", async () => {
        const junk = Uint8Array.of(0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d); // {<invalid>}
        const r = await post(d, junk);
        assertEquals(r.json.error?.code, -32700);
        const inString = new Uint8Array([
          ...new TextEncoder().encode('{"jsonrpc":"2.0","id":"'),
          0xff,
          0xc0,
          ...new TextEncoder().encode('","method":"health"}'),
        ]);
        const r2 = await post(d, inString);
        assert(r2.status === 200 && r2.json.result !== undefined, JSON.stringify(r2.json));
        const raw = await rawHttp(
          d.rpcPort,
          new Uint8Array([
            ...new TextEncoder().encode("GET /health?x="),
            0xff,
            0xfe,
            ...new TextEncoder().encode(" HTTP/1.1\r\nHost: \xff\r\nConnection: close\r\n\r\n"),
          ]),
        );
        assert(raw.status === 200 || (raw.status >= 400 && raw.status < 500), String(raw.status));
        await assertHealthy(d);
      });

      await t.step("slowloris: 300 connections holding half-sent requests", async () => {
        const conns = await Promise.all(
          Array.from({ length: 300 }, () => rawConnect(d.rpcPort)),
        );
        try {
          await Promise.all(conns.map((c, i) =>
            writeQuietly(
              c,
              new TextEncoder().encode(
                i % 2 === 0
                  ? "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
                  : "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
              ),
            )
          ));
          // While all of them hang, fresh clients are served.
          for (let i = 0; i < 5; i++) await assertHealthy(d);
          const r = await post(d, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "status" }));
          assert(r.json.result !== undefined);
        } finally {
          for (const c of conns) closeQuietly(c);
        }
        await assertHealthy(d);
      });
    } finally {
      assertEquals(await d.stop("SIGTERM"), 0, d.output);
    }
    assert(!/panicked|Uncaught/.test(d.output), d.output);
  });
});
