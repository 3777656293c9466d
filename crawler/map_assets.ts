/**
 * The stylesheet and script inlined into the crawl map page (`html.ts`). The script is plain
 * browser JavaScript, written for this page (no library): a seeded force-directed layout
 * (pairwise repulsion, spring edges, centring, cooling) computed once and drawn as SVG, a
 * colour mode switch (version / reachability), and a table that sorts on a header click and
 * filters on typed text; the URL fragment can preset the view
 * (`#q=0.38.24&sort=latency%20ms&dir=desc&colour=reachability`). Peer-supplied strings (monikers, versions) only ever reach the page
 * through `textContent` and SVG `<title>` text nodes, never as markup.
 * @module
 */

/** The page's CSS. */
export const MAP_CSS = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { padding: 10px 16px; background: #1d2330; color: #fff; }
header h1 { font-size: 16px; margin: 0; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 1fr); gap: 12px; padding: 12px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 8px; }
#graph { width: 100%; height: 620px; display: block; }
#graph line { stroke: #9aa5b5; stroke-opacity: 0.45; }
#graph circle { stroke: #fff; stroke-width: 1; }
#legend span { display: inline-block; margin-right: 10px; }
#legend i { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
th { cursor: pointer; background: #f0f2f5; position: sticky; top: 0; }
#tablewrap { max-height: 480px; overflow: auto; }
.ok { color: #1b7f3b; } .bad { color: #b3261e; } .mono { font-family: ui-monospace, monospace; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; }
dt { color: #5b6575; }
`;

/** The page's script; reads the JSON in `<script id="crawl-data">`. */
export const MAP_JS = `
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("crawl-data").textContent);
  const nodes = data.nodes, edges = data.edges;
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const degree = new Array(nodes.length).fill(0);
  const links = [];
  for (const [a, b] of edges) {
    const i = index.get(a), j = index.get(b);
    if (i === undefined || j === undefined) continue;
    links.push([i, j]);
    degree[i]++;
    degree[j]++;
  }
  nodes.forEach((n, i) => { n.degree = degree[i]; });

  // Seeded random (mulberry32) so one crawl always draws the same picture.
  let seed = 0x2f6b1d;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const W = 1000, H = 620;
  const pos = nodes.map(() => ({ x: W / 2 + (rand() - 0.5) * W * 0.8, y: H / 2 + (rand() - 0.5) * H * 0.8, vx: 0, vy: 0 }));
  const n = nodes.length;
  const k = Math.sqrt((W * H) / Math.max(1, n)) * 0.45;
  const iterations = n > 600 ? 120 : 300;
  for (let it = 0; it < iterations; it++) {
    const temp = 1 - it / iterations;
    for (let i = 0; i < n; i++) {
      const p = pos[i];
      for (let j = i + 1; j < n; j++) {
        const q = pos[j];
        let dx = p.x - q.x, dy = p.y - q.y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) { dx = rand() - 0.5; dy = rand() - 0.5; d2 = 0.01; }
        const f = (k * k) / d2;
        p.vx += dx * f; p.vy += dy * f; q.vx -= dx * f; q.vy -= dy * f;
      }
    }
    for (const [i, j] of links) {
      const p = pos[i], q = pos[j];
      const dx = p.x - q.x, dy = p.y - q.y;
      const d = Math.sqrt(dx * dx + dy * dy) || 0.01;
      const f = d / k;
      p.vx -= dx * f; p.vy -= dy * f; q.vx += dx * f; q.vy += dy * f;
    }
    for (const p of pos) {
      p.vx += (W / 2 - p.x) * 0.03; p.vy += (H / 2 - p.y) * 0.03;
      const v = Math.sqrt(p.vx * p.vx + p.vy * p.vy) || 1;
      const step = Math.min(v, 30 * temp + 0.5);
      p.x = Math.min(W - 10, Math.max(10, p.x + (p.vx / v) * step));
      p.y = Math.min(H - 10, Math.max(10, p.y + (p.vy / v) * step));
      p.vx = 0; p.vy = 0;
    }
  }

  const palette = ["#3b6fd8", "#e0833a", "#2d9c6a", "#9b59b6", "#c0392b", "#16a2b8", "#b58b00", "#7f8c8d", "#d35d9b", "#5d6d3a"];
  const versions = [...new Set(nodes.filter((d) => d.reachable).map((d) => d.version || "(empty)"))].sort();
  const colorOf = {
    version: (d) => d.reachable ? palette[versions.indexOf(d.version || "(empty)") % palette.length] : "#c4c9d1",
    reachability: (d) => d.reachable ? "#2d9c6a" : d.failure ? "#c0392b" : "#c4c9d1",
  };
  const legendOf = {
    version: () => versions.map((v, i) => [palette[i % palette.length], v]).concat([["#c4c9d1", "not reached"]]),
    reachability: () => [["#2d9c6a", "reachable"], ["#c0392b", "failed"], ["#c4c9d1", "untried"]],
  };

  const NS = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("graph");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  for (const [i, j] of links) {
    const l = document.createElementNS(NS, "line");
    l.setAttribute("x1", pos[i].x.toFixed(1)); l.setAttribute("y1", pos[i].y.toFixed(1));
    l.setAttribute("x2", pos[j].x.toFixed(1)); l.setAttribute("y2", pos[j].y.toFixed(1));
    svg.appendChild(l);
  }
  const circles = nodes.map((d, i) => {
    const c = document.createElementNS(NS, "circle");
    c.setAttribute("class", "node");
    c.setAttribute("cx", pos[i].x.toFixed(1)); c.setAttribute("cy", pos[i].y.toFixed(1));
    c.setAttribute("r", (4 + 2.2 * Math.sqrt(d.degree)).toFixed(1));
    const t = document.createElementNS(NS, "title");
    t.textContent = (d.moniker || d.id.slice(0, 12)) + " " + (d.version || "") + " (" + (d.reachable ? "reachable" : d.failure || "untried") + ", degree " + d.degree + ")";
    c.appendChild(t);
    svg.appendChild(c);
    return c;
  });
  const legend = document.getElementById("legend");
  function paint(mode) {
    circles.forEach((c, i) => c.setAttribute("fill", colorOf[mode](nodes[i])));
    legend.replaceChildren(...legendOf[mode]().map(([color, label]) => {
      const s = document.createElement("span");
      const dot = document.createElement("i");
      dot.style.background = color;
      s.append(dot, label);
      return s;
    }));
  }
  const modeSel = document.getElementById("colour");
  modeSel.addEventListener("change", () => paint(modeSel.value));
  paint(modeSel.value);

  const cols = [
    ["id", (d) => d.id], ["moniker", (d) => d.moniker || ""], ["version", (d) => d.version || ""],
    ["state", (d) => d.reachable ? "reachable" : d.failure || "untried"],
    ["latency ms", (d) => d.latency_ms ?? Infinity], ["degree", (d) => d.degree],
    ["address", (d) => d.addr], ["network", (d) => d.network || ""],
  ];
  const thead = document.querySelector("#nodes thead tr"), tbody = document.querySelector("#nodes tbody");
  let sortCol = 3, sortDir = 1;
  cols.forEach(([name], ci) => {
    const th = document.createElement("th");
    th.textContent = name;
    th.addEventListener("click", () => { sortDir = sortCol === ci ? -sortDir : 1; sortCol = ci; render(); });
    thead.appendChild(th);
  });
  const filter = document.getElementById("filter");
  filter.addEventListener("input", render);
  // A link may carry the view: #q=<filter>&sort=<column>&dir=desc&colour=reachability.
  const view = new URLSearchParams(location.hash.slice(1));
  if (view.has("q")) filter.value = view.get("q");
  const wanted = cols.findIndex(([name]) => name === view.get("sort"));
  if (wanted >= 0) sortCol = wanted;
  if (view.get("dir") === "desc") sortDir = -1;
  if (view.get("colour") === "reachability") { modeSel.value = "reachability"; paint("reachability"); }
  function render() {
    const q = filter.value.trim().toLowerCase();
    const get = cols[sortCol][1];
    const rows = nodes.filter((d) => !q || cols.some(([, f]) => String(f(d)).toLowerCase().includes(q)))
      .sort((a, b) => { const x = get(a), y = get(b); return (x < y ? -1 : x > y ? 1 : 0) * sortDir; });
    tbody.replaceChildren(...rows.map((d) => {
      const tr = document.createElement("tr");
      cols.forEach(([name, f]) => {
        const td = document.createElement("td");
        const v = f(d);
        td.textContent = v === Infinity ? "" : String(v);
        if (name === "id") td.className = "mono";
        if (name === "state") td.className = d.reachable ? "ok" : "bad";
        tr.appendChild(td);
      });
      return tr;
    }));
    document.getElementById("shown").textContent = rows.length + " of " + nodes.length;
  }
  render();
  document.body.dataset.rendered = String(circles.length);
})();
`;
