/**
 * The crawl map page in headless Chromium (Debian's `chromium`; `.ci/run` installs it): a crawl
 * of an in-process network on 127.0.0.x is rendered, the page opened from a file with every
 * network path closed (proxy to a dead loopback port, no DNS), and the rendered DOM must hold
 * one graph circle per crawled node and one line per edge, the table every node, and the
 * browser must log no console message (no script error). A screenshot is taken;
 * `CRAWL_MAP_SCREENSHOT=docs/crawl-map.png` keeps it there.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { crawl } from "../crawler/crawl.ts";
import { writeMapPage } from "../crawler/html.ts";
import {
  type CrawlTestNode,
  deadAddressOn,
  startCrawlNode,
  stopCrawlNodes,
  teach,
} from "./util/crawl_net.ts";
import { entryOf, startHostilePexNode } from "./util/hostile_pex.ts";

const CHAIN = "crawl-map-test";

function findChromium(): string | null {
  const env = Deno.env.get("CHROMIUM_BIN");
  for (const c of [env, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (c && Deno.statSync(c).isFile) return c;
  }
  return null;
}

function chromiumOrNull(): string | null {
  try {
    return findChromium();
  } catch {
    return null;
  }
}

const CHROMIUM = chromiumOrNull();
const CI = Deno.env.get("CI") === "true";

/** Flags that keep Chromium off the network and quiet: every request would go to 127.0.0.1:9. */
const OFFLINE_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--proxy-server=127.0.0.1:9",
  "--host-resolver-rules=MAP * ~NOTFOUND",
];

async function chromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(CHROMIUM!, {
    args: [...OFFLINE_FLAGS, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A network of `n` nodes on 127.0.1.x: a tree with cross links, two versions, dead addresses. */
async function startNetwork(n: number): Promise<CrawlTestNode[]> {
  const nodes: CrawlTestNode[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push(
      await startCrawlNode({
        host: `127.0.1.${i + 1}`,
        network: i === n - 1 ? "another-chain" : CHAIN,
        moniker: `node-${i}`,
        version: i % 3 === 0 ? "0.38.24" : "0.38.25",
      }),
    );
  }
  for (let i = 1; i < n; i++) teach(nodes[Math.floor((i - 1) / 3)], nodes[i].addr);
  for (let i = 0; i + 7 < n; i += 5) teach(nodes[i + 7], nodes[i].addr);
  for (let i = 0; i < 4; i++) teach(nodes[i * 2], deadAddressOn(`127.0.2.${i + 1}`));
  return nodes;
}

Deno.test({
  name: "crawl map: the page renders in headless Chromium, graph complete, no console errors",
  ignore: CHROMIUM === null && !CI,
  async fn() {
    assert(CHROMIUM !== null, "CI=true requires chromium (.ci/run installs it)");
    const nodes = await startNetwork(24);
    const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-map-" });
    try {
      const r = await crawl({ seeds: [nodes[0].addr], chainId: CHAIN, ratePerSec: 0 });
      assertEquals(r.nodes.length, 28);
      const page = `${dir}/map.html`;
      await writeMapPage(page, r);
      const url = `file://${page}`;

      const dom = await chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", url]);
      const circles = dom.stdout.match(/<circle class="node"/g)?.length ?? 0;
      assertEquals(circles, r.nodes.length, "one circle per crawled node");
      const lines = dom.stdout.match(/<line /g)?.length ?? 0;
      assertEquals(lines, r.edges.length, "one line per PEX edge");
      assert(dom.stdout.includes(`data-rendered="${r.nodes.length}"`), "script ran to the end");
      const rows = dom.stdout.match(/<tr>/g)?.length ?? 0;
      assertEquals(rows, r.nodes.length + 1, "table: header + one row per node");
      const consoleLines = dom.stderr.split("\n").filter((l) => l.includes(":CONSOLE"));
      assertEquals(consoleLines, [], "no console messages");

      // A view preset in the URL fragment: filtered, sorted by latency descending, coloured by
      // reachability.
      const preset = await chromium([
        "--dump-dom",
        `${url}#q=0.38.24&sort=latency%20ms&dir=desc&colour=reachability`,
      ]);
      const body = preset.stdout.slice(preset.stdout.indexOf("<tbody>"));
      const cells = [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) =>
        [...m[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1])
      );
      const want = r.nodes.filter((n) => n.info?.version === "0.38.24");
      assert(want.length > 0);
      assertEquals(cells.length, want.length, "filtered rows");
      assert(cells.every((c) => c[2] === "0.38.24"), "only the filtered version");
      const lat = cells.map((c) => Number(c[4]));
      assertEquals(lat, [...lat].sort((x, y) => y - x), "latency descending");
      const red = preset.stdout.match(/fill="#c0392b"/g)?.length ?? 0;
      assertEquals(red, r.nodes.filter((n) => !n.reachable && n.failure).length, "failed in red");

      const shot = Deno.env.get("CRAWL_MAP_SCREENSHOT") ?? `${dir}/map.png`;
      await chromium(["--hide-scrollbars", "--window-size=1400,900", `--screenshot=${shot}`, url]);
      const png = await Deno.readFile(shot);
      assert(png.length > 10_000, `screenshot written (${png.length} bytes)`);
      assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    } finally {
      await stopCrawlNodes(nodes);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Sets a marker on the page if it ever runs as script or markup (it must not). */
const PWN = (tag: string) => `document.documentElement.setAttribute('data-pwned','${tag}')`;

Deno.test({
  name: "crawl map: peer-supplied markup in monikers, versions and networks never executes",
  ignore: CHROMIUM === null && !CI,
  async fn() {
    assert(CHROMIUM !== null, "CI=true requires chromium (.ci/run installs it)");
    // Every string passes CometBFT's NodeInfo validation (printable ASCII) except the network,
    // which is not validated: a wrong-network node's name reaches the summary as is.
    const monikers = [
      "<script>alert(1)</script>",
      `<script>${PWN("script")}</script>`,
      `<img src=x onerror="${PWN("img")}">`,
      `"><svg onload="${PWN("svg")}"></svg>`,
      `</script><script>${PWN("breakout")}</script>`,
    ];
    const hostile = monikers.map((moniker, i) =>
      startHostilePexNode({
        host: `127.0.7.${i + 2}`,
        network: CHAIN,
        moniker,
        version: i === 1 ? `<b onmouseover="${PWN("version")}">0.38</b>` : "0.38.25",
      })
    );
    hostile.push(startHostilePexNode({
      host: "127.0.7.20",
      network: `</dd><script>${PWN("network")}</script>`,
      moniker: "other-chain",
    }));
    const seed = startHostilePexNode({
      host: "127.0.7.1",
      network: CHAIN,
      moniker: "<!--",
      answer: () => hostile.map((h) => entryOf(h.addr)),
    });
    const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-xss-" });
    try {
      const r = await crawl({ seeds: [seed.addr], chainId: CHAIN, ratePerSec: 0 });
      assertEquals(r.nodes.length, hostile.length + 1);
      assertEquals(r.nodes.filter((n) => n.reachable).length, monikers.length + 1);
      const page = `${dir}/map.html`;
      await writeMapPage(page, r);
      const dom = await chromium([
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        `file://${page}`,
      ]);
      // The marker would be an attribute of <html>; the strings themselves appear as text.
      const html = /<html[^>]*>/.exec(dom.stdout)?.[0] ?? "";
      assert(html !== "" && !html.includes("data-pwned"), `no peer string ran: ${html}`);
      assert(dom.stdout.includes("data-pwned"), "the hostile strings are on the page as text");
      assert(dom.stdout.includes(`data-rendered="${r.nodes.length}"`), "script ran to the end");
      const rows = dom.stdout.match(/<tr>/g)?.length ?? 0;
      assertEquals(rows, r.nodes.length + 1, "table: header + one row per node");
      // Each moniker is in the table as text (escaped by the serializer), not as elements.
      for (const m of monikers) {
        const text = m.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
        assert(dom.stdout.includes(`<td>${text}</td>`), `moniker as text: ${text}`);
      }
      assert(dom.stdout.includes("&lt;/dd&gt;&lt;script&gt;"), "network name as text");
      const consoleLines = dom.stderr.split("\n").filter((l) => l.includes(":CONSOLE"));
      assertEquals(consoleLines, [], "no console messages (no alert, no script error)");
    } finally {
      await seed.stop();
      await Promise.all(hostile.map((h) => h.stop()));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
