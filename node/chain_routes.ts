/**
 * RPC for several chains on one server: every route of every chain answers for the default
 * chain as before, for another chain with a `chain` parameter (URI `?chain=NAME` or JSON-RPC
 * `params.chain`; a chain's name or its chain ID), or under a path prefix
 * (`/chains/NAME/status`); plus the `chains` route listing every chain.
 *
 * Routes look their chain up at call time, so a chain restarted by a reload answers through the
 * same routes.
 * @module
 */
import { DEFAULT_CHAIN_NAME } from "../config/chains.ts";
import type { Route, RouteArgs } from "../rpc/types.ts";
import { RpcCode, RpcError } from "../rpc/types.ts";

/** The name of the selecting parameter. */
export const CHAIN_PARAM = "chain";
/** Path prefix of a chain's routes: `chains/NAME/<route>`. */
export const CHAINS_PATH_PREFIX = "chains";

/** One chain as the routes see it. */
export interface RouteChain {
  readonly name: string;
  readonly chainId: string;
  readonly routes: readonly Route[];
}

/** The live chains, in config order. */
export interface ChainDirectory {
  list(): readonly RouteChain[];
}

/** One entry of the `chains` result. */
export interface ChainInfo {
  /** `default` for the top level, else the `[chains.NAME]` name. */
  name: string;
  chain_id: string;
  /** The chain's `cometbft_line` setting (what its NodeInfo and reactors speak). */
  cometbft_line: string;
  /** `running`, or why not (a chain whose restart failed). */
  state: string;
  /** The bound p2p address (`tcp://host:port`) or the configured one when not listening. */
  listen_addr: string;
  /** What NodeInfo advertises to peers. */
  external_addr: string;
  node_id: string;
  peers: { inbound: number; outbound: number };
  book_size: number;
  /** Seed mode: addresses verified live; else addresses proven good (the book's old ones). */
  verified: number;
}

/** Finds the chain `arg` names (name or chain ID; "" = the top-level chain, `default`). */
export function selectChain(dir: ChainDirectory, arg: string): RouteChain {
  const chains = dir.list();
  if (arg === "") {
    const def = chains.find((c) => c.name === DEFAULT_CHAIN_NAME);
    if (def) return def;
    // Only after a reload whose restart of the top-level chain failed (logged then).
    throw new RpcError(
      RpcCode.internalError,
      `the default chain is not running; select one with chain= (running: ${
        chains.map((c) => c.name).join(", ")
      })`,
    );
  }
  const hit = chains.find((c) => c.name === arg) ?? chains.find((c) => c.chainId === arg);
  if (hit) return hit;
  throw new RpcError(
    RpcCode.invalidParams,
    `unknown chain "${arg}" (configured: ${chains.map((c) => c.name).join(", ")})`,
  );
}

function routeOf(chain: RouteChain, name: string): Route {
  const r = chain.routes.find((x) => x.name === name);
  if (r) return r;
  throw new RpcError(RpcCode.methodNotFound, `route ${name} is not served on chain ${chain.name}`);
}

/**
 * The merged route table: each route name (union over the chains, the default chain's order
 * first) with an optional trailing `chain` parameter, each chain's routes under
 * `chains/NAME/`, and `chains`.
 */
export function multiChainRoutes(dir: ChainDirectory, chainsList: () => ChainInfo[]): Route[] {
  const chains = dir.list();
  const byName = new Map<string, Route>();
  for (const c of chains) for (const r of c.routes) if (!byName.has(r.name)) byName.set(r.name, r);
  const routes: Route[] = [];
  for (const base of byName.values()) {
    routes.push({
      name: base.name,
      params: [...base.params, { name: CHAIN_PARAM, type: "string", optional: true }],
      unsafe: base.unsafe,
      handler: (args: RouteArgs) => {
        const chain = selectChain(dir, args[CHAIN_PARAM] as string);
        return routeOf(chain, base.name).handler(args);
      },
    });
  }
  for (const c of chains) {
    for (const r of c.routes) {
      const name = c.name;
      routes.push({
        name: `${CHAINS_PATH_PREFIX}/${name}/${r.name}`,
        params: r.params,
        unsafe: r.unsafe,
        handler: (args: RouteArgs) => routeOf(selectChain(dir, name), r.name).handler(args),
      });
    }
  }
  routes.push({ name: "chains", params: [], handler: () => ({ chains: chainsList() }) });
  return routes;
}
