/**
 * What an operator reads in the logs: JSON lines keep lists as arrays, config warnings and the
 * version line follow `log_format = "json"`, and "No addresses to dial. Falling back to seeds"
 * is at info once per change, not every ensure-peers round.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { createLogger, type Logger } from "../libs/log.ts";
import { ensurePeersRound, PexDialer } from "../p2p/pex/ensure_peers.ts";
import type { DialHost } from "../p2p/pex/ensure_peers.ts";
import { spawnDaemon } from "./util/daemon.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { cli } from "./util/daemon.ts";

function captured(format: "plain" | "json", level = "info"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ format, level, sink: (l) => lines.push(l) }), lines };
}

Deno.test("JSON logs keep lists as arrays", () => {
  const { log, lines } = captured("json");
  log.info("Adding persistent peers", { addrs: [], more: ["a@127.0.0.1:1", "b"], n: [1, 2n] });
  const doc = JSON.parse(lines[0]);
  assertEquals(doc.addrs, []);
  assertEquals(doc.more, ["a@127.0.0.1:1", "b"]);
  assertEquals(doc.n, [1, "2"]);
});

/** A host whose book never has an address and whose switch needs `need` more peers. */
function host(log: Logger, need: () => number): DialHost {
  const sw = {
    numPeers: () => ({ outbound: 0, inbound: 1, dialing: 0 }),
    maxNumOutboundPeers: need,
    peers: () => ({ list: () => [] }),
    isRunning: true,
  };
  const book = {
    pickAddress: () => undefined,
    needMoreAddrs: () => true,
    reinstateBadPeers: () => {},
  };
  return {
    sw,
    book,
    log,
    random: Math.random,
    now: Date.now,
    signal: new AbortController().signal,
    banTimeMs: 0,
    seeds: [],
    denied: () => undefined,
    requestAddrs: () => {},
    track: <T>(p: Promise<T>) => p,
  } as unknown as DialHost;
}

Deno.test("seed fallback is logged at info once per change, at debug while it lasts", async () => {
  const { log, lines } = captured("plain", "debug");
  let need = 10;
  const h = host(log, () => need);
  const dialer = new PexDialer(h, { maxAttempts: 16, persistentMaxDialPeriodMs: 0 });
  const fallbacks = () => lines.filter((l) => l.includes("Falling back to seeds"));
  for (let i = 0; i < 3; i++) await ensurePeersRound(h, dialer, true);
  assertEquals(fallbacks().map((l) => l[0]), ["I", "D", "D"]);
  need = 0; // enough peers: the state changes
  await ensurePeersRound(h, dialer, true);
  need = 10;
  await ensurePeersRound(h, dialer, true);
  assertEquals(fallbacks().map((l) => l[0]), ["I", "D", "D", "I"]);
});

Deno.test("log_format json: version line and config warnings are JSON lines", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/h`;
    assertEquals((await cli("init", "--home", home)).code, 0);
    const path = `${home}/config/config.toml`;
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, `bogus_key = 1\n${text}`);
    const d = await spawnDaemon(home, { flags: ["--log_format", "json", "--proxy_app=noop"] });
    try {
      await d.waitForLine(/Node started/);
    } finally {
      assertEquals(await d.stop("SIGTERM"), 0, d.output);
    }
    const lines = d.stdoutLines();
    const docs = lines.map((l) => JSON.parse(l));
    assertEquals(docs[0]._msg, "Version info");
    assertEquals(docs[0].switchyard, "0.9.0");
    assertEquals(docs[0].cometbft_version, "0.38.25");
    const warnings = docs.filter((d) => d._msg === "Config warning").map((d) => d.warning);
    assert(warnings.some((w) => w.includes("--proxy_app")), warnings.join("\n"));
    const unknown = docs.filter((d) => d._msg === "Config keys switchyard does not use, ignored");
    assertEquals(unknown.length, 1);
    assertEquals(unknown[0].keys, ["bogus_key"]);
    assertEquals(unknown[0].file, path);
    assertEquals(d.output.includes("warning:"), false, d.output);
  }, "sy_log_");
});
