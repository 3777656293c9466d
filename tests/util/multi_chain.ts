/**
 * Helpers for multi-chain tests: a `config.toml` with a top-level chain and `[chains.NAME]`
 * tables (seed mode, loopback-friendly, fast crawl), and a {@link MultiNode} built from it.
 * @module
 */
import { loadConfig } from "../../config/mod.ts";
import { MultiNode } from "../../node/multi_node.ts";
import type { ReactorEntry } from "../../reactors/registry.ts";
import type { Logger } from "../../libs/log.ts";
import { testLogger } from "./pex_harness.ts";

/** One chain of a test config. */
export interface TestChain {
  /** `default` for the top level. */
  name: string;
  chainId: string;
  /** Default `tcp://127.0.0.1:0`. */
  laddr?: string;
  /** Extra `key = value` lines of the chain's `[p2p]` table. */
  p2p?: string[];
  /** Extra `key = value` lines of the chain's own table (top level for `default`). */
  top?: string[];
}

/** Options of {@link multiChainConfig}. */
export interface TestConfigOptions {
  rpcLaddr?: string;
  /** `host:port` of the metrics server ("" = no metrics). */
  metricsAddr?: string;
  seedMode?: boolean;
}

/** `config.toml` text for `chains` (the one named `default` goes to the top level). */
export function multiChainConfig(
  chains: readonly TestChain[],
  opts: TestConfigOptions = {},
): string {
  const def = chains.find((c) => c.name === "default");
  if (!def) throw new Error("a test config needs a chain named default");
  const lines = [
    `chain_id = "${def.chainId}"`,
    `moniker = "multi"`,
    `log_level = "info"`,
    ...(def.top ?? []),
    "[rpc]",
    `laddr = "${opts.rpcLaddr ?? "tcp://127.0.0.1:0"}"`,
    "unsafe = true",
    "[instrumentation]",
    `prometheus = ${(opts.metricsAddr ?? "") !== ""}`,
    `prometheus_listen_addr = "${opts.metricsAddr ?? ""}"`,
    "[p2p]",
    `laddr = "${def.laddr ?? "tcp://127.0.0.1:0"}"`,
    "addr_book_strict = false",
    "allow_duplicate_ip = true",
    `seed_mode = ${opts.seedMode ?? true}`,
    ...(def.p2p ?? []),
    "[p2p.seed]",
    `disconnect_wait = "200ms"`,
    `crawl_period = "1s"`,
    "verify_rate = 0",
  ];
  for (const c of chains) {
    if (c.name === "default") continue;
    lines.push(
      `[chains.${c.name}]`,
      `chain_id = "${c.chainId}"`,
      ...(c.top ?? []),
      `[chains.${c.name}.p2p]`,
      `laddr = "${c.laddr ?? "tcp://127.0.0.1:0"}"`,
      ...(c.p2p ?? []),
    );
  }
  return lines.join("\n") + "\n";
}

/** Writes `text` as `<home>/config/config.toml`; returns its path. */
export async function writeConfig(home: string, text: string): Promise<string> {
  await Deno.mkdir(`${home}/config`, { recursive: true });
  const path = `${home}/config/config.toml`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** Loads `<home>/config/config.toml` and builds (not starts) the multi-chain node. */
export async function buildMultiNode(
  home: string,
  opts: { registry?: readonly ReactorEntry[]; logger?: Logger } = {},
): Promise<MultiNode> {
  const { config, chains } = await loadConfig({ home });
  return await MultiNode.create({
    config,
    chains,
    registry: opts.registry,
    logger: opts.logger ?? testLogger("multi"),
  });
}

/** `host:port` of a chain's bound p2p listener. */
export function p2pPort(node: MultiNode, name: string): number {
  const a = node.chain(name)?.node.p2pAddr;
  if (!a) throw new Error(`chain ${name} is not listening`);
  return a.port;
}

/** `id@127.0.0.1:port` of a chain's seed. */
export function seedAddress(node: MultiNode, name: string): string {
  const c = node.chain(name);
  if (!c) throw new Error(`no chain ${name}`);
  return `${c.node.nodeKey.id}@127.0.0.1:${p2pPort(node, name)}`;
}

/** The RPC base URL (`http://127.0.0.1:port`). */
export function rpcBase(node: MultiNode): string {
  const a = node.rpcServer?.addr;
  if (!a || a.kind !== "tcp") throw new Error("RPC not listening on TCP");
  return `http://127.0.0.1:${a.port}`;
}

/** GETs `path` and returns the parsed JSON body. */
export async function getJson(base: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, { signal: AbortSignal.timeout(5_000) });
  return await res.json();
}

/** POSTs a JSON-RPC request and returns the parsed JSON body. */
export async function postJson(base: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(base + "/", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    signal: AbortSignal.timeout(5_000),
  });
  return await res.json();
}
