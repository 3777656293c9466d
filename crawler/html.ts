/**
 * The crawl map page: one self-contained HTML file (inline CSS, script and data; it loads
 * nothing from the network) with the peer graph (`map_assets.ts` lays it out and draws it),
 * a sortable, filterable node table and the crawl summary.
 *
 * The data travels as JSON inside `<script type="application/json">` with every `<` escaped,
 * so no peer-supplied string (moniker, version) can close the script element or add markup.
 * @module
 */
import { writeFileAtomic } from "../libs/tempfile.ts";
import type { CrawlResult } from "./crawl.ts";
import { MAP_CSS, MAP_JS } from "./map_assets.ts";
import { type CrawlSummary, summarize } from "./summary.ts";

/** Mode of the written page. */
const PAGE_FILE_MODE = 0o644;

/** One node as the page's script reads it. */
export interface MapNode {
  id: string;
  moniker?: string;
  version?: string;
  network?: string;
  reachable: boolean;
  failure?: string;
  latency_ms?: number;
  /** The fastest reachable address, else the first one seen. */
  addr: string;
}

/** The page's data: nodes, `[from, to]` edges and the summary. */
export interface MapData {
  nodes: MapNode[];
  edges: [string, string][];
  summary: CrawlSummary;
}

/** The data embedded in the page. */
export function mapData(r: CrawlResult): MapData {
  const nodes = r.nodes.map((n): MapNode => {
    const best = n.addrs.filter((a) => a.state === "reachable")
      .sort((a, b) => (a.latencyMs ?? 0) - (b.latencyMs ?? 0))[0] ?? n.addrs[0];
    return {
      id: n.id,
      moniker: n.info?.moniker,
      version: n.info?.version,
      network: n.info?.network,
      reachable: n.reachable,
      failure: n.failure,
      latency_ms: n.latencyMs,
      addr: best?.addr ?? "",
    };
  });
  return { nodes, edges: r.edges, summary: summarize(r) };
}

/** Escapes text for HTML element content and attribute values. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function summaryHtml(s: CrawlSummary): string {
  const rows: [string, string][] = [
    ["chain", s.chain_id],
    ["started", s.started],
    ["duration", `${(s.duration_ms / 1000).toFixed(1)} s (${s.end})`],
    ["found", String(s.found)],
    ["reached", String(s.reached)],
    ["failed", String(s.failed)],
    ["untried", String(s.untried)],
    ["reachable share", `${(s.reachable_share * 100).toFixed(1)}%`],
    ["edges", String(s.edges)],
  ];
  if (s.dropped > 0) rows.push(["not recorded (table full)", String(s.dropped)]);
  for (const [v, n] of Object.entries(s.by_version)) rows.push([`version ${v}`, String(n)]);
  for (const [r, n] of Object.entries(s.by_failure)) rows.push([`failure ${r}`, String(n)]);
  for (const [net, n] of Object.entries(s.other_networks)) rows.push([`network ${net}`, String(n)]);
  return `<dl id="summary">${
    rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")
  }</dl>`;
}

/** The page's HTML text. */
export function renderMapPage(r: CrawlResult): string {
  const data = mapData(r);
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const title = `switchyard crawl: ${data.summary.chain_id}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${MAP_CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1></header>
<main>
<section>
<label>colour by <select id="colour"><option value="version">version</option><option value="reachability">reachability</option></select></label>
<div id="legend"></div>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="peer graph"></svg>
</section>
<section><h2>Summary</h2>${summaryHtml(data.summary)}</section>
<section style="grid-column: 1 / -1">
<label>filter <input id="filter" type="search" placeholder="id, moniker, version, state..."></label>
<span id="shown"></span>
<div id="tablewrap"><table id="nodes"><thead><tr></tr></thead><tbody></tbody></table></div>
</section>
</main>
<script type="application/json" id="crawl-data">${json}</script>
<script>${MAP_JS}</script>
</body>
</html>
`;
}

/** Writes the map page of `r` to `path` atomically. */
export async function writeMapPage(path: string, r: CrawlResult): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(renderMapPage(r)), PAGE_FILE_MODE);
}
