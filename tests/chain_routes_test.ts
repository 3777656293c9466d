/**
 * The multi-chain route table (node/chain_routes.ts) without a server: chain selection by name,
 * chain ID or nothing (the top-level chain), the optional trailing `chain` parameter, the
 * `chains/NAME/` routes and routes one chain lacks.
 */
import { assertEquals, assertRejects, assertThrows } from "./util/assert.ts";
import { multiChainRoutes, type RouteChain, selectChain } from "../node/chain_routes.ts";
import { decodeJsonParams } from "../rpc/params.ts";
import { RpcError } from "../rpc/types.ts";
import type { Route } from "../rpc/types.ts";

function chain(name: string, chainId: string, routes: string[]): RouteChain {
  return {
    name,
    chainId,
    routes: routes.map((r): Route => ({
      name: r,
      params: r === "echo" ? [{ name: "x", type: "string" }] : [],
      handler: (args) => ({ chain: name, route: r, x: args.x }),
    })),
  };
}

Deno.test("selectChain: empty = default, then name, then chain ID; unknown names the chains", () => {
  const chains = [chain("default", "a-1", []), chain("b", "b-1", []), chain("c", "b", [])];
  const dir = { list: () => chains };
  assertEquals(selectChain(dir, "").name, "default");
  assertEquals(selectChain(dir, "b").name, "b"); // a name wins over another chain's ID "b"
  assertEquals(selectChain(dir, "b-1").name, "b");
  assertEquals(selectChain(dir, "a-1").name, "default");
  const err = assertThrows(() => selectChain(dir, "zz"), RpcError);
  assertEquals(err.data, 'unknown chain "zz" (configured: default, b, c)');
  // Without the top-level chain (its restart failed), nothing is answered by default.
  const noDefault = { list: () => chains.slice(1) };
  assertThrows(() => selectChain(noDefault, ""), RpcError, "the default chain is not running");
});

Deno.test("multiChainRoutes: union of names, optional chain param, prefixed routes, chains", async () => {
  const chains = [chain("default", "a-1", ["status"]), chain("b", "b-1", ["status", "echo"])];
  const routes = multiChainRoutes({ list: () => chains }, () => []);
  assertEquals(routes.map((r) => r.name), [
    "status",
    "echo",
    "chains/default/status",
    "chains/b/status",
    "chains/b/echo",
    "chains",
  ]);
  const echo = routes.find((r) => r.name === "echo")!;
  // Positional params: the chain may be left out, or given last.
  assertEquals(decodeJsonParams(echo.params, ["hi"]), { x: "hi", chain: "" });
  assertEquals(decodeJsonParams(echo.params, ["hi", "b"]), { x: "hi", chain: "b" });
  assertEquals(await echo.handler({ x: "hi", chain: "b" }), { chain: "b", route: "echo", x: "hi" });
  // The default chain lacks echo: a clear error, not another chain's answer.
  await assertRejects(
    async () => await echo.handler({ x: "hi", chain: "" }),
    RpcError,
    "route echo is not served on chain default",
  );
  const prefixed = routes.find((r) => r.name === "chains/b/status")!;
  assertEquals(await prefixed.handler({}), { chain: "b", route: "status", x: undefined });
});
