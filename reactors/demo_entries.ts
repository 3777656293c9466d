/**
 * Registry entries of the built-in demo reactors (`node.reactors` names `tx_relay`,
 * `consensus_watcher`, `chat`), kept next to the reactors so `registry.ts` stays a table.
 *
 * Wiring done here:
 * - the relay stamps txs with the watcher's highest height seen (found on the switch, if the
 *   watcher is enabled too);
 * - the watcher's heights become Prometheus gauges when the node's metrics object has a
 *   prom-client registry (per peer only with `instrumentation.peer_labels`);
 * - chat lines are printed on stdout (`<moniker>: <text>`), the demo's visible output.
 * @module
 */
import client from "prom-client";
import type { BuiltReactor, NodeContext, ReactorEntry } from "./registry.ts";
import { ChatReactor } from "./chat.ts";
import { ConsensusWatcher, type WatcherMetrics } from "./consensus_watcher.ts";
import { TxRelay } from "./tx_relay.ts";
import { lineProfile } from "../p2p/cometbft_line.ts";

/** `Switch.addReactor` names (CometBFT's for the channels we share with it). */
export const SWITCH_NAMES = {
  tx_relay: "MEMPOOL",
  consensus_watcher: "CONSENSUS",
  chat: "CHAT",
} as const;

/**
 * Gauges `<ns>_consensus_watcher_max_height` and, with `peerLabels`
 * (`instrumentation.peer_labels`), `<ns>_consensus_watcher_peer_height{peer_id}`: one series per
 * peer is opt-in, as for the p2p series (cardinality), and without a peer label a per-peer height
 * means nothing, so that gauge is left out. Counter `…_unknown_messages_total`.
 */
export function promWatcherMetrics(
  registry: client.Registry,
  namespace = "cometbft",
  peerLabels = false,
): WatcherMetrics {
  const peerHeight = peerLabels
    ? new client.Gauge({
      name: `${namespace}_consensus_watcher_peer_height`,
      help: "Consensus height last reported by a peer (NewRoundStep on 0x20).",
      labelNames: ["peer_id"],
      registers: [registry],
    })
    : undefined;
  const maxHeight = new client.Gauge({
    name: `${namespace}_consensus_watcher_max_height`,
    help: "Highest consensus height reported by any peer (what we announce).",
    registers: [registry],
  });
  const unknown = new client.Counter({
    name: `${namespace}_consensus_watcher_unknown_messages_total`,
    help: "Consensus messages ignored because their kind is unknown to our cometbft_line.",
    registers: [registry],
  });
  return {
    peerHeight: (id, h) => peerHeight?.set({ peer_id: id }, h),
    peerRemoved: (id) => peerHeight?.remove({ peer_id: id }),
    maxHeight: (h) => maxHeight.set(h),
    unknownMessage: () => unknown.inc(),
  };
}

function registryOf(ctx: NodeContext): client.Registry | undefined {
  const r = (ctx.metrics as { registry?: unknown }).registry;
  return r instanceof client.Registry ? r : undefined;
}

/** `consensus_watcher`. */
export const consensusWatcherEntry: ReactorEntry = {
  name: "consensus_watcher",
  switchName: SWITCH_NAMES.consensus_watcher,
  create(ctx: NodeContext): BuiltReactor {
    const registry = registryOf(ctx);
    const watcher = new ConsensusWatcher({
      line: lineProfile(ctx.config.cometbftLine),
      logger: ctx.logger.with({ module: "consensus" }),
      metrics: registry
        ? promWatcherMetrics(
          registry,
          ctx.config.instrumentation.namespace,
          ctx.config.instrumentation.peerLabels,
        )
        : undefined,
    });
    return { reactor: watcher };
  },
};

/** `tx_relay`. */
export const txRelayEntry: ReactorEntry = {
  name: "tx_relay",
  switchName: SWITCH_NAMES.tx_relay,
  create(ctx: NodeContext): BuiltReactor {
    const log = ctx.logger.with({ module: "mempool" });
    const relay = new TxRelay({
      line: lineProfile(ctx.config.cometbftLine),
      logger: log,
      onTx: (e, from) => log.info("New tx", { hash: e.hash, from: from?.id ?? "rpc" }),
    });
    return { reactor: relay, routes: relay.routes() };
  },
};

/** `chat`. */
export const chatEntry: ReactorEntry = {
  name: "chat",
  switchName: SWITCH_NAMES.chat,
  create(ctx: NodeContext): BuiltReactor {
    const chat = new ChatReactor({
      nodeId: ctx.nodeKey.id,
      moniker: ctx.config.moniker,
      logger: ctx.logger.with({ module: "chat" }),
      onLine: (l) => console.log(`[chat] ${l.moniker}: ${l.text}`),
    });
    return { reactor: chat, routes: chat.routes() };
  },
};
