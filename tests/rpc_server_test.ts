import { assertEquals, assertStringIncludes } from "./util/assert.ts";
import { RPCServer } from "../rpc/server.ts";
import type { Route } from "../rpc/types.ts";

const routes: Route[] = [
  { name: "health", params: [], handler: () => ({}) },
  {
    name: "echo",
    params: [
      { name: "s", type: "string" },
      { name: "b", type: "bytes" },
      { name: "h", type: "int64" },
      { name: "flag", type: "bool" },
      { name: "list", type: "string[]" },
    ],
    handler: (a) => ({
      s: a.s,
      b: new TextDecoder().decode(a.b as Uint8Array),
      h: (a.h as bigint).toString(),
      flag: a.flag,
      list: a.list,
    }),
  },
  {
    name: "fail",
    params: [],
    handler: () => {
      throw new Error("no seeds provided");
    },
  },
  {
    name: "dial_peers",
    params: [{ name: "peers", type: "string[]" }],
    unsafe: true,
    handler: () => ({}),
  },
];

function server(unsafe = false): RPCServer {
  return new RPCServer({ laddr: "tcp://127.0.0.1:0", routes, unsafe });
}

async function post(s: RPCServer, body: string) {
  const res = await s.handle(new Request("http://x/", { method: "POST", body }));
  return { status: res.status, text: await res.text() };
}

async function get(s: RPCServer, path: string) {
  const res = await s.handle(new Request("http://x" + path));
  return { status: res.status, text: await res.text() };
}

Deno.test("JSON-RPC by name and by position", async () => {
  const s = server();
  const named = await post(
    s,
    JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "echo",
      params: { s: "a<b", b: btoa("hi"), h: "12345678901", flag: true, list: ["x"] },
    }),
  );
  assertEquals(named.status, 200);
  assertEquals(
    named.text,
    '{"jsonrpc":"2.0","id":7,"result":{"s":"a\\u003cb","b":"hi","h":"12345678901","flag":true,"list":["x"]}}',
  );
  const pos = await post(
    s,
    JSON.stringify({ id: "q", method: "echo", params: ["s", btoa("x"), "5", false, []] }),
  );
  assertEquals(JSON.parse(pos.text).result.h, "5");
  const wrongCount = await post(s, JSON.stringify({ id: 1, method: "echo", params: ["s"] }));
  assertEquals(JSON.parse(wrongCount.text).error.code, -32602);
});

Deno.test("64-bit integers must be strings in JSON-RPC", async () => {
  const r = await post(s(), JSON.stringify({ id: 1, method: "echo", params: { h: 5 } }));
  const e = JSON.parse(r.text).error;
  assertEquals(e.code, -32602);
  assertStringIncludes(e.data, "invalid 64-bit integer encoding");
  function s() {
    return server();
  }
});

Deno.test("URI form: quoted strings, hex, ints, bools, arrays", async () => {
  const s = server();
  const r = await get(
    s,
    '/echo?s="hello"&b=0x6869&h=42&flag=true&list=' + encodeURIComponent('["a","b"]'),
  );
  assertEquals(r.status, 200);
  assertEquals(JSON.parse(r.text), {
    jsonrpc: "2.0",
    id: -1,
    result: { s: "hello", b: "hi", h: "42", flag: true, list: ["a", "b"] },
  });
  const bad = await get(s, "/echo?flag=1x");
  assertEquals(bad.status, 500);
  assertEquals(JSON.parse(bad.text).error.code, -32602);
  const hexForBool = await get(s, "/echo?flag=0x01");
  assertEquals(JSON.parse(hexForBool.text).error.code, -32602);
});

Deno.test("handler errors are -32603 with the text as data", async () => {
  const s = server();
  const j = await post(s, JSON.stringify({ id: 1, method: "fail" }));
  assertEquals(JSON.parse(j.text).error, {
    code: -32603,
    message: "Internal error",
    data: "no seeds provided",
  });
  const u = await get(s, "/fail");
  assertEquals(u.status, 500);
  assertEquals(JSON.parse(u.text).error.data, "no seeds provided");
});

Deno.test("malformed requests never crash: parse error, bad id, unknown method", async () => {
  const s = server();
  const parse = await post(s, "{not json");
  assertEquals(parse.status, 500);
  assertEquals(JSON.parse(parse.text).error.code, -32700);
  const badId = await post(s, JSON.stringify({ id: { x: 1 }, method: "health" }));
  assertEquals(JSON.parse(badId.text).error.code, -32700);
  const scalar = await post(s, "42");
  assertEquals(JSON.parse(scalar.text).error.code, -32700);
  const unknown = await post(s, JSON.stringify({ id: 1, method: "nope" }));
  assertEquals(JSON.parse(unknown.text).error.code, -32601);
  const notFound = await get(s, "/nope");
  assertEquals(notFound.status, 404);
});

Deno.test("batches and notifications", async () => {
  const s = server();
  const two = await post(
    s,
    JSON.stringify([{ id: 1, method: "health" }, { id: 2, method: "health" }]),
  );
  assertEquals(JSON.parse(two.text).length, 2);
  const one = await post(s, JSON.stringify([{ id: 1, method: "health" }, { method: "health" }]));
  assertEquals(JSON.parse(one.text), { jsonrpc: "2.0", id: 1, result: {} });
  const none = await post(s, JSON.stringify({ method: "health" }));
  assertEquals(none.text, "");
  const big = await post(
    s,
    JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ id: i, method: "health" }))),
  );
  assertEquals(JSON.parse(big.text).error.code, -32600);
});

Deno.test("unsafe routes are gated", async () => {
  const safe = server(false);
  assertEquals(
    JSON.parse((await post(safe, JSON.stringify({ id: 1, method: "dial_peers" }))).text).error.code,
    -32601,
  );
  assertEquals((await get(safe, "/dial_peers")).status, 404);
  const unsafe = server(true);
  assertEquals(
    JSON.parse((await post(unsafe, JSON.stringify({ id: 1, method: "dial_peers" }))).text).result,
    {},
  );
});

Deno.test("serves over TCP and unix sockets", async () => {
  const s = server();
  await s.start();
  try {
    const a = s.addr as { hostname: string; port: number };
    const res = await fetch(`http://127.0.0.1:${a.port}/health`);
    assertEquals(await res.json(), { jsonrpc: "2.0", id: -1, result: {} });
  } finally {
    await s.stop();
  }
  const dir = await Deno.makeTempDir();
  const path = `${dir}/rpc.sock`;
  const u = new RPCServer({ laddr: `unix://${path}`, routes });
  await u.start();
  try {
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
    const res = await fetch("http://localhost/health", { client });
    assertEquals(await res.json(), { jsonrpc: "2.0", id: -1, result: {} });
    client.close();
  } finally {
    await u.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JSON-RPC POST to / is answered whatever its Content-Type (curl -d, urllib)", async () => {
  const s = server();
  const body = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "health" });
  for (const type of ["application/x-www-form-urlencoded", "text/plain", undefined]) {
    const headers: Record<string, string> = type ? { "Content-Type": type } : {};
    const res = await s.handle(new Request("http://x/", { method: "POST", body, headers }));
    assertEquals(res.status, 200, `Content-Type ${type}`);
    assertEquals(await res.text(), '{"jsonrpc":"2.0","id":3,"result":{}}');
  }
  // A form-typed POST to a route is still a URI call; the body's values come before the query.
  const form = await s.handle(
    new Request("http://x/echo?s=%22q%22&h=1", {
      method: "POST",
      body: 's="body"',
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }),
  );
  const r = JSON.parse(await form.text()).result;
  assertEquals([r.s, r.h], ["body", "1"]);
});

Deno.test("error responses order keys jsonrpc, id, error as CometBFT", async () => {
  const s = server();
  const unknown = await post(s, JSON.stringify({ id: 1, method: "nope" }));
  assertEquals(
    unknown.text,
    '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}',
  );
  const u = await get(s, "/fail");
  assertEquals(Object.keys(JSON.parse(u.text)), ["jsonrpc", "id", "error"]);
  const parse = await post(s, "{not json");
  assertEquals(Object.keys(JSON.parse(parse.text)), ["jsonrpc", "error"]);
});
