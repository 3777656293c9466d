/**
 * Building the soak's nodes: homes, keys, loopback addresses and launch commands for switchyard
 * daemons (`deno run <the cli task's permissions> main.ts node ...`, as tests/util/daemon.ts
 * runs them) and for cometbft nodes (`cometbft start --proxy_app=kvstore`, set up as
 * tests/interop/cometbft.ts does). Every address is 127.0.0.x.
 * @module
 */
import { NodeKey } from "../p2p/key.ts";
import { homePaths } from "../config/home.ts";
import { childEnv, CLI_PERMS, ROOT } from "../tests/util/daemon.ts";
import { setTomlKey } from "../tests/interop/cometbft.ts";
import { healthy } from "./probe.ts";
import { type NodeKind, SoakProcess } from "./procs.ts";

/** The seed's address; switchyard nodes get 127.0.0.10 and up, cometbft nodes 127.0.0.250 down. */
export const SEED_IP = "127.0.0.2";
/** Most switchyard nodes one soak runs (so the addresses stay below the cometbft range). */
export const MAX_NODES = 200;
/** Most cometbft nodes. */
export const MAX_COMETBFT = 5;

/** Address of the i-th switchyard node (0-based). */
export function nodeIp(i: number): string {
  return `127.0.0.${10 + i}`;
}

/** Address of the j-th cometbft node (0-based). */
export function cometbftIp(j: number): string {
  return `127.0.0.${250 - j}`;
}

/** A free TCP port on `ip` (bind port 0, read it, close). */
export function freePortOn(ip: string): number {
  const l = Deno.listen({ hostname: ip, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitHealthy(rpcPort: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    if (await healthy(rpcPort, signal)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw signal.reason ?? new Error("aborted");
}

/** Settings every switchyard node of a soak shares. */
export interface NetworkSettings {
  chainId: string;
  /** `id@ip:port` of the seed ("" for the seed itself). */
  seedAddress: string;
  /** Reject a second connection from one IP (every loopback dial comes from 127.0.0.1). */
  strictIp: boolean;
}

/** A switchyard daemon: key written now, config created by the daemon on first start. */
export async function switchyardNode(
  name: string,
  kind: Extract<NodeKind, "seed" | "switchyard">,
  ip: string,
  root: string,
  net: NetworkSettings,
  perturbable: boolean,
): Promise<SoakProcess> {
  const home = `${root}/${name}`;
  const key = NodeKey.generate();
  await key.save(homePaths(home).nodeKeyFile);
  const p2pPort = freePortOn(ip);
  const rpcPort = freePortOn("127.0.0.1");
  const args = [
    "run",
    ...CLI_PERMS,
    "main.ts",
    "node",
    "--home",
    home,
    "--chain-id",
    net.chainId,
    "--moniker",
    name,
    "--p2p.laddr",
    `tcp://${ip}:${p2pPort}`,
    "--rpc.laddr",
    `tcp://127.0.0.1:${rpcPort}`,
    "--p2p.addr_book_strict=false",
    `--p2p.allow_duplicate_ip=${!net.strictIp}`,
    ...(kind === "seed" ? ["--p2p.seed_mode"] : ["--p2p.seeds", net.seedAddress]),
  ];
  return new SoakProcess(name, kind, ip, p2pPort, rpcPort, home, key.id, {
    command: Deno.execPath(),
    args,
    env: childEnv(),
    cwd: ROOT,
    ready: (signal) => waitHealthy(rpcPort, signal),
  }, perturbable);
}

async function runOnce(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  if (!out.success) {
    throw new Error(`${bin} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A cometbft node with its own one-validator genesis on the soak's chain ID. */
export async function cometbftNode(
  bin: string,
  name: string,
  ip: string,
  root: string,
  net: NetworkSettings,
): Promise<SoakProcess> {
  const home = `${root}/${name}`;
  await runOnce(bin, ["init", "--home", home]);
  const genesisPath = `${home}/config/genesis.json`;
  const genesis = JSON.parse(await Deno.readTextFile(genesisPath));
  genesis.chain_id = net.chainId;
  await Deno.writeTextFile(genesisPath, JSON.stringify(genesis, null, 2));
  const p2pPort = freePortOn(ip);
  const rpcPort = freePortOn("127.0.0.1");
  const settings: Record<string, string | boolean> = {
    moniker: name,
    log_level: "*:error,p2p:info",
    "p2p.laddr": `tcp://${ip}:${p2pPort}`,
    "rpc.laddr": `tcp://127.0.0.1:${rpcPort}`,
    "p2p.allow_duplicate_ip": !net.strictIp,
    "p2p.addr_book_strict": false,
    "p2p.pex": true,
    "p2p.seeds": net.seedAddress,
    "consensus.timeout_commit": "1s",
    "instrumentation.prometheus": false,
  };
  const configPath = `${home}/config/config.toml`;
  let toml = await Deno.readTextFile(configPath);
  for (const [k, v] of Object.entries(settings)) toml = setTomlKey(toml, k, v);
  await Deno.writeTextFile(configPath, toml);
  const id = (await runOnce(bin, ["show-node-id", "--home", home])).trim();
  return new SoakProcess(name, "cometbft", ip, p2pPort, rpcPort, home, id, {
    command: bin,
    args: ["start", "--home", home, "--proxy_app=kvstore"],
    ready: (signal) => waitHealthy(rpcPort, signal),
  }, true);
}
