/**
 * `crawl`: crawls a CometBFT network over the p2p protocol (handshake + PEX, no RPC) from seed
 * addresses (`crawler/crawl.ts`), streams one NDJSON line per node, prints a summary, and
 * optionally stores the crawl in the history database, writes the verified address book, a
 * `persistent_peers` line and a map page. `crawl history` and `crawl diff` read the history
 * (`cmd/crawl_history.ts`).
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { InvalidParametersError } from "../p2p/errors.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress, NetAddressLookupError } from "../p2p/netaddress.ts";
import {
  Crawler,
  type CrawlOptions,
  type CrawlResult,
  DEFAULT_ANSWER_TIMEOUT_MS,
  DEFAULT_CRAWL_CONCURRENCY,
  DEFAULT_CRAWL_DEPTH,
  DEFAULT_CRAWL_DIAL_TIMEOUT_MS,
  DEFAULT_CRAWL_MAX_NODES,
  DEFAULT_CRAWL_MAX_TIME_MS,
  DEFAULT_CRAWL_RATE,
} from "../crawler/crawl.ts";
import { formatSummary, nodeLine, progressLine, summarize } from "../crawler/summary.ts";
import { CrawlStore, defaultCrawlDbPath } from "../crawler/store.ts";
import { DEFAULT_PEERS_COUNT, writeAddrBook, writePeersFile } from "../crawler/outputs.ts";
import { writeMapPage } from "../crawler/html.ts";
import { runCrawlHistory } from "./crawl_history.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../p2p/upgrade.ts";
import { readEnv, UsageError } from "../config/mod.ts";

const USAGE = `Usage: deno task cli crawl --seeds ID@HOST:PORT,... --chain-id C [flags]
       deno task cli crawl history [--db FILE] [--home DIR] [--node ID] [--json]
       deno task cli crawl diff [--db FILE] [--home DIR] [--from N --to N] [--json]

Crawls a network over the p2p protocol: handshakes with each address (SecretConnection +
NodeInfo), asks each node once for addresses (PexRequest) and follows the answers. Prints one
NDJSON line per node on stdout (or --out) as nodes complete, a progress line on a terminal,
and a summary on stderr. Ctrl-C stops and keeps what was found.

Flags:
  --seeds LIST          comma-separated ID@HOST:PORT to start from; required
  --chain-id ID         the network to crawl; required
  --concurrency N       probes in flight (default ${DEFAULT_CRAWL_CONCURRENCY})
  --rate N              probe starts per second, 0 = unlimited (default ${DEFAULT_CRAWL_RATE}; "N/s" ok)
  --depth N             hops followed from a seed (default ${DEFAULT_CRAWL_DEPTH})
  --timeout MS          bound of the whole crawl (default ${DEFAULT_CRAWL_MAX_TIME_MS})
  --max-nodes N         node IDs recorded at most; more are counted, not crawled (default ${DEFAULT_CRAWL_MAX_NODES})
  --dial-timeout MS     TCP connect timeout per address (default ${DEFAULT_CRAWL_DIAL_TIMEOUT_MS})
  --handshake-timeout MS  per handshake phase (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS}, as CometBFT)
  --answer-timeout MS   wait for a PexAddrs answer (default ${DEFAULT_ANSWER_TIMEOUT_MS})
  --out FILE            NDJSON to FILE instead of stdout
  --db FILE             history database (default <home>/data/crawl.db)
  --no-db               do not store the crawl
  --home DIR            home for the default --db (default $SWITCHYARD_HOME or ~/.switchyard)
  --html FILE           write the map page (graph, table, summary)
  --addrbook FILE       write a CometBFT addrbook.json of the verified-reachable addresses
  --peers FILE          write a persistent_peers line of the best --peers-count nodes
  --peers-count N       (default ${DEFAULT_PEERS_COUNT})
  --json                print the summary as JSON on stdout (NDJSON then only with --out)

Exit codes: 0 done (also after Ctrl-C or the time limit), 1 an output could not be written
(the others still are) or internal error, 2 bad usage.`;

/** Parsed `crawl` arguments. */
export interface CrawlArgs {
  seeds: string[];
  chainId: string;
  concurrency: number;
  rate: number;
  depth: number;
  timeoutMs: number;
  maxNodes: number;
  dialTimeoutMs: number;
  answerTimeoutMs: number;
  handshakeTimeoutMs: number;
  out?: string;
  db?: string;
  html?: string;
  addrbook?: string;
  peers?: string;
  peersCount: number;
  json: boolean;
}

function intFlag(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const s = name === "rate" ? v.replace(/\/s$/, "") : v;
  if (!/^[0-9]+$/.test(s) || Number(s) < min) {
    throw new UsageError(`--${name}: "${v}" is not an integer >= ${min}`);
  }
  return Number(s);
}

/** Parses the flags of `crawl` (not its subcommands). */
export function parseCrawlArgs(args: string[], env = readEnv()): CrawlArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "seeds": { type: "string" },
        "chain-id": { type: "string" },
        "concurrency": { type: "string" },
        "rate": { type: "string" },
        "depth": { type: "string" },
        "timeout": { type: "string" },
        "max-nodes": { type: "string" },
        "dial-timeout": { type: "string" },
        "answer-timeout": { type: "string" },
        "handshake-timeout": { type: "string" },
        "out": { type: "string" },
        "db": { type: "string" },
        "no-db": { type: "boolean" },
        "home": { type: "string" },
        "html": { type: "string" },
        "addrbook": { type: "string" },
        "peers": { type: "string" },
        "peers-count": { type: "string" },
        "json": { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  const seeds = (v.seeds ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (seeds.length === 0) throw new UsageError("--seeds is required (ID@HOST:PORT,...)");
  if (!v["chain-id"]) throw new UsageError("--chain-id is required");
  if (v.db !== undefined && v["no-db"]) throw new UsageError("--db and --no-db exclude each other");
  return {
    seeds,
    chainId: v["chain-id"],
    concurrency: intFlag("concurrency", v.concurrency, DEFAULT_CRAWL_CONCURRENCY, 1),
    rate: intFlag("rate", v.rate, DEFAULT_CRAWL_RATE, 0),
    depth: intFlag("depth", v.depth, DEFAULT_CRAWL_DEPTH, 0),
    timeoutMs: intFlag("timeout", v.timeout, DEFAULT_CRAWL_MAX_TIME_MS, 1),
    maxNodes: intFlag("max-nodes", v["max-nodes"], DEFAULT_CRAWL_MAX_NODES, 1),
    dialTimeoutMs: intFlag("dial-timeout", v["dial-timeout"], DEFAULT_CRAWL_DIAL_TIMEOUT_MS, 1),
    answerTimeoutMs: intFlag("answer-timeout", v["answer-timeout"], DEFAULT_ANSWER_TIMEOUT_MS, 1),
    handshakeTimeoutMs: intFlag(
      "handshake-timeout",
      v["handshake-timeout"],
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
      1,
    ),
    out: v.out,
    db: v["no-db"] ? undefined : v.db ?? defaultCrawlDbPath(v.home, env),
    html: v.html,
    addrbook: v.addrbook,
    peers: v.peers,
    peersCount: intFlag("peers-count", v["peers-count"], DEFAULT_PEERS_COUNT, 1),
    json: v.json ?? false,
  };
}

/** Parses `--seeds` entries into addresses (each must carry an ID). */
async function parseSeeds(seeds: string[]): Promise<NetAddress[]> {
  const out: NetAddress[] = [];
  for (const s of seeds) {
    try {
      out.push(await NetAddress.parse(s));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new UsageError(`--seeds: "${s}": ${msg}`);
    }
  }
  return out;
}

/** What {@link writeOutputs} did: one line per file, and whether any write failed. */
export interface OutputReport {
  notes: string[];
  failed: boolean;
}

/**
 * Writes the outputs a finished (or interrupted) crawl asked for. Each is attempted on its own:
 * one that fails (disk full, permission) is reported and the others are still written.
 */
export async function writeOutputs(r: CrawlResult, a: CrawlArgs): Promise<OutputReport> {
  const report: OutputReport = { notes: [], failed: false };
  const attempt = async (flag: string, path: string, write: () => Promise<string>) => {
    try {
      report.notes.push(await write());
    } catch (err) {
      report.failed = true;
      const msg = err instanceof Error ? err.message : String(err);
      report.notes.push(`error: ${flag} ${path}: ${msg.replaceAll("\n", " ")}`);
    }
  };
  if (a.db !== undefined) {
    const db = a.db;
    await attempt("--db", db, async () => {
      const store = await CrawlStore.open(db);
      try {
        return `crawl #${store.saveCrawl(r)} stored in ${db}`;
      } finally {
        store.close();
      }
    });
  }
  if (a.addrbook !== undefined) {
    const path = a.addrbook;
    await attempt("--addrbook", path, async () => {
      return `${await writeAddrBook(path, r)} verified addresses written to ${path}`;
    });
  }
  if (a.peers !== undefined) {
    const path = a.peers;
    await attempt("--peers", path, async () => {
      return `${await writePeersFile(path, r, a.peersCount)} peers written to ${path}`;
    });
  }
  if (a.html !== undefined) {
    const path = a.html;
    await attempt("--html", path, async () => {
      await writeMapPage(path, r);
      return `map page written to ${path}`;
    });
  }
  return report;
}

/**
 * Fails early, before a crawl of minutes, when an output file's directory does not exist (the
 * database creates its own directory).
 */
async function checkOutputDirs(a: CrawlArgs): Promise<void> {
  const files: [string, string | undefined][] = [
    ["--out", a.out],
    ["--addrbook", a.addrbook],
    ["--peers", a.peers],
    ["--html", a.html],
  ];
  for (const [flag, path] of files) {
    if (path === undefined) continue;
    const dir = dirname(resolve(path));
    let ok = false;
    try {
      ok = (await Deno.stat(dir)).isDirectory;
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`${flag} ${path}: directory ${dir} does not exist`);
  }
}

/** Writes all of `bytes` (writeSync may write part of them). */
function writeAll(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** Runs a crawl as the CLI does: NDJSON stream, progress, Ctrl-C, summary, outputs. */
async function runCrawl(a: CrawlArgs): Promise<number> {
  const seeds = await parseSeeds(a.seeds);
  await checkOutputDirs(a);
  const enc = new TextEncoder();
  const file = a.out !== undefined
    ? await Deno.open(a.out, { write: true, create: true, truncate: true })
    : undefined;
  let sink: Deno.FsFile | typeof Deno.stdout | undefined = file ??
    (a.json ? undefined : Deno.stdout);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new DOMException("interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", onSigint);
  const tty = Deno.stderr.isTerminal();
  const started = performance.now();
  const opts: CrawlOptions = {
    seeds,
    chainId: a.chainId,
    concurrency: a.concurrency,
    ratePerSec: a.rate,
    maxDepth: a.depth,
    maxTimeMs: a.timeoutMs,
    maxNodes: a.maxNodes,
    dialTimeoutMs: a.dialTimeoutMs,
    answerTimeoutMs: a.answerTimeoutMs,
    handshakeTimeoutMs: a.handshakeTimeoutMs,
    nodeKey: NodeKey.generate(),
    signal: interrupt.signal,
    onNode: (n) => {
      if (sink === undefined) return;
      try {
        writeAll(sink, enc.encode(nodeLine(n) + "\n"));
      } catch (err) {
        // A closed reader (`| head`) or a full disk ends the stream, not the crawl: the
        // summary and the other outputs still get written.
        console.error(`error: NDJSON output stopped: ${err instanceof Error ? err.message : err}`);
        sink = undefined;
      }
    },
  };
  const crawler = new Crawler(opts);
  const ticker = tty
    ? setInterval(() => {
      const line = progressLine(crawler.progress(), performance.now() - started);
      Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${line}`));
    }, 250)
    : undefined;
  let result: CrawlResult;
  try {
    result = await crawler.run();
  } finally {
    clearInterval(ticker);
    if (tty) Deno.stderr.writeSync(enc.encode("\r\x1b[2K"));
    Deno.removeSignalListener("SIGINT", onSigint);
    file?.close();
  }
  const summary = summarize(result);
  const report = await writeOutputs(result, a);
  for (const note of report.notes) console.error(note);
  if (a.json) console.log(JSON.stringify(summary));
  else console.error(formatSummary(summary));
  return report.failed ? ExitCode.failure : ExitCode.ok;
}

/** Runs `crawl` with `args` (after the subcommand name); resolves to the exit code. */
export async function runCrawlCommand(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return ExitCode.ok;
  }
  try {
    if (args[0] === "history" || args[0] === "diff") {
      return await runCrawlHistory(args[0], args.slice(1));
    }
    return await runCrawl(parseCrawlArgs(args));
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).replaceAll("\n", " ");
    console.error(`error: ${msg}`);
    if (
      err instanceof UsageError || err instanceof InvalidParametersError ||
      err instanceof NetAddressLookupError
    ) {
      return ExitCode.usage;
    }
    return ExitCode.failure;
  }
}

/** The `crawl` subcommand. */
export const crawlCommand: Command = {
  name: "crawl",
  summary: "crawl a network over p2p (handshake + PEX): NDJSON, history, map, addrbook",
  usage: USAGE,
  run: (args) => runCrawlCommand(args),
};
