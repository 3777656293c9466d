/**
 * Config loading for library users: reads a switchyard home's `config.toml` (with the same
 * precedence as the daemon: defaults < file < `SWITCHYARD_*` environment < flags), the node key
 * and the chain ID, and turns them into {@link createSwitch} options, so a program embedding
 * its own reactors runs with the settings an operator gave the daemon.
 * @module
 */
import { loadConfig, resolveChainId } from "../config/mod.ts";
import type { CreateSwitchOptions } from "../p2p/local_switch.ts";
import { NodeKey } from "../p2p/key.ts";
import { parseListenAddr } from "../rpc/server.ts";
import { InvalidParametersError } from "../p2p/errors.ts";

/** Where {@link loadSwitchConfig} reads from. */
export interface SwitchConfigFileOptions {
  /** The home directory (default `SWITCHYARD_HOME` from `env`, else `$HOME/.switchyard`). */
  readonly home?: string;
  /** The config file (default `<home>/config/config.toml`; when given it must exist). */
  readonly configPath?: string;
  /** Environment to take `SWITCHYARD_*` overrides and `HOME` from (default: none). */
  readonly env?: Record<string, string | undefined>;
  /** Key path → value overrides, e.g. `{ "p2p.laddr": "tcp://127.0.0.1:0" }`. */
  readonly flags?: Record<string, string>;
  /** Load or create the node key of `node_key_file` (default true; false: a new random key). */
  readonly loadNodeKey?: boolean;
}

/** What {@link loadSwitchConfig} found. */
export interface SwitchConfigFromFile {
  /** {@link createSwitch} options; add `reactors`. */
  readonly options: Omit<CreateSwitchOptions, "reactors">;
  /** `p2p.persistent_peers` (`id@host:port`), for `sw.dialPeersAsync`. */
  readonly persistentPeers: readonly string[];
  /** `p2p.seeds` (`id@host:port`). */
  readonly seeds: readonly string[];
  /** Unknown keys and environment variables (ignored). */
  readonly warnings: readonly string[];
  /** The config file read (or that would have been). */
  readonly configPath: string;
  /** Whether that file existed (if not: defaults, environment and flags). */
  readonly fileFound: boolean;
}

/**
 * Loads the config and node key of a switchyard home as {@link createSwitch} options.
 * @throws ConfigError naming the key for a bad value; InvalidParametersError for a
 *   `p2p.laddr` that is not `tcp://host:port`; KeyFileError for an unreadable node key.
 */
export async function loadSwitchConfig(
  opts: SwitchConfigFileOptions = {},
): Promise<SwitchConfigFromFile> {
  const loaded = await loadConfig({
    home: opts.home,
    configPath: opts.configPath,
    env: opts.env,
    flags: opts.flags,
  });
  const c = loaded.config;
  let listen: { hostname: string; port: number };
  try {
    const la = parseListenAddr(c.p2p.laddr);
    if (la.kind !== "tcp") throw new Error("must be tcp://host:port");
    listen = { hostname: la.hostname, port: la.port };
  } catch (e) {
    throw new InvalidParametersError(`p2p.laddr "${c.p2p.laddr}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  const key = opts.loadNodeKey === false
    ? NodeKey.generate()
    : await NodeKey.loadOrGen(c.nodeKeyFile);
  return {
    options: {
      network: await resolveChainId(c),
      moniker: c.moniker,
      key,
      listen,
      config: {
        maxNumInboundPeers: c.p2p.maxNumInboundPeers,
        maxNumOutboundPeers: c.p2p.maxNumOutboundPeers,
        allowDuplicateIP: c.p2p.allowDuplicateIp,
        sendRate: c.p2p.sendRate,
        recvRate: c.p2p.recvRate,
        flushThrottleMs: c.p2p.flushThrottleTimeoutMs,
        maxWaitingSends: c.p2p.maxWaitingSendsPerPeer,
      },
    },
    persistentPeers: c.p2p.persistentPeers,
    seeds: c.p2p.seeds,
    warnings: loaded.warnings,
    configPath: loaded.configPath,
    fileFound: loaded.fileFound,
  };
}
