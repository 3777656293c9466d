/**
 * `node`: runs the daemon until SIGINT/SIGTERM. With no config at all it first creates the home
 * (default config + node key), so `deno task node` works out of the box.
 *
 * Shutdown: the first SIGINT/SIGTERM stops the node gracefully (RPC, peers, reactors, address
 * book saved, every socket closed) and exits 0; a second signal exits at once with 130; a
 * graceful stop that hangs past {@link STOP_DEADLINE_MS} exits 1.
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import {
  type Config,
  CONFIG_FLAGS_HELP,
  ConfigError,
  ensureHome,
  loadConfig,
  parseConfigArgs,
  readEnv,
  resolveChainId,
  resolveHome,
  UsageError,
} from "../config/mod.ts";
import { createLogger, type Logger, LogLevelError } from "../libs/log.ts";
import { KeyFileError } from "../p2p/key.ts";
import { NodeStartError } from "../node/node.ts";
import { MultiNode } from "../node/multi_node.ts";
import { ReloadSignal } from "../node/reload.ts";
import { usageErrorText } from "./cli_run.ts";
import { SWITCHYARD_VERSION } from "../version.ts";
import { lineProfile } from "../p2p/cometbft_line.ts";

/** A graceful stop taking longer than this is abandoned (exit 1). */
export const STOP_DEADLINE_MS = 10_000;
/** Exit code after a second signal (128 + SIGINT, as shells report an interrupted program). */
export const EXIT_SECOND_SIGNAL = 130;
/**
 * Repeats of the signal within this window of the first are the same event, not a second
 * request: Ctrl+C under `deno task` reaches the daemon once from the terminal (process group)
 * and once more forwarded by each `deno task` level above it.
 */
export const SIGNAL_REPEAT_WINDOW_MS = 500;

const USAGE = `Usage: switchyard start [--home DIR] [--config FILE] [config flags]
       (also "switchyard node" and "switchyard run", as cometbft's aliases; from a checkout:
       deno task node)

Runs the node: listens for peers on p2p.laddr, dials persistent_peers, runs the reactors named in
node.reactors (PEX when p2p.pex), serves RPC on rpc.laddr and Prometheus metrics on
instrumentation.prometheus_listen_addr (when instrumentation.prometheus = true). Logs go to
standard output (log_level, log_format).

With neither --config nor DIR/config/config.toml, a default home is created first (config.toml
with chain_id = "switchyard-local" and a new node key), as "init" would.

SIGINT/SIGTERM stop gracefully (address book saved, every socket closed; exit 0); a second
signal exits at once (exit 130). SIGHUP re-reads the config: [chains.NAME] tables added start,
removed ones stop, changed ones restart, the others keep their peers; a bad, missing or
half-written config is refused (logged) and changes nothing. A SIGHUP during start-up reloads once
started; one during a stop is ignored.

${CONFIG_FLAGS_HELP}

Exit codes: 0 stopped by a signal; 1 could not start (port in use, unreadable node key,
unresolvable seeds, ...), a listener failed for good, or the stop did not finish in ${
  STOP_DEADLINE_MS / 1000
} s; 2 bad flag
or config value; 130 second signal.`;

const SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/** Waits for the first signal; a second one exits the process at once. */
function waitForSignal(log: Logger): { promise: Promise<Deno.Signal>; dispose(): void } {
  const first = Promise.withResolvers<Deno.Signal>();
  let firstAt: number | undefined;
  const handlers = SIGNALS.map((sig) => {
    const h = () => {
      const now = performance.now();
      if (firstAt === undefined) {
        firstAt = now;
        log.info("Received signal, stopping", { signal: sig });
        first.resolve(sig);
      } else if (now - firstAt >= SIGNAL_REPEAT_WINDOW_MS) {
        log.error("Second signal: exiting at once", { signal: sig });
        Deno.exit(EXIT_SECOND_SIGNAL);
      }
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  return {
    promise: first.promise,
    dispose() {
      for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    },
  };
}

/** `node` (aliases `start`, `run`): run the daemon. */
export const nodeCommand: Command = {
  name: "node",
  aliases: ["start", "run"],
  summary: "run the node (creates a default home on first run)",
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    if (args.includes("--help") || args.includes("-h")) {
      console.log(USAGE);
      return ExitCode.ok;
    }
    // Caught from here on: SIGHUP's default action would kill a daemon still starting.
    const reloads = new ReloadSignal();
    let node: MultiNode;
    let log: Logger;
    let load: () => ReturnType<typeof loadConfig>;
    let flagWarnings: string[] = [];
    let configPath: string;
    try {
      const parsed = parseConfigArgs(args);
      if (parsed.rest.length > 0) throw new UsageError(`unexpected argument "${parsed.rest[0]}"`);
      flagWarnings = parsed.warnings;
      const env = readEnv();
      const home = resolveHome(parsed.home, env);
      load = () => loadConfig({ home, configPath: parsed.configPath, flags: parsed.flags, env });
      // Validate flags and environment before writing anything into a new home.
      let loaded = await load();
      let created: string[] = [];
      if (!loaded.fileFound) {
        created = await ensureHome(home);
        loaded = await load();
      }
      const { config, warnings, chains } = loaded;
      configPath = loaded.configPath;
      const root = createLogger({ level: config.logLevel, format: config.logFormat });
      log = root.with({ module: "main" });
      logVersion(log, config);
      // Through the logger, so log_format = "json" covers them too.
      logConfigWarnings(log, [...flagWarnings, ...warnings]);
      flagWarnings = [];
      await resolveChainId(config);
      for (const f of created) log.info("Created default file", { file: f });
      node = await MultiNode.create({ config, chains, logger: root });
    } catch (err) {
      for (const w of flagWarnings) console.error(`warning: ${w}`);
      reloads.close();
      return reportSetupError(err);
    }
    const signals = waitForSignal(log);
    try {
      try {
        await node.start();
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
        return ExitCode.failure;
      }
      // Reloads only once every chain runs (a SIGHUP before that reloads now).
      reloads.arm(log, async () => {
        const next = await loadForReload(load, configPath);
        logConfigWarnings(log, next.warnings);
        await node.reload(next.config, next.chains);
      });
      for (const c of node.chains) {
        const p2p = c.node.p2pAddr;
        log.info("Node started", {
          chain: c.name,
          chain_id: c.chainId,
          ID: c.node.nodeKey.id,
          p2p: p2p ? `${p2p.hostname}:${p2p.port}` : "",
          rpc: rpcAddrText(node),
        });
      }
      // A listener that fails for good (not a per-connection error) ends the process with
      // a non-zero code, so a supervisor restarts it (Go's switch panics there).
      const failed = await Promise.race([signals.promise.then(() => undefined), node.fatal]);
      if (failed) log.error("Listener failed; stopping the node", { err: failed });
      // Later SIGHUPs are ignored; the stop waits for a reload in flight, within its deadline.
      reloads.close();
      const stopped = await stopWithin(node, STOP_DEADLINE_MS);
      if (!stopped) {
        log.error("Node did not stop in time; exiting", { deadlineMs: STOP_DEADLINE_MS });
        return ExitCode.failure;
      }
      return failed ? ExitCode.failure : ExitCode.ok;
    } finally {
      signals.dispose();
      // The SIGHUP listener stays until the process exits (ReloadSignal explains why).
      reloads.close();
    }
  },
};

/**
 * The first line a node logs: what runs and what it speaks (cometbft's "Version info" line,
 * with switchyard's own version beside the CometBFT version it advertises).
 */
function logVersion(log: Logger, config: Config): void {
  const line = lineProfile(config.cometbftLine);
  log.info("Version info", {
    switchyard: SWITCHYARD_VERSION,
    cometbft_version: config.node.version || line.version,
    cometbft_line: line.setting,
    block: config.node.protocolBlock,
    p2p: line.p2pProtocol,
  });
}

/**
 * Logs config warnings: the unknown keys and tables of one file as a single line listing them
 * (a home made by cometbft has some sixty keys switchyard has no use for: one line, not sixty),
 * any other warning on its own line.
 */
export function logConfigWarnings(log: Logger, warnings: readonly string[]): void {
  const unknown = new Map<string, string[]>();
  for (const w of warnings) {
    const m = /^(.*): unknown (?:key "(.*)"|table (\[.*\])) ignored$/.exec(w);
    if (m === null) {
      log.info("Config warning", { warning: w });
      continue;
    }
    const keys = unknown.get(m[1]) ?? [];
    keys.push(m[2] ?? m[3]);
    unknown.set(m[1], keys);
  }
  for (const [file, keys] of unknown) {
    log.info("Config keys switchyard does not use, ignored", { file, keys });
  }
}

/**
 * The config for a reload, refused when the file is gone (the defaults would replace every
 * chain) or changed while it was read (an editor still writing it: what was read may be a
 * valid prefix of the new file, e.g. with its last chains missing).
 * @throws ConfigError saying what to do.
 */
export async function loadForReload(
  load: () => ReturnType<typeof loadConfig>,
  configPath: string,
): ReturnType<typeof loadConfig> {
  const before = await readOrNull(configPath);
  const next = await load();
  if (!next.fileFound || before === null) {
    throw new ConfigError(
      `config error: config file ${configPath} does not exist; restore it and send SIGHUP again`,
    );
  }
  if ((await readOrNull(configPath)) !== before) {
    throw new ConfigError(
      `config error: config file ${configPath} changed while it was read (still being written?); ` +
        "send SIGHUP again once it is complete (write a temp file and rename it over the config)",
    );
  }
  return next;
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null; // loadConfig reports why it cannot be read
  }
}

async function stopWithin(node: MultiNode, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([node.stop().then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reportSetupError(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(usageErrorText(err, USAGE));
    return ExitCode.usage;
  }
  if (err instanceof ConfigError || err instanceof LogLevelError) {
    console.error(`error: ${err.message}`);
    return ExitCode.usage;
  }
  if (err instanceof KeyFileError || err instanceof NodeStartError) {
    console.error(`error: ${err.message}`);
    return ExitCode.failure;
  }
  console.error(`error: ${(err as Error).message}`);
  return ExitCode.failure;
}

/** The RPC address as bound (`tcp://127.0.0.1:26657`, the real port when 0 was asked for). */
function rpcAddrText(node: MultiNode): string {
  const a = node.rpcServer?.addr;
  if (!a) return "";
  return a.kind === "unix" ? `unix://${a.path}` : `tcp://${a.hostname}:${a.port}`;
}
