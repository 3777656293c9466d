/**
 * Building and starting a switch in code (what `node/node.ts` does for the daemon, minus the
 * config file, address book, RPC and metrics): a node key, a transport listening on the given
 * address, the NodeInfo advertising every registered channel, the reactors, and `start`. For
 * embedding switchyard in a program or a test; the daemon is `Node.create` from a `Config`.
 * @module
 */
import { NodeKey } from "./key.ts";
import { NetAddress } from "./netaddress.ts";
import { makeNodeInfo, type NodeInfo } from "./node_info.ts";
import type { Logger, Reactor, ReactorSwitch } from "./reactor_api.ts";
import { Switch } from "./switch.ts";
import type { SwitchState } from "./switch_config.ts";
import { Transport } from "./transport.ts";
import { nopLogger } from "../libs/log.ts";

/** Settings of a {@link createSwitch} switch; every one defaults to CometBFT's value. */
export interface LocalSwitchConfig {
  /** Inbound peers accepted (`max_num_inbound_peers`, 40). */
  readonly maxNumInboundPeers?: number;
  /** Outbound peers PEX aims for (`max_num_outbound_peers`, 10). */
  readonly maxNumOutboundPeers?: number;
  /** Accept several peers from one IP (`allow_duplicate_ip`, false). */
  readonly allowDuplicateIP?: boolean;
  /** Upper bound of the random delay before each `dialPeersAsync` dial (3000 ms). */
  readonly dialRandomizerMs?: number;
  /** Send rate per peer in B/s, 0 = unlimited (`send_rate`, 5120000). */
  readonly sendRate?: number;
  /** Receive rate per peer in B/s, 0 = unlimited (`recv_rate`, 5120000). */
  readonly recvRate?: number;
  /** Flush throttle in ms (`flush_throttle_timeout`, 100). */
  readonly flushThrottleMs?: number;
  /** Sends that may wait for queue room per peer (`max_waiting_sends_per_peer`, 1024). */
  readonly maxWaitingSends?: number;
}

/** The switch of a {@link LocalSwitch}: the reactor-facing surface plus its lifecycle. */
export interface ManagedSwitch extends ReactorSwitch {
  /** Lifecycle state. */
  readonly state: SwitchState;
  /** Starts every reactor, then accepts and dials (see `Switch.start`). */
  start(): Promise<void>;
  /** Stops every peer, every reactor, then the transport. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link createSwitch}. */
export interface CreateSwitchOptions {
  /** Reactors in registration order, as `[name, reactor]` pairs. */
  readonly reactors: Iterable<readonly [string, Reactor]>;
  /** The chain ID (NodeInfo `network`): peers must advertise the same. */
  readonly network: string;
  /** Our moniker (default `switchyard-<first 6 hex of our ID>`). */
  readonly moniker?: string;
  /** The node key (default: a new random one). */
  readonly key?: NodeKey;
  /** Where to listen (default 127.0.0.1, any free port); `false`: dial only. */
  readonly listen?: { readonly hostname: string; readonly port: number } | false;
  /** Switch and connection settings. */
  readonly config?: LocalSwitchConfig;
  /** Logger (default: silent). */
  readonly logger?: Logger;
  /** Start the switch before returning (default true). */
  readonly start?: boolean;
}

/** A switch built by {@link createSwitch}. */
export interface LocalSwitch {
  /** Our node key. */
  readonly key: NodeKey;
  /** The switch (its reactors are registered; started unless `start: false`). */
  readonly sw: ManagedSwitch;
  /** The NodeInfo we advertise. */
  readonly nodeInfo: NodeInfo;
  /** Our dialable address (`id@host:port`), when listening. */
  readonly addr: NetAddress | undefined;
  /** Stops the switch (every peer, every reactor, the transport). */
  stop(): Promise<void>;
}

/**
 * Builds a switch with `reactors`, listening on `listen`, and starts it. Rejects with the
 * switch's error if a reactor's start fails (the switch is then stopped).
 */
export async function createSwitch(opts: CreateSwitchOptions): Promise<LocalSwitch> {
  const key = opts.key ?? NodeKey.generate();
  const logger = opts.logger ?? nopLogger;
  const moniker = opts.moniker ?? `switchyard-${key.id.slice(0, 6)}`;
  const c = opts.config ?? {};
  const allowDuplicateIP = c.allowDuplicateIP ?? false;
  const placeholder = makeNodeInfo({ id: key.id, network: opts.network, moniker, channels: [] });
  const transport = new Transport({
    nodeKey: key,
    nodeInfo: placeholder,
    logger,
    allowDuplicateIP,
  });
  const mconnConfig = {
    sendRate: c.sendRate,
    recvRate: c.recvRate,
    flushThrottleMs: c.flushThrottleMs,
    maxWaitingSends: c.maxWaitingSends,
  };
  const sw = new Switch({
    transport,
    logger,
    config: {
      allowDuplicateIP,
      ...(c.maxNumInboundPeers === undefined ? {} : { maxNumInboundPeers: c.maxNumInboundPeers }),
      ...(c.maxNumOutboundPeers === undefined
        ? {}
        : { maxNumOutboundPeers: c.maxNumOutboundPeers }),
      ...(c.dialRandomizerMs === undefined ? {} : { dialRandomizerMs: c.dialRandomizerMs }),
      mconnConfig,
    },
  });
  for (const [name, reactor] of opts.reactors) sw.addReactor(name, reactor);
  const listen = opts.listen ?? { hostname: "127.0.0.1", port: 0 };
  let addr: NetAddress | undefined;
  let listenAddr: string | undefined;
  if (listen !== false) {
    const la = transport.listen(listen);
    const host = la.hostname.includes(":") ? `[${la.hostname}]` : la.hostname;
    listenAddr = `tcp://${host}:${la.port}`;
    addr = NetAddress.fromIPPort(la.hostname, la.port, key.id);
  }
  const nodeInfo = makeNodeInfo({
    id: key.id,
    network: opts.network,
    moniker,
    channels: sw.channelIds(),
    ...(listenAddr === undefined ? {} : { listenAddr }),
  });
  transport.nodeInfo = nodeInfo;
  try {
    if (opts.start ?? true) await sw.start();
  } catch (e) {
    await sw.stop();
    throw e;
  }
  return { key, sw, nodeInfo, addr, stop: () => sw.stop() };
}
