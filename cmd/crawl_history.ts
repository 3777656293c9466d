/**
 * `crawl history` and `crawl diff`: read the crawl history database (`crawler/store.ts`).
 * `history` lists each node's first/last seen time, uptime across crawls and version changes;
 * `diff` what changed between two crawls (default: the last two).
 * @module
 */
import { parseArgs } from "node:util";
import { ExitCode } from "./command.ts";
import { readEnv, UsageError } from "../config/mod.ts";
import { CrawlStore, CrawlStoreEmptyError, defaultCrawlDbPath } from "../crawler/store.ts";
import { printable } from "../crawler/summary.ts";

function parse(args: string[], extra: Record<string, { type: "string" | "boolean" }>) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "db": { type: "string" },
        "home": { type: "string" },
        "json": { type: "boolean" },
        ...extra,
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function crawlId(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^[0-9]+$/.test(v)) {
    throw new UsageError(`--${name}: "${v}" is not a crawl number (see crawl history)`);
  }
  return Number(v);
}

/** Opens the database a history command names; a missing file is an error, not a new file. */
async function openExisting(v: Record<string, string | boolean | undefined>): Promise<CrawlStore> {
  const path = typeof v.db === "string"
    ? v.db
    : defaultCrawlDbPath(v.home as string | undefined, readEnv());
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`no crawl history at ${path} (run a crawl first, or pass --db FILE)`);
  }
  return await CrawlStore.open(path);
}

/** Runs `crawl history` / `crawl diff`; resolves to the exit code. */
export async function runCrawlHistory(sub: "history" | "diff", args: string[]): Promise<number> {
  const v = sub === "history"
    ? parse(args, { node: { type: "string" } })
    : parse(args, { from: { type: "string" }, to: { type: "string" } });
  const store = await openExisting(v);
  try {
    if (sub === "history") {
      const nodes = store.history(v.node as string | undefined);
      const crawls = store.crawls();
      if (v.json) {
        console.log(JSON.stringify({ crawls, nodes }));
        return ExitCode.ok;
      }
      console.log(`${crawls.length} recent crawl(s):`);
      for (const c of crawls) {
        console.log(
          `  #${c.id} ${new Date(c.started_ms).toISOString()} ${c.chain_id} ${c.end_reason}: ` +
            `${c.found} found, ${c.reached} reached`,
        );
      }
      console.log(
        "node                                      moniker           version     " +
          "uptime  first seen                last seen",
      );
      for (const n of nodes) {
        const up = `${n.reached}/${n.crawls}`;
        console.log(
          `${n.node_id}  ${printable(n.moniker ?? "-").slice(0, 16).padEnd(16)}  ${
            printable(n.version ?? "-").slice(0, 10).padEnd(10)
          }  ${up.padEnd(6)}  ${n.first_seen}  ${n.last_seen}`,
        );
        for (const c of n.version_changes) {
          console.log(
            `    version ${printable(c.from)} -> ${printable(c.to)} at crawl #${c.crawl} (${c.at})`,
          );
        }
      }
      return ExitCode.ok;
    }
    let d;
    try {
      d = store.diff(crawlId("from", v.from), crawlId("to", v.to));
    } catch (err) {
      if (err instanceof CrawlStoreEmptyError) throw new UsageError(err.message);
      throw err;
    }
    if (v.json) {
      console.log(JSON.stringify(d));
      return ExitCode.ok;
    }
    console.log(`crawl #${d.from} -> #${d.to}`);
    const list = (title: string, ids: string[]) => {
      console.log(`${title}: ${ids.length}`);
      for (const id of ids) console.log(`  ${id}`);
    };
    list("appeared", d.appeared);
    list("disappeared", d.disappeared);
    list("became reachable", d.became_reachable);
    list("became unreachable", d.became_unreachable);
    console.log(`version changed: ${d.version_changed.length}`);
    for (const c of d.version_changed) {
      console.log(`  ${c.id} ${printable(c.from)} -> ${printable(c.to)}`);
    }
    return ExitCode.ok;
  } finally {
    store.close();
  }
}
