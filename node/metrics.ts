/**
 * The daemon's Prometheus metrics (spec §17): a prom-client {@link Registry} implementing the
 * p2p layer's {@link P2PMetrics} hooks with CometBFT's series names under the configured
 * namespace (`<namespace>_p2p_<name>`) and the constant `chain_id` label, plus switchyard's own
 * series (inbound/outbound peers, dial outcomes, rejected inbound connections, failed sends,
 * address book size), and the `process_*` series of Go's process collector
 * (`process_metrics.ts`).
 *
 * Cardinality: CometBFT labels the per-peer series with `peer_id`. That is one series per peer
 * ever seen, never deleted, so here it is opt-in (`instrumentation.peer_labels = true`); by
 * default the same series exist without `peer_id`, aggregated over all peers.
 * @module
 */
import client from "prom-client";
import {
  channelLabel,
  type DialOutcome,
  type P2PMetrics,
  type SendFailureReason,
} from "../p2p/metrics.ts";
import { processMetricsRegistry } from "./process_metrics.ts";

/** CometBFT's metrics subsystem of the p2p layer. */
export const P2P_SUBSYSTEM = "p2p";

/** Options of {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  /** `instrumentation.namespace` (CometBFT default `cometbft`). */
  namespace: string;
  /** Value of the constant `chain_id` label. */
  chainId: string;
  /** Label per-peer series with `peer_id` (`instrumentation.peer_labels`). */
  peerLabels: boolean;
}

/** A connected peer as the collect-time gauges need it. */
export interface MetricsPeer {
  readonly id: string;
  readonly isOutbound: boolean;
}

/** Live state read when a scrape happens (so gauges never drift from the truth). */
export interface MetricsSource {
  /** The peers currently in the peer set. */
  peers(): Iterable<MetricsPeer>;
  /** Address book size, or undefined when there is no book. */
  addrBookSize(): number | undefined;
}

/** CometBFT help strings, verbatim (spec §17.2). */
const HELP = {
  peers: "Number of peers.",
  peerReceive: "Number of bytes received from a given peer.",
  peerSend: "Number of bytes sent to a given peer.",
  peerPending: "Pending bytes to be sent to a given peer.",
  msgReceive: "Number of bytes of each message type received.",
  msgSend: "Number of bytes of each message type sent.",
} as const;

/** The daemon's metrics registry; pass it as `metrics` to the transport, switch and peers. */
export class NodeMetrics implements P2PMetrics {
  /** The registry to expose (only this node's series; no process-wide defaults). */
  readonly registry: client.Registry;
  readonly #peerLabels: boolean;
  readonly #peers: client.Gauge;
  readonly #peerReceive: client.Counter;
  readonly #peerSend: client.Counter;
  readonly #peerPending: client.Gauge;
  readonly #msgReceive: client.Counter;
  readonly #msgSend: client.Counter;
  readonly #dials: client.Counter;
  readonly #inboundRejected: client.Counter;
  readonly #sendFailures: client.Counter;
  readonly #inboundPeers: client.Gauge;
  readonly #outboundPeers: client.Gauge;
  readonly #bookSize: client.Gauge;
  /** Last pending-send sample per peer, for the aggregate gauge (pruned at scrape time). */
  readonly #pending = new Map<string, number>();
  #source: MetricsSource | undefined;
  /** `process_*` series, in their own registry: Go's carry no `chain_id` label. */
  readonly #process = processMetricsRegistry();

  constructor(opts: NodeMetricsOptions) {
    this.#peerLabels = opts.peerLabels;
    const registry = new client.Registry();
    registry.setDefaultLabels({ chain_id: opts.chainId });
    this.registry = registry;
    const name = (n: string) => `${opts.namespace}_${P2P_SUBSYSTEM}_${n}`;
    const registers = [registry];
    const peerId = opts.peerLabels ? ["peer_id"] : [];
    this.#peers = new client.Gauge({ name: name("peers"), help: HELP.peers, registers });
    this.#peerReceive = new client.Counter({
      name: name("peer_receive_bytes_total"),
      help: HELP.peerReceive,
      labelNames: [...peerId, "chID"],
      registers,
    });
    this.#peerSend = new client.Counter({
      name: name("peer_send_bytes_total"),
      help: HELP.peerSend,
      labelNames: [...peerId, "chID"],
      registers,
    });
    const pendingGauge: client.Gauge = new client.Gauge({
      name: name("peer_pending_send_bytes"),
      help: HELP.peerPending,
      labelNames: peerId,
      registers,
      collect: () => {
        // Without peer labels the gauge is the sum over the peers still connected.
        if (this.#peerLabels) return;
        const live = this.#liveIds();
        let sum = 0;
        for (const [id, n] of this.#pending) {
          if (live && !live.has(id)) this.#pending.delete(id);
          else sum += n;
        }
        pendingGauge.set(sum);
      },
    });
    this.#peerPending = pendingGauge;
    this.#msgReceive = new client.Counter({
      name: name("message_receive_bytes_total"),
      help: HELP.msgReceive,
      labelNames: ["message_type"],
      registers,
    });
    this.#msgSend = new client.Counter({
      name: name("message_send_bytes_total"),
      help: HELP.msgSend,
      labelNames: ["message_type"],
      registers,
    });
    this.#inboundPeers = new client.Gauge({
      name: name("inbound_peers"),
      help: "Number of inbound peers (switchyard).",
      registers,
      collect: () => this.#inboundPeers.set(this.#count(false)),
    });
    this.#outboundPeers = new client.Gauge({
      name: name("outbound_peers"),
      help: "Number of outbound peers (switchyard).",
      registers,
      collect: () => this.#outboundPeers.set(this.#count(true)),
    });
    this.#bookSize = new client.Gauge({
      name: name("addrbook_size"),
      help: "Number of addresses in the address book (switchyard).",
      registers,
      collect: () => this.#bookSize.set(this.#source?.addrBookSize() ?? 0),
    });
    this.#dials = new client.Counter({
      name: name("dials_total"),
      help: "Outbound dials by outcome: success or the failure reason (switchyard).",
      labelNames: ["outcome"],
      registers,
    });
    this.#inboundRejected = new client.Counter({
      name: name("inbound_rejected_total"),
      help: "Inbound connections refused before becoming peers, by reason (switchyard).",
      labelNames: ["reason"],
      registers,
    });
    this.#sendFailures = new client.Counter({
      name: name("send_failures_total"),
      help: "Messages a reactor could not queue, by reason (switchyard).",
      labelNames: ["reason"],
      registers,
    });
  }

  /** Connects the collect-time gauges to the running node. */
  bind(source: MetricsSource): void {
    this.#source = source;
  }

  /** The text exposition of every series: this node's, then the process's (`process_*`). */
  async metrics(): Promise<string> {
    return (await this.registry.metrics()) + (await this.#process.metrics());
  }

  /** Content-Type of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  #liveIds(): Set<string> | undefined {
    if (!this.#source) return undefined;
    const ids = new Set<string>();
    for (const p of this.#source.peers()) ids.add(p.id);
    return ids;
  }

  #count(outbound: boolean): number {
    let n = 0;
    for (const p of this.#source?.peers() ?? []) if (p.isOutbound === outbound) n++;
    return n;
  }

  // ---- P2PMetrics --------------------------------------------------------------------------

  peersAdd(delta: number): void {
    this.#peers.inc(delta);
  }

  peerReceiveBytes(peerId: string, channelId: number, messageType: string, bytes: number): void {
    const chID = channelLabel(channelId);
    this.#peerReceive.inc(this.#peerLabels ? { peer_id: peerId, chID } : { chID }, bytes);
    this.#msgReceive.inc({ message_type: messageType }, bytes);
  }

  peerSendBytes(peerId: string, channelId: number, messageType: string, bytes: number): void {
    const chID = channelLabel(channelId);
    this.#peerSend.inc(this.#peerLabels ? { peer_id: peerId, chID } : { chID }, bytes);
    this.#msgSend.inc({ message_type: messageType }, bytes);
  }

  peerPendingSend(peerId: string, queuedMessages: number): void {
    if (this.#peerLabels) this.#peerPending.set({ peer_id: peerId }, queuedMessages);
    else this.#pending.set(peerId, queuedMessages);
  }

  sendFailure(reason: SendFailureReason): void {
    this.#sendFailures.inc({ reason });
  }

  dialOutcome(outcome: DialOutcome): void {
    this.#dials.inc({ outcome });
  }

  inboundRejected(kind: string): void {
    this.#inboundRejected.inc({ reason: kind });
  }
}
