/**
 * One Prometheus exposition for several chains: each chain's {@link NodeMetrics} registry
 * carries the constant `chain_id` label, and the families of all of them are merged by name
 * (a text exposition may hold each family once). Cardinality stays bounded: one `chain_id`
 * value per configured chain, and a removed chain's series go with it.
 * @module
 */
import client from "prom-client";
import type { NodeMetrics } from "./metrics.ts";
import type { MetricsSourceText } from "./metrics_server.ts";
import { processMetricsRegistry } from "./process_metrics.ts";

/** Merges the registries of the chains `sources` returns at scrape time. */
export class ChainsMetrics implements MetricsSourceText {
  readonly #sources: () => Iterable<NodeMetrics>;
  /** `process_*` series: one set for the process, without a `chain_id` label (as Go's). */
  readonly #process = processMetricsRegistry();

  constructor(sources: () => Iterable<NodeMetrics>) {
    this.#sources = sources;
  }

  /** The text exposition of every chain's series, one family per name. */
  async metrics(): Promise<string> {
    const parts = await Promise.all([
      ...[...this.#sources()].map((m) => m.registry.getMetricsAsJSON()),
      this.#process.getMetricsAsJSON(),
    ]);
    // Series of different chains differ in chain_id, so the aggregation never sums two chains.
    return await client.AggregatorRegistry.aggregate(parts).metrics();
  }

  /** Prometheus text format. */
  get contentType(): string {
    return client.Registry.PROMETHEUS_CONTENT_TYPE;
  }
}
