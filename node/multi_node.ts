/**
 * Several chains in one process: the top-level chain (`default`) and every `[chains.NAME]`, each
 * a full {@link Node} of its own (Switch, node key, address book, PEX reactor, deny-list,
 * limits), with nothing shared between them but one RPC server, one metrics server and one log
 * (the extra chains' lines carry `chain=NAME`; the default chain's lines look as before).
 *
 * Start: metrics server → RPC server → each chain in config order (a chain that cannot start
 * fails the start, naming the chain). Stop: RPC server → every chain at once (books saved) →
 * metrics server. {@link MultiNode.reload} applies a re-read config (`node/reload.ts`).
 * @module
 */
import {
  type ChainSpec,
  checkDistinctChains,
  type Config,
  ConfigError,
  DEFAULT_CHAIN_NAME,
  resolveChainId,
} from "../config/mod.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import type { NodeKey } from "../p2p/key.ts";
import type { PexReactor } from "../p2p/pex/pex_reactor.ts";
import type { ReactorEntry } from "../reactors/registry.ts";
import type { RPCServer } from "../rpc/server.ts";
import { ChainsMetrics } from "./chain_metrics.ts";
import { type ChainInfo, multiChainRoutes, type RouteChain } from "./chain_routes.ts";
import type { NodeMetrics } from "./metrics.ts";
import { type MetricsServer, startMetricsServer } from "./metrics_server.ts";
import { newRPCServer, Node, NodeStartError } from "./node.ts";
import { planReload, processWideChanges, type ReloadReport } from "./reload.ts";

/** Options of {@link MultiNode.create}. */
export interface MultiNodeOptions {
  /** The top level: the default chain and the process-wide `[rpc]` / `[instrumentation]`. */
  config: Config;
  /** The `[chains.NAME]` tables (`loadConfig().chains`). */
  chains: readonly ChainSpec[];
  /** Root logger (default: silent); each chain logs through `with({ chain: NAME })`. */
  logger?: Logger;
  /** Reactor table (default: the built-in one). */
  registry?: readonly ReactorEntry[];
  /** Keys by chain name instead of their `node_key_file` (tests). */
  nodeKeys?: ReadonlyMap<string, NodeKey>;
}

/** One running chain. */
export interface Chain {
  readonly name: string;
  readonly config: Config;
  /** The chain ID advertised (resolved from the genesis file when `chain_id` is empty). */
  readonly chainId: string;
  readonly node: Node;
}

/** A chain's spec with its chain ID resolved. */
interface Resolved {
  readonly name: string;
  readonly config: Config;
  readonly chainId: string;
}

/** The message of `e`, naming the chain unless it is the default one. */
function chainError(name: string, e: unknown): NodeStartError {
  const msg = (e as Error).message;
  return new NodeStartError(name === DEFAULT_CHAIN_NAME ? msg : `chain ${name}: ${msg}`, {
    cause: e,
  });
}

/** Every chain of the process. Build with {@link MultiNode.create}. */
export class MultiNode {
  readonly config: Config;
  readonly #opts: MultiNodeOptions;
  readonly #log: Logger;
  readonly #root: Logger;
  /** In config order, the default chain first. */
  #chains: Chain[];
  #rpc: RPCServer | undefined;
  #metricsServer: MetricsServer | undefined;
  /** Reloads run one at a time. */
  #reloading: Promise<unknown> = Promise.resolve();
  /** Set by {@link stop}: no reload may start a chain after it. */
  #stopping = false;
  readonly #fatal = Promise.withResolvers<Error>();

  private constructor(opts: MultiNodeOptions, chains: Chain[]) {
    this.config = opts.config;
    this.#opts = opts;
    this.#root = opts.logger ?? nopLogger;
    this.#log = this.#root.with({ module: "main" });
    this.#chains = chains;
  }

  /**
   * Resolves every chain ID, refuses clashes between chains, loads or generates each node key
   * and builds every chain (no socket is opened).
   * @throws ConfigError for clashing chains; NodeStartError / KeyFileError naming the chain.
   */
  static async create(opts: MultiNodeOptions): Promise<MultiNode> {
    const specs = await resolveAll(opts.config, opts.chains);
    const chains: Chain[] = [];
    for (const spec of specs) chains.push(await buildChain(opts, spec));
    return new MultiNode(opts, chains);
  }

  /**
   * Resolves if a listener (the shared RPC or metrics server, or a running chain's p2p
   * listener) stops accepting for a reason other than being closed; never resolves otherwise.
   * The daemon then stops every chain and exits non-zero so a supervisor restarts the process
   * (as a Go node's switch panics there): a deaf chain is worse than a short restart of all.
   * With several chains, a chain's failed p2p listener first restarts that chain alone.
   */
  get fatal(): Promise<Error> {
    return this.#fatal.promise;
  }

  /** Forwards a shared server's fatal listener error to {@link fatal}, once. */
  #watchFatal(what: string, p: Promise<Error>): void {
    p.then((e) => {
      this.#log.error(`${what} no longer accepting connections`, { err: e });
      this.#fatal.resolve(e);
    });
  }

  /**
   * A chain whose p2p listener fails for good while it is still one of ours (not reloaded away):
   * alone in the process, the process exits 1 (as a Go node's switch panics); beside other
   * chains, that chain alone is restarted with its config (queued with reloads), so the others
   * keep their peers, and the process exits 1 only if the restart fails too.
   */
  #watchChain(c: Chain): void {
    c.node.fatal.then((e) => {
      if (!this.#chains.includes(c) || this.#stopping) return;
      if (this.#chains.length === 1) {
        this.#fatal.resolve(chainError(c.name, e));
        return;
      }
      const run = this.#reloading.then(() => this.#restartFailed(c, e));
      this.#reloading = run.catch(() => {});
    });
  }

  async #restartFailed(c: Chain, cause: Error): Promise<void> {
    if (!this.#chains.includes(c) || this.#stopping) return;
    this.#log.error("Chain listener failed; restarting that chain", { chain: c.name, err: cause });
    await this.#step(`chain ${c.name}`, () => c.node.stop());
    const fresh = this.#stopping ? undefined : await this.#restore(c);
    if (fresh === undefined) {
      if (!this.#stopping) this.#fatal.resolve(chainError(c.name, cause));
      return;
    }
    this.#chains = this.#chains.map((x) => x === c ? fresh : x);
    this.#rpc?.setRoutes(this.#routes());
  }

  /** The running chains, the default one first. */
  get chains(): readonly Chain[] {
    return this.#chains;
  }

  /** The chain called `name`. */
  chain(name: string): Chain | undefined {
    return this.#chains.find((c) => c.name === name);
  }

  /** The bound RPC server once started. */
  get rpcServer(): RPCServer | undefined {
    return this.#rpc;
  }

  /** The bound metrics address once started. */
  get metricsAddr(): Deno.NetAddr | undefined {
    const s = this.#metricsServer?.state;
    return s?.code === "listening" ? s.addr : undefined;
  }

  /**
   * Starts the metrics server, the RPC server, then every chain; on failure stops what started.
   * @throws NodeStartError naming the chain and the setting.
   */
  async start(): Promise<void> {
    try {
      const ins = this.config.instrumentation;
      if (ins.prometheus && ins.prometheusListenAddr !== "") {
        const source = new ChainsMetrics(() => this.#metrics());
        this.#metricsServer = startMetricsServer(ins, source, this.#log);
        this.#watchFatal("Metrics server", this.#metricsServer.fatal);
      }
      if (this.config.rpc.laddr !== "") {
        this.#rpc = newRPCServer(this.config, this.#routes(), this.#log);
        await this.#rpc.start();
        this.#watchFatal("RPC server", this.#rpc.fatal);
      }
      for (const c of this.#chains) {
        try {
          await c.node.start();
        } catch (e) {
          throw chainError(c.name, e);
        }
        this.#watchChain(c);
      }
    } catch (e) {
      await this.stop();
      if (e instanceof NodeStartError) throw e;
      throw new NodeStartError((e as Error).message, { cause: e });
    }
  }

  /**
   * Stops the RPC server, every chain (books saved), then the metrics server. A reload in
   * flight finishes first, and none starts afterwards.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#reloading;
    await this.#step("RPC server", () => this.#rpc?.stop());
    await Promise.all(this.#chains.map((c) => this.#step(`chain ${c.name}`, () => c.node.stop())));
    await this.#step("metrics server", () => this.#metricsServer?.stop());
  }

  /**
   * Applies a re-read config: chains added start, removed ones stop (books saved), changed
   * ones restart, the others keep running untouched. Nothing changes when the new config is
   * refused (clashing chains, unreadable key, unresolvable chain ID). A chain that fails to
   * (re)start is logged and reported (a changed one runs again with its previous config); the
   * others are not affected.
   * @throws ConfigError / NodeStartError / KeyFileError when the config is refused.
   */
  reload(config: Config, chains: readonly ChainSpec[]): Promise<ReloadReport> {
    const run = this.#reloading.then(() => this.#reload(config, chains));
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(config: Config, chainSpecs: readonly ChainSpec[]): Promise<ReloadReport> {
    if (this.#stopping) throw new NodeStartError("the node is stopping: reload ignored");
    // The process-wide parts stay as running (one RPC and metrics server, one log): every chain,
    // old or new, is built with them, so NodeInfo's rpc_address matches the server.
    const running = this.config;
    const pin = (c: Config): Config => ({
      ...c,
      rpc: running.rpc,
      instrumentation: running.instrumentation,
      logLevel: running.logLevel,
      logFormat: running.logFormat,
    });
    const next = await resolveAll(
      pin(config),
      chainSpecs.map((s) => ({ name: s.name, config: pin(s.config) })),
    );
    const plan = planReload(this.#chains, next);
    // Build every new chain before touching a running one: a bad key refuses the whole reload.
    const built = new Map<string, Chain>();
    for (const spec of [...plan.add, ...plan.restart]) {
      built.set(spec.name, await buildChain(this.#opts, spec));
    }
    for (const what of processWideChanges(this.config, config)) {
      this.#log.info("Config change takes effect at the next restart", { key: what });
    }
    const report: ReloadReport = {
      added: plan.add.map((s) => s.name),
      removed: plan.remove.map((c) => c.name),
      restarted: plan.restart.map((s) => s.name),
      unchanged: plan.keep.map((c) => c.name),
      failed: [],
    };
    const previous = new Map(plan.restart.map((s) => [s.name, this.chain(s.name)!]));
    const leaving = [...plan.remove, ...previous.values()];
    await Promise.all(leaving.map((c) => this.#step(`chain ${c.name}`, () => c.node.stop())));
    const live = new Map(this.#chains.map((c) => [c.name, c]));
    for (const c of leaving) live.delete(c.name);
    for (const spec of [...plan.add, ...plan.restart]) {
      const chain = built.get(spec.name)!;
      try {
        await chain.node.start();
        live.set(spec.name, chain);
        this.#watchChain(chain);
      } catch (e) {
        const err = chainError(spec.name, e);
        this.#log.error("Chain failed to start on reload", { chain: spec.name, err });
        // A changed chain that worked before is not left down by a bad change (its new port
        // taken, say): it comes back with the config it ran with.
        const old = previous.get(spec.name);
        const back = old && await this.#restore(old);
        if (back) live.set(spec.name, back);
        report.failed.push({
          name: spec.name,
          error: err.message,
          ...(back ? { restored: true } : {}),
        });
      }
    }
    // Config order, so the default chain stays first.
    this.#chains = next.map((s) => live.get(s.name)).filter((c): c is Chain => !!c);
    this.#rpc?.setRoutes(this.#routes());
    this.#log.info("Config reloaded", {
      added: report.added.join(","),
      removed: report.removed.join(","),
      restarted: report.restarted.join(","),
      failed: report.failed.map((f) => f.name).join(","),
      restored: report.failed.filter((f) => f.restored).map((f) => f.name).join(","),
    });
    return report;
  }

  /** Builds and starts a stopped chain again with its own (previous) config; undefined if not. */
  async #restore(old: Chain): Promise<Chain | undefined> {
    try {
      const chain = await buildChain(this.#opts, {
        name: old.name,
        config: old.config,
        chainId: old.chainId,
      });
      await chain.node.start();
      this.#watchChain(chain);
      this.#log.info("Chain running again with its previous config", { chain: old.name });
      return chain;
    } catch (e) {
      this.#log.error("Chain could not be restored to its previous config", {
        chain: old.name,
        err: chainError(old.name, e),
      });
      return undefined;
    }
  }

  /** The `chains` route's result. */
  chainInfos(): ChainInfo[] {
    return this.#chains.map((c) => chainInfo(c));
  }

  #routes() {
    return multiChainRoutes({ list: () => this.#routeChains() }, () => this.chainInfos());
  }

  #routeChains(): RouteChain[] {
    return this.#chains.map((c) => ({ name: c.name, chainId: c.chainId, routes: c.node.routes }));
  }

  *#metrics(): Iterable<NodeMetrics> {
    for (const c of this.#chains) if (c.node.metrics) yield c.node.metrics;
  }

  async #step(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.#log.error(`Error stopping ${what}`, { err: e });
    }
  }
}

/** The `chains` entry of one chain. */
export function chainInfo(c: Chain): ChainInfo {
  const { node } = c;
  let inbound = 0;
  let outbound = 0;
  for (const p of node.sw.peers().list()) {
    if (p.isOutbound) outbound++;
    else inbound++;
  }
  const bound = node.p2pAddr;
  const pex = node.sw.reactor("PEX") as PexReactor | undefined;
  return {
    name: c.name,
    chain_id: c.chainId,
    cometbft_line: c.config.cometbftLine,
    state: node.state.code,
    listen_addr: bound ? `tcp://${bound.hostname}:${bound.port}` : c.config.p2p.laddr,
    external_addr: node.nodeInfo.listenAddr,
    node_id: node.nodeKey.id,
    peers: { inbound, outbound },
    book_size: node.addrBook.size(),
    verified: pex?.verifier?.liveCount ?? node.addrBook.nOld,
  };
}

async function resolveAll(config: Config, chains: readonly ChainSpec[]): Promise<Resolved[]> {
  const specs: ChainSpec[] = [{ name: DEFAULT_CHAIN_NAME, config }, ...chains];
  const out: Resolved[] = [];
  for (const s of specs) {
    try {
      out.push({ ...s, chainId: await resolveChainId(s.config) });
    } catch (e) {
      if (!(e instanceof ConfigError) || s.name === DEFAULT_CHAIN_NAME) throw e;
      throw new ConfigError(
        e.message.replace(/^config error: /, `config error: chains.${s.name}: `),
        {
          key: `chains.${s.name}.chain_id`,
        },
        { cause: e },
      );
    }
  }
  checkDistinctChains(out);
  return out;
}

async function buildChain(opts: MultiNodeOptions, spec: Resolved): Promise<Chain> {
  const root = opts.logger ?? nopLogger;
  try {
    const node = await Node.create({
      config: spec.config,
      chainId: spec.chainId,
      // The default chain logs as a single-chain node always has (CometBFT's lines, no extra
      // field); only the extra chains' lines carry `chain=NAME`.
      logger: spec.name === DEFAULT_CHAIN_NAME ? root : root.with({ chain: spec.name }),
      nodeKey: opts.nodeKeys?.get(spec.name),
      registry: opts.registry,
      embedded: true,
    });
    return { ...spec, node };
  } catch (e) {
    // The default chain keeps the error's class (the CLI's exit code depends on it).
    if (spec.name === DEFAULT_CHAIN_NAME) throw e;
    throw chainError(spec.name, e);
  }
}
