/**
 * The Node service (CometBFT `node/node.go` + `node/setup.go`, p2p part): assembles the node key,
 * NodeInfo, transport, switch, address book, the built-in reactors named in `node.reactors`,
 * the RPC server and the metrics server, and starts and stops them in CometBFT's order.
 *
 * Start (spec §7.2): metrics server → RPC server (Go starts it before p2p) → transport listens on
 * `p2p.laddr` → address book loaded → switch starts every reactor, then its accept routine →
 * `persistent_peers` dialed. Stop, in reverse: RPC server → switch (peers, then reactors, then the
 * transport's listener and sockets) → address book saved → metrics server.
 * @module
 */
import { type Config, enabledReactors } from "../config/mod.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import type { Logger as ReactorLogger } from "../p2p/reactor_api.ts";
import { NodeKey } from "../p2p/key.ts";
import { idAddressString, NetAddress, NetAddressLookupError } from "../p2p/netaddress.ts";
import type { NodeInfo } from "../p2p/node_info.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { DenyList } from "../p2p/pex/deny_list.ts";
import { Switch } from "../p2p/switch.ts";
import { Transport } from "../p2p/transport.ts";
import { nopMetrics, type P2PMetrics } from "../p2p/metrics.ts";
import { parseListenAddr, type RPCServer } from "../rpc/server.ts";
import type { Route } from "../rpc/types.ts";
import {
  type NodeContext,
  REACTOR_REGISTRY,
  type ReactorEntry,
  selectReactors,
} from "../reactors/registry.ts";
import { NodeMetrics } from "./metrics.ts";
import { type MetricsServer, startMetricsServer } from "./metrics_server.ts";
import { nodeRoutes } from "./rpc_routes.ts";
import { buildNodeInfo, newRPCServer, removeCrashDebris } from "./node_setup.ts";

export { buildNodeInfo, newRPCServer };

/** Why the node could not start; the message is one line naming the setting at fault. */
export class NodeStartError extends Error {
  /** `message`: one line naming the setting at fault. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NodeStartError";
  }
}

/** Options of {@link Node.create}. */
export interface NodeOptions {
  /** The node's configuration (e.g. `loadConfig(...).config`). */
  config: Config;
  /** The chain ID to advertise (from `resolveChainId`). */
  chainId: string;
  /** Root logger (default: silent). */
  logger?: ReactorLogger;
  /** Use this key instead of loading `node_key_file` (tests). */
  nodeKey?: NodeKey;
  /**
   * Reactor table (default {@link REACTOR_REGISTRY}).
   * @ignore The registry's entry type is not library API yet; the daemon and tests set it.
   */
  registry?: readonly ReactorEntry[];
  /**
   * One chain of several (`node/multi_node.ts`): start no RPC or metrics server; the caller
   * serves {@link Node.routes} and {@link Node.metrics} for every chain on one of each.
   */
  embedded?: boolean;
}

/** Lifecycle of the node. */
export type NodeState =
  | { readonly code: "created" }
  | { readonly code: "starting" }
  | { readonly code: "running" }
  | { readonly code: "stopping"; readonly done: Promise<void> }
  | { readonly code: "stopped" };

/** The assembled node. Build with {@link Node.create}, then {@link start} and {@link stop}. */
export class Node {
  /** The configuration it was built from. */
  readonly config: Config;
  /** The chain ID it advertises. */
  readonly chainId: string;
  /** Its node key (the node ID is `nodeKey.id`). */
  readonly nodeKey: NodeKey;
  /**
   * The p2p transport.
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  readonly transport: Transport;
  /**
   * The switch.
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  readonly sw: Switch;
  /**
   * The address book.
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  readonly addrBook: AddrBook;
  /**
   * `p2p.deny_list`, applied by the transport, the switch and PEX.
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  readonly denyList: DenyList;
  /**
   * Real metrics when `instrumentation.prometheus`, else undefined (no-op hooks).
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  readonly metrics: NodeMetrics | undefined;
  readonly #log: Logger;
  readonly #p2pLog: Logger;
  readonly #routes: Route[];
  readonly #embedded: boolean;
  #rpc: RPCServer | undefined;
  #metricsServer: MetricsServer | undefined;
  #nodeInfo: NodeInfo;
  #state: NodeState = { code: "created" };
  readonly #fatal = Promise.withResolvers<Error>();

  private constructor(
    opts: NodeOptions,
    nodeKey: NodeKey,
    parts: {
      transport: Transport;
      sw: Switch;
      addrBook: AddrBook;
      denyList: DenyList;
      metrics: NodeMetrics | undefined;
      p2pLog: Logger;
    },
  ) {
    this.config = opts.config;
    this.chainId = opts.chainId;
    this.nodeKey = nodeKey;
    this.transport = parts.transport;
    this.sw = parts.sw;
    this.addrBook = parts.addrBook;
    this.denyList = parts.denyList;
    this.metrics = parts.metrics;
    this.#log = (opts.logger ?? nopLogger).with({ module: "main" });
    this.#p2pLog = parts.p2pLog;
    this.#nodeInfo = parts.transport.nodeInfo;
    this.#routes = [];
    this.#embedded = opts.embedded ?? false;
  }

  /**
   * Loads the node key and builds every component (no socket is opened).
   * @throws KeyFileError for an unreadable key file; NodeStartError for a bad address or
   *   reactor setup.
   */
  static async create(opts: NodeOptions): Promise<Node> {
    const { config } = opts;
    const root = opts.logger ?? nopLogger;
    const p2pLog = root.with({ module: "p2p" });
    await removeCrashDebris(config, root.with({ module: "main" }));
    const nodeKey = opts.nodeKey ?? await NodeKey.loadOrGen(config.nodeKeyFile);
    const metrics = config.instrumentation.prometheus
      ? new NodeMetrics({
        namespace: config.instrumentation.namespace,
        chainId: opts.chainId,
        peerLabels: config.instrumentation.peerLabels,
      })
      : undefined;
    const p2pMetrics: P2PMetrics = metrics ?? nopMetrics;
    const nodeInfo = buildNodeInfo(config, opts.chainId, nodeKey.id, []);
    let denyList: DenyList;
    try {
      denyList = new DenyList(config.p2p.denyList);
    } catch (e) {
      throw new NodeStartError(`p2p.deny_list: ${(e as Error).message}`, { cause: e });
    }
    const transport = new Transport({
      nodeKey,
      nodeInfo,
      maxIncomingConnections: config.p2p.maxNumInboundPeers +
        config.p2p.unconditionalPeerIds.length,
      maxPendingHandshakes: config.p2p.maxPendingHandshakes,
      maxPendingHandshakesPerIP: config.p2p.maxPendingHandshakesPerIp,
      allowDuplicateIP: config.p2p.allowDuplicateIp,
      connFilter: denyList.empty ? undefined : denyList.connFilter,
      logger: p2pLog,
      metrics: p2pMetrics,
    });
    const addrBook = new AddrBook({
      filePath: config.p2p.addrBookFile,
      routabilityStrict: config.p2p.addrBookStrict,
      logger: p2pLog.with({ book: config.p2p.addrBookFile }),
    });
    const sw = new Switch({
      transport,
      addrBook,
      peerFilters: denyList.empty ? [] : [denyList.peerFilter],
      logger: p2pLog,
      metrics: p2pMetrics,
      config: {
        maxNumInboundPeers: config.p2p.maxNumInboundPeers,
        maxNumOutboundPeers: config.p2p.maxNumOutboundPeers,
        allowDuplicateIP: config.p2p.allowDuplicateIp,
        reactorErrorCooldownMs: config.p2p.reactorErrorRedialCooldownMs,
        mconnConfig: {
          sendRate: config.p2p.sendRate,
          recvRate: config.p2p.recvRate,
          maxPacketMsgPayloadSize: config.p2p.maxPacketMsgPayloadSize,
          flushThrottleMs: config.p2p.flushThrottleTimeoutMs,
          pingIntervalMs: config.p2p.pingIntervalMs,
          pongTimeoutMs: config.p2p.pongTimeoutMs,
          maxWaitingSends: config.p2p.maxWaitingSendsPerPeer,
        },
      },
    });
    p2pLog.info("P2P Node ID", { ID: nodeKey.id, file: config.nodeKeyFile });
    const node = new Node(opts, nodeKey, {
      transport,
      sw,
      addrBook,
      denyList,
      metrics,
      p2pLog,
    });
    await node.#setUp(opts, root);
    return node;
  }

  async #setUp(opts: NodeOptions, root: Logger): Promise<void> {
    const { config } = this;
    const ctx: NodeContext = {
      config,
      chainId: this.chainId,
      logger: root,
      nodeKey: this.nodeKey,
      sw: this.sw,
      addrBook: this.addrBook,
      denyList: this.denyList,
      metrics: this.metrics ?? nopMetrics,
    };
    let entries: ReactorEntry[];
    try {
      entries = selectReactors(enabledReactors(config), opts.registry ?? REACTOR_REGISTRY);
    } catch (e) {
      throw new NodeStartError((e as Error).message, { cause: e });
    }
    const extraRoutes: Route[] = [];
    for (const entry of entries) {
      const built = await entry.create(ctx);
      this.sw.addReactor(entry.switchName, built.reactor);
      extraRoutes.push(...(built.routes ?? []));
    }
    // Channels are known only now: advertise them in registration order.
    this.#nodeInfo = buildNodeInfo(config, this.chainId, this.nodeKey.id, this.sw.channelIds());
    this.transport.nodeInfo = this.#nodeInfo;

    // Our own addresses, so we never dial or store ourselves (Go createAddrBookAndSetOnSwitch).
    for (
      const [key, value] of [
        ["p2p.external_address", config.p2p.externalAddress],
        ["p2p.laddr", config.p2p.laddr],
      ]
    ) {
      if (value === "") continue;
      try {
        this.addrBook.addOurAddress(
          await NetAddress.parse(idAddressString(this.nodeKey.id, value)),
        );
      } catch (e) {
        throw new NodeStartError(`${key} is incorrect: ${(e as Error).message}`, { cause: e });
      }
    }
    try {
      await this.sw.addPersistentPeers(config.p2p.persistentPeers);
      this.sw.addUnconditionalPeerIds(config.p2p.unconditionalPeerIds);
      this.sw.addPrivatePeerIds(config.p2p.privatePeerIds);
    } catch (e) {
      throw new NodeStartError(`could not add peers from config: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.#routes.push(...nodeRoutes({
      nodeInfo: () => this.#nodeInfo,
      pubKey: this.nodeKey.pubKey,
      sw: this.sw,
      isListening: () => this.transport.state.code === "listening",
      externalAddress: config.p2p.externalAddress,
      logger: root.with({ module: "rpc" }),
    }, extraRoutes));
    this.metrics?.bind({
      peers: () => this.sw.peers().list(),
      addrBookSize: () => this.addrBook.size(),
    });
  }

  /**
   * Resolves if a listener (p2p, RPC, metrics) stops accepting for a reason other than being
   * closed; never resolves otherwise. The daemon then stops and exits non-zero.
   */
  get fatal(): Promise<Error> {
    return this.#fatal.promise;
  }

  /** Forwards a component's fatal listener error to {@link fatal}, once. */
  #watchFatal(what: string, p: Promise<Error>): void {
    p.then((e) => {
      this.#log.error(`${what} no longer accepting connections`, { err: e });
      this.#fatal.resolve(e);
    });
  }

  /** Current state. */
  get state(): NodeState {
    return this.#state;
  }
  /** The NodeInfo we send. */
  get nodeInfo(): NodeInfo {
    return this.#nodeInfo;
  }
  /** The bound p2p address once listening. */
  get p2pAddr(): Deno.NetAddr | undefined {
    return this.transport.listenAddr;
  }
  /**
   * This node's RPC routes (safe and unsafe; the server filters).
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  get routes(): readonly Route[] {
    return this.#routes;
  }
  /**
   * The RPC server once started.
   * @ignore Internal component (the daemon, its RPC routes and tests use it); not library API.
   */
  get rpcServer(): RPCServer | undefined {
    return this.#rpc;
  }
  /** The bound metrics address once started. */
  get metricsAddr(): Deno.NetAddr | undefined {
    const s = this.#metricsServer?.state;
    return s?.code === "listening" ? s.addr : undefined;
  }

  /**
   * Starts everything (see the module comment). On failure, whatever started is stopped again
   * and a {@link NodeStartError} (one line, naming the setting) is thrown.
   */
  async start(): Promise<void> {
    if (this.#state.code !== "created") throw new NodeStartError(`node is ${this.#state.code}`);
    this.#state = { code: "starting" };
    this.#log.info("service start", { msg: "Starting Node service", impl: "Node" });
    try {
      await this.#start();
    } catch (e) {
      await this.#shutdown();
      this.#state = { code: "stopped" };
      if (e instanceof NodeStartError) throw e;
      throw new NodeStartError((e as Error).message, { cause: e });
    }
    this.#state = { code: "running" };
  }

  async #start(): Promise<void> {
    const { config } = this;
    const ins = config.instrumentation;
    if (this.metrics && ins.prometheusListenAddr !== "" && !this.#embedded) {
      this.#metricsServer = startMetricsServer(ins, this.metrics, this.#log);
      this.#watchFatal("Metrics server", this.#metricsServer.fatal);
    }
    if (config.rpc.laddr !== "" && !this.#embedded) {
      this.#rpc = newRPCServer(config, this.#routes, this.#log);
      await this.#rpc.start();
      this.#watchFatal("RPC server", this.#rpc.fatal);
    }
    this.#listen();
    this.#watchFatal("P2P listener", this.transport.fatal);
    await this.#checkSeeds();
    if (this.addrBook.status.code === "inactive") await this.addrBook.start();
    await this.sw.start();
    try {
      await this.sw.dialPeersAsync(config.p2p.persistentPeers);
    } catch (e) {
      throw new NodeStartError(
        `could not dial peers from persistent_peers field: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  #listen(): void {
    const laddr = this.config.p2p.laddr;
    let addr;
    try {
      addr = parseListenAddr(laddr);
    } catch (e) {
      throw new NodeStartError(`p2p.laddr ${(e as Error).message}`, { cause: e });
    }
    if (addr.kind !== "tcp") throw new NodeStartError(`p2p.laddr "${laddr}": must be tcp://`);
    let bound: Deno.NetAddr;
    try {
      bound = this.transport.listen({ hostname: addr.hostname, port: addr.port });
    } catch (e) {
      const why = e instanceof Deno.errors.AddrInUse
        ? "address already in use (another node running? set p2p.laddr)"
        : (e as Error).message;
      throw new NodeStartError(`p2p.laddr ${laddr}: ${why}`, { cause: e });
    }
    // With port 0 the advertised address would be useless: advertise the bound port. Safe to
    // swap now: no inbound handshake can have started before this synchronous step.
    if (addr.port === 0 && this.config.p2p.externalAddress === "") {
      const listenAddr = `tcp://${addr.hostname}:${bound.port}`;
      this.#nodeInfo = { ...this.#nodeInfo, listenAddr };
      this.transport.nodeInfo = this.#nodeInfo;
      // The book knew us only as port 0; teach it the address peers will gossip back.
      const ours = NetAddress.parseNoLookup(idAddressString(this.nodeKey.id, listenAddr));
      this.addrBook.addOurAddress(ours);
    }
  }

  /**
   * Go's PEX `checkSeeds`: a malformed seed is fatal; a seed whose host does not resolve is
   * logged; if no seed resolves and the address book is empty, start-up fails. A seed that
   * resolves but is down is the PEX reactor's business (never fatal).
   */
  async #checkSeeds(): Promise<void> {
    const seeds = this.config.p2p.seeds;
    if (seeds.length === 0 || !this.config.p2p.pex) return;
    const failures: string[] = [];
    for (const s of seeds) {
      try {
        await NetAddress.parse(s);
      } catch (e) {
        if (!(e instanceof NetAddressLookupError)) {
          throw new NodeStartError(`p2p.seeds: ${(e as Error).message}`, { cause: e });
        }
        this.#p2pLog.error("Couldn't resolve seed address", { addr: s, err: e });
        failures.push(`${s} (${e.message})`);
      }
    }
    if (failures.length < seeds.length) return;
    if (this.addrBook.status.code === "inactive") await this.addrBook.start();
    if (this.addrBook.empty()) {
      throw new NodeStartError(
        `p2p.seeds: address book is empty and couldn't resolve any seed nodes: ${
          failures.join(", ")
        }`,
      );
    }
  }

  /** Stops everything in reverse order; idempotent, resolves when every socket is closed. */
  stop(): Promise<void> {
    const s = this.#state;
    if (s.code === "stopped") return Promise.resolve();
    if (s.code === "stopping") return s.done;
    const done = (async () => {
      this.#log.info("Stopping Node");
      await this.#shutdown();
      this.#state = { code: "stopped" };
      this.#log.info("service stop", { msg: "Stopping Node service", impl: "Node" });
    })();
    this.#state = { code: "stopping", done };
    return done;
  }

  async #shutdown(): Promise<void> {
    await this.#step("RPC server", () => this.#rpc?.stop());
    await this.#step("switch", () => this.sw.state === "created" ? undefined : this.sw.stop());
    await this.#step("address book", async () => {
      if (this.addrBook.status.code === "active") await this.addrBook.stop();
    });
    await this.#step("transport", () => this.transport.close());
    await this.#step("metrics server", () => this.#metricsServer?.stop());
  }

  async #step(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.#log.error(`Error stopping ${what}`, { err: e });
    }
  }
}
