/**
 * `deno task cli crawl` end to end (the CLI as a subprocess with the task's permissions) against
 * in-process nodes on 127.0.0.x: NDJSON lines, --json summary, every output file, two crawls in
 * the history then `crawl history` / `crawl diff`, bad flags, and Ctrl-C (SIGINT) keeping what
 * was found.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { childEnv, cli, CLI_PERMS, ROOT } from "./util/daemon.ts";
import { decodeAddrBookJSON } from "../p2p/pex/addrbook_file.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { deadAddressOn, startCrawlNode, stopCrawlNodes, teach } from "./util/crawl_net.ts";

const CHAIN = "crawl-cli-test";

Deno.test("crawl cli: NDJSON, --json summary, db, addrbook, peers, html; history and diff", async () => {
  const a = await startCrawlNode({ host: "127.0.0.11", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({ host: "127.0.0.12", network: CHAIN, moniker: "b" });
  const dead = deadAddressOn("127.0.0.13");
  teach(a, b.addr, dead);
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-cli-" });
  try {
    const common = [
      "crawl",
      "--seeds",
      a.addr.toString(),
      "--chain-id",
      CHAIN,
      "--db",
      `${dir}/crawl.db`,
    ];
    const run1 = await cli(
      ...common,
      "--out",
      `${dir}/crawl.ndjson`,
      "--addrbook",
      `${dir}/addrbook.json`,
      "--peers",
      `${dir}/peers.txt`,
      "--html",
      `${dir}/map.html`,
      "--json",
      "--rate",
      "100/s",
    );
    assertEquals(run1.code, 0, run1.stderr);
    const summary = JSON.parse(run1.stdout.trim());
    assertEquals([summary.found, summary.reached, summary.failed], [3, 2, 1]);
    assertEquals(summary.by_failure, { refused: 1 });
    const lines = (await Deno.readTextFile(`${dir}/crawl.ndjson`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assertEquals(lines.length, 3);
    assert(lines.every((l) => l.type === "node"));
    const la = lines.find((l) => l.id === a.key.id);
    assertEquals(la.moniker, "a");
    assertEquals(la.gossiped_by, ["seed"]);
    assertEquals(la.pex_addrs, 2);
    assertEquals(lines.find((l) => l.id === dead.id).failure, "refused");

    const book = decodeAddrBookJSON(await Deno.readTextFile(`${dir}/addrbook.json`));
    assertEquals(
      book.snapshot.addrs.map((ka) => ka.addr.toString()).sort(),
      [a.addr.toString(), b.addr.toString()].sort(),
    );
    const peers = (await Deno.readTextFile(`${dir}/peers.txt`)).trim().split(",");
    assertEquals(peers.sort(), [a.addr.toString(), b.addr.toString()].sort());
    const html = await Deno.readTextFile(`${dir}/map.html`);
    assertStringIncludes(html, a.key.id);
    // Self-contained: no external script, style, image or fetch; the CSP forbids any load.
    assert(!/\s(src|href)=|fetch\(|XMLHttpRequest|@import/.test(html), "page loads nothing");
    assertStringIncludes(html, "default-src 'none'");

    // Second crawl without B: stdout carries the NDJSON, stderr the human summary.
    await b.stop();
    const run2 = await cli(...common);
    assertEquals(run2.code, 0, run2.stderr);
    assertEquals(run2.stdout.trim().split("\n").length, 3);
    assertStringIncludes(run2.stderr, "1 reached");
    assertStringIncludes(run2.stderr, "crawl #2 stored");

    const hist = await cli("crawl", "history", "--db", `${dir}/crawl.db`, "--json");
    assertEquals(hist.code, 0, hist.stderr);
    const h = JSON.parse(hist.stdout);
    assertEquals(h.crawls.length, 2);
    const hb = h.nodes.find((n: { node_id: string }) => n.node_id === b.key.id);
    assertEquals([hb.crawls, hb.reached], [2, 1]);
    const text = await cli("crawl", "history", "--db", `${dir}/crawl.db`);
    assertStringIncludes(text.stdout, b.key.id);

    const diff = await cli("crawl", "diff", "--db", `${dir}/crawl.db`, "--json");
    assertEquals(diff.code, 0, diff.stderr);
    assertEquals(JSON.parse(diff.stdout).became_unreachable, [b.key.id]);
  } finally {
    await stopCrawlNodes([a]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crawl cli: bad flags name the flag and exit 2; history without a db is an error", async () => {
  const r1 = await cli("crawl", "--chain-id", "x");
  assertEquals(r1.code, 2);
  assertStringIncludes(r1.stderr, "--seeds");
  const r2 = await cli("crawl", "--seeds", "abc@127.0.0.1:1", "--chain-id", "x", "--no-db");
  assertEquals(r2.code, 2);
  assertStringIncludes(r2.stderr, "--seeds");
  const r3 = await cli("crawl", "--seeds", "x", "--chain-id", "c", "--concurrency", "0");
  assertEquals(r3.code, 2);
  assertStringIncludes(r3.stderr, "--concurrency");
  const r5 = await cli("crawl", "--seeds", "x", "--chain-id", "c", "--max-nodes", "0");
  assertEquals(r5.code, 2);
  assertStringIncludes(r5.stderr, "--max-nodes");
  const r4 = await cli("crawl", "diff", "--db", "/nonexistent/crawl.db");
  assertEquals(r4.code, 2);
  assertStringIncludes(r4.stderr, "no crawl history");
});

Deno.test("crawl cli: SIGINT stops the crawl cleanly and keeps what was found", async () => {
  // A listener that accepts and never answers keeps the crawl busy in a handshake.
  const silent = Deno.listen({ hostname: "127.0.0.14", port: 0 });
  const held: Deno.Conn[] = [];
  const accept = (async () => {
    for await (const c of silent) held.push(c);
  })().catch(() => {});
  const a = await startCrawlNode({ host: "127.0.0.15", network: CHAIN, moniker: "a" });
  const port = (silent.addr as Deno.NetAddr).port;
  teach(a, NetAddress.parseNoLookup(`${"ab".repeat(20)}@127.0.0.14:${port}`));
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-int-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...CLI_PERMS,
        "main.ts",
        "crawl",
        "--seeds",
        a.addr.toString(),
        "--chain-id",
        CHAIN,
        "--db",
        `${dir}/crawl.db`,
        "--json",
        "--out",
        `${dir}/out.ndjson`,
        "--handshake-timeout",
        "25000",
      ],
      cwd: ROOT,
      env: childEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    // Wait until the crawl reached A (its line is written) and sits in the silent handshake.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const text = await Deno.readTextFile(`${dir}/out.ndjson`).catch(() => "");
      if (text.includes(a.key.id) && held.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const summary = JSON.parse(stdout.trim());
    assertEquals(summary.end, "interrupted");
    assertEquals(summary.reached, 1);
    assertEquals(summary.found, 2);
    const hist = await cli("crawl", "history", "--db", `${dir}/crawl.db`, "--json");
    assertEquals(JSON.parse(hist.stdout).crawls[0].end_reason, "interrupted");
  } finally {
    silent.close();
    for (const c of held) {
      try {
        c.close();
      } catch { /* closed by the crawler */ }
    }
    await accept;
    await stopCrawlNodes([a]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crawl cli: a missing output directory fails before crawling; a failed write spares the others", async () => {
  const a = await startCrawlNode({ host: "127.0.0.16", network: CHAIN, moniker: "a" });
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-out-" });
  try {
    const base = ["crawl", "--seeds", a.addr.toString(), "--chain-id", CHAIN, "--no-db", "--json"];
    const early = await cli(...base, "--html", `${dir}/missing/map.html`);
    assertEquals(early.code, 2);
    assertStringIncludes(early.stderr, "--html");
    assertEquals(early.stdout, "", "no crawl ran");

    // --addrbook names a directory: that write fails, --peers and --html are still written.
    await Deno.mkdir(`${dir}/book-is-a-dir`);
    const r = await cli(
      ...base,
      "--addrbook",
      `${dir}/book-is-a-dir`,
      "--peers",
      `${dir}/peers.txt`,
      "--html",
      `${dir}/map.html`,
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `error: --addrbook ${dir}/book-is-a-dir`);
    assertEquals((await Deno.readTextFile(`${dir}/peers.txt`)).trim(), a.addr.toString());
    assert((await Deno.stat(`${dir}/map.html`)).isFile);
    assertEquals(JSON.parse(r.stdout).reached, 1);
  } finally {
    await stopCrawlNodes([a]);
    await Deno.remove(dir, { recursive: true });
  }
});
