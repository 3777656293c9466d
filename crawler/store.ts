/**
 * Crawl history in SQLite (`node:sqlite`): every crawl, what each node looked like in it, the
 * PEX edges, and per node its first/last seen times and version changes across crawls. Read by
 * `crawl history` (first/last seen, uptime share across crawls, version changes) and
 * `crawl diff` (what changed between two crawls).
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { dirname, join, resolve } from "node:path";
import type { CrawlResult } from "./crawl.ts";
import { resolveHome } from "../config/home.ts";

/** The history file under a home: `<home>/data/crawl.db`. */
export const CRAWL_DB_FILE = "data/crawl.db";
/** Schema version kept in `PRAGMA user_version`. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS crawls (
  id INTEGER PRIMARY KEY,
  chain_id TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  end_reason TEXT NOT NULL,
  seeds TEXT NOT NULL,
  found INTEGER NOT NULL,
  reached INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
  crawl_id INTEGER NOT NULL REFERENCES crawls(id),
  node_id TEXT NOT NULL,
  reachable INTEGER NOT NULL,
  failure TEXT,
  moniker TEXT,
  version TEXT,
  network TEXT,
  latency_ms REAL,
  addrs TEXT NOT NULL,
  PRIMARY KEY (crawl_id, node_id)
);
CREATE INDEX IF NOT EXISTS observations_node ON observations(node_id);
CREATE TABLE IF NOT EXISTS edges (
  crawl_id INTEGER NOT NULL REFERENCES crawls(id),
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  node_id TEXT NOT NULL,
  chain_id TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  last_reached_ms INTEGER,
  version TEXT,
  moniker TEXT,
  PRIMARY KEY (chain_id, node_id)
);
CREATE TABLE IF NOT EXISTS version_changes (
  node_id TEXT NOT NULL,
  crawl_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  from_version TEXT NOT NULL,
  to_version TEXT NOT NULL
);
`;

/** `--db`'s default: `<home>/data/crawl.db`, home as `--home` > `$SWITCHYARD_HOME` > `~/.switchyard`. */
export function defaultCrawlDbPath(
  flagHome: string | undefined,
  env: Record<string, string | undefined>,
): string {
  return join(resolveHome(flagHome, env), CRAWL_DB_FILE);
}

/** One stored crawl. */
export interface CrawlRow {
  id: number;
  chain_id: string;
  started_ms: number;
  finished_ms: number;
  end_reason: string;
  found: number;
  reached: number;
}

/** A node's history across the crawls of its chain. */
export interface NodeHistory {
  node_id: string;
  chain_id: string;
  moniker: string | null;
  version: string | null;
  first_seen: string;
  last_seen: string;
  last_reached: string | null;
  /** Crawls of the chain since the node was first seen. */
  crawls: number;
  /** Of those, crawls in which it was reached. */
  reached: number;
  /** reached / crawls. */
  uptime: number;
  version_changes: { crawl: number; at: string; from: string; to: string }[];
}

/** What changed between two crawls. */
export interface CrawlDiff {
  from: number;
  to: number;
  appeared: string[];
  disappeared: string[];
  became_reachable: string[];
  became_unreachable: string[];
  version_changed: { id: string; from: string; to: string }[];
}

/** The store had no crawl to compare or show. */
export class CrawlStoreEmptyError extends Error {
  override name = "CrawlStoreEmptyError";
}

type ObsRow = { node_id: string; reachable: number; version: string | null };

/** The crawl history database. */
export class CrawlStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating the file, its directory and the schema when missing). */
  static async open(path: string): Promise<CrawlStore> {
    const abs = resolve(path);
    await Deno.mkdir(dirname(abs), { recursive: true });
    const db = new DatabaseSync(abs);
    try {
      db.exec("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;");
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } catch (err) {
      db.close();
      throw err;
    }
    return new CrawlStore(db);
  }

  /** Closes the database file. */
  close(): void {
    this.#db.close();
  }

  /** Stores a crawl in one transaction; returns its id. */
  saveCrawl(r: CrawlResult): number {
    const db = this.#db;
    db.exec("BEGIN");
    try {
      const reached = r.nodes.filter((n) => n.reachable).length;
      const id = Number(
        db.prepare(
          `INSERT INTO crawls (chain_id, started_ms, finished_ms, end_reason, seeds, found, reached)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          r.chainId,
          r.startedMs,
          r.finishedMs,
          r.end,
          r.seeds.join(","),
          r.nodes.length,
          reached,
        )
          .lastInsertRowid,
      );
      const obs = db.prepare(
        `INSERT INTO observations (crawl_id, node_id, reachable, failure, moniker, version, network,
           latency_ms, addrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const getNode = db.prepare("SELECT version FROM nodes WHERE chain_id = ? AND node_id = ?");
      const insNode = db.prepare(
        `INSERT INTO nodes (node_id, chain_id, first_seen_ms, last_seen_ms, last_reached_ms, version,
           moniker) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      const updNode = db.prepare(
        `UPDATE nodes SET last_seen_ms = max(last_seen_ms, ?),
           last_reached_ms = coalesce(?, last_reached_ms), version = coalesce(?, version),
           moniker = coalesce(?, moniker) WHERE chain_id = ? AND node_id = ?`,
      );
      const insChange = db.prepare(
        "INSERT INTO version_changes (node_id, crawl_id, at_ms, from_version, to_version) VALUES (?, ?, ?, ?, ?)",
      );
      for (const n of r.nodes) {
        // Versions and monikers count only from handshakes on the crawled chain.
        const onChain = n.reachable && n.info !== undefined;
        const version = onChain ? n.info!.version : null;
        const moniker = onChain ? n.info!.moniker : null;
        const reachedMs = n.reachable ? n.lastSeenMs : null;
        obs.run(
          id,
          n.id,
          n.reachable ? 1 : 0,
          n.failure ?? null,
          n.info?.moniker ?? null,
          n.info?.version ?? null,
          n.info?.network ?? null,
          n.latencyMs ?? null,
          JSON.stringify(n.addrs),
        );
        const prev = getNode.get(r.chainId, n.id) as { version: string | null } | undefined;
        if (prev === undefined) {
          insNode.run(n.id, r.chainId, n.firstSeenMs, n.lastSeenMs, reachedMs, version, moniker);
        } else {
          if (version !== null && prev.version !== null && prev.version !== version) {
            insChange.run(n.id, id, n.lastSeenMs, prev.version, version);
          }
          updNode.run(n.lastSeenMs, reachedMs, version, moniker, r.chainId, n.id);
        }
      }
      const edge = db.prepare("INSERT INTO edges (crawl_id, from_id, to_id) VALUES (?, ?, ?)");
      for (const [from, to] of r.edges) edge.run(id, from, to);
      db.exec("COMMIT");
      return id;
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  }

  /** Stored crawls, newest first. */
  crawls(limit = 20): CrawlRow[] {
    return this.#db.prepare(
      `SELECT id, chain_id, started_ms, finished_ms, end_reason, found, reached FROM crawls
       ORDER BY id DESC LIMIT ?`,
    ).all(limit) as unknown as CrawlRow[];
  }

  /** Every node's history (or one node's), most recently seen first. */
  history(nodeId?: string): NodeHistory[] {
    const db = this.#db;
    const rows = db.prepare(
      `SELECT node_id, chain_id, first_seen_ms, last_seen_ms, last_reached_ms, version, moniker
       FROM nodes ${nodeId !== undefined ? "WHERE node_id = ?" : ""}
       ORDER BY last_seen_ms DESC, node_id`,
    ).all(...(nodeId !== undefined ? [nodeId] : [])) as {
      node_id: string;
      chain_id: string;
      first_seen_ms: number;
      last_seen_ms: number;
      last_reached_ms: number | null;
      version: string | null;
      moniker: string | null;
    }[];
    // Crawls of the chain that finished after the node was first heard of.
    const crawlsSince = db.prepare(
      "SELECT count(*) AS n FROM crawls WHERE chain_id = ? AND finished_ms >= ?",
    );
    const reachedIn = db.prepare(
      `SELECT count(*) AS n FROM observations o JOIN crawls c ON c.id = o.crawl_id
       WHERE c.chain_id = ? AND o.node_id = ? AND o.reachable = 1`,
    );
    const changes = db.prepare(
      "SELECT crawl_id, at_ms, from_version, to_version FROM version_changes WHERE node_id = ? ORDER BY crawl_id",
    );
    return rows.map((r) => {
      const crawls = Number((crawlsSince.get(r.chain_id, r.first_seen_ms) as { n: number }).n);
      const reached = Number((reachedIn.get(r.chain_id, r.node_id) as { n: number }).n);
      const ch = changes.all(r.node_id) as {
        crawl_id: number;
        at_ms: number;
        from_version: string;
        to_version: string;
      }[];
      return {
        node_id: r.node_id,
        chain_id: r.chain_id,
        moniker: r.moniker,
        version: r.version,
        first_seen: iso(r.first_seen_ms),
        last_seen: iso(r.last_seen_ms),
        last_reached: r.last_reached_ms === null ? null : iso(r.last_reached_ms),
        crawls,
        reached,
        uptime: crawls === 0 ? 0 : Math.round((reached / crawls) * 1000) / 1000,
        version_changes: ch.map((c) => ({
          crawl: c.crawl_id,
          at: iso(c.at_ms),
          from: c.from_version,
          to: c.to_version,
        })),
      };
    });
  }

  /** Compares two crawls (default: the newest and the one before it). */
  diff(from?: number, to?: number): CrawlDiff {
    const ids = this.crawls(2).map((c) => c.id);
    const b = to ?? ids[0];
    const a = from ?? (to === undefined ? ids[1] : this.#previous(b));
    if (a === undefined || b === undefined) {
      throw new CrawlStoreEmptyError("crawl diff needs two stored crawls");
    }
    const load = (id: number) => {
      const rows = this.#db.prepare(
        "SELECT node_id, reachable, version FROM observations WHERE crawl_id = ?",
      ).all(id) as unknown as ObsRow[];
      if (rows.length === 0 && !this.#exists(id)) {
        throw new CrawlStoreEmptyError(`no crawl #${id} in the history`);
      }
      return new Map(rows.map((r) => [r.node_id, r]));
    };
    const A = load(a), B = load(b);
    const d: CrawlDiff = {
      from: a,
      to: b,
      appeared: [],
      disappeared: [],
      became_reachable: [],
      became_unreachable: [],
      version_changed: [],
    };
    for (const [id, nb] of B) {
      const na = A.get(id);
      if (na === undefined) {
        d.appeared.push(id);
        continue;
      }
      if (!na.reachable && nb.reachable) d.became_reachable.push(id);
      if (na.reachable && !nb.reachable) d.became_unreachable.push(id);
      if (na.version && nb.version && na.version !== nb.version) {
        d.version_changed.push({ id, from: na.version, to: nb.version });
      }
    }
    for (const id of A.keys()) if (!B.has(id)) d.disappeared.push(id);
    for (const list of [d.appeared, d.disappeared, d.became_reachable, d.became_unreachable]) {
      list.sort();
    }
    return d;
  }

  #previous(id: number): number | undefined {
    const r = this.#db.prepare("SELECT max(id) AS id FROM crawls WHERE id < ?").get(id) as
      | { id: number | null }
      | undefined;
    return r?.id ?? undefined;
  }

  #exists(id: number): boolean {
    return this.#db.prepare("SELECT 1 FROM crawls WHERE id = ?").get(id) !== undefined;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
