/**
 * `addrbook.json` load/save in CometBFT's format (spec §9.7, Go `p2p/pex/file.go`).
 *
 * The file is Go's `json.MarshalIndent(…, "", "\t")` of `{"key", "addrs": [knownAddress…]}` with Go
 * RFC 3339 (nanosecond) times. Our one extension is a top-level `"banned"` list (entries with a
 * `"ban_reason"`, ban end in `last_ban_time`): Go's decoder ignores unknown fields, and banned
 * entries must not go into `addrs`, where Go would count them without any bucket.
 *
 * Saving is atomic: a temp file in the same directory is written, fsynced and renamed over the
 * target, so a crash leaves the old or the new file. A corrupt file is renamed aside on load.
 *
 * @module
 */

import { NetAddress } from "../netaddress.ts";
import type { Logger } from "../../libs/log.ts";
import { writeFileAtomic } from "../../libs/tempfile.ts";
import { NEW_BUCKET_COUNT, OLD_BUCKET_COUNT } from "./bucket.ts";
import {
  BAN_REASONS,
  type BanReason,
  BUCKET_TYPE_NEW,
  BUCKET_TYPE_OLD,
  GO_ZERO_TIME_MS,
  KnownAddress,
  type KnownAddressState,
  MAX_NEW_BUCKETS_PER_ADDRESS,
} from "./known_address.ts";

/** File mode of `addrbook.json` (Go writes 0644). */
export const ADDRBOOK_FILE_MODE = 0o644;

/** What is persisted: the book key, in-bucket entries and (our extension) the ban list. */
export interface AddrBookSnapshot {
  key: string;
  addrs: readonly KnownAddress[];
  banned: readonly KnownAddress[];
}

/** The file cannot be parsed as an address book at all. */
export class AddrBookFileCorruptError extends Error {
  override name = "AddrBookFileCorruptError";
}

interface NetAddressJSON {
  id: string;
  ip: string;
  port: number;
}

interface KnownAddressJSON {
  addr: NetAddressJSON;
  src: NetAddressJSON;
  buckets: number[] | null;
  attempts: number;
  bucket_type: number;
  last_attempt: string;
  last_success: string;
  last_ban_time: string;
  ban_reason?: BanReason;
}

// ---- Go time ----------------------------------------------------------------------------------

const pad = (n: number, w: number) => String(n).padStart(w, "0");

/** Go `time.RFC3339Nano` in UTC for Unix ms (zero time → `0001-01-01T00:00:00Z`). */
export function formatGoTime(ms: number): string {
  const d = new Date(ms);
  const frac = d.getUTCMilliseconds();
  const fracStr = frac === 0 ? "" : "." + pad(frac, 3).replace(/0+$/, "");
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${
      pad(d.getUTCSeconds(), 2)
    }${fracStr}Z`;
}

const GO_TIME_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parses Go's RFC 3339 time text to Unix ms (sub-millisecond digits are dropped). */
export function parseGoTime(s: string): number {
  const m = GO_TIME_RE.exec(s);
  if (!m) throw new AddrBookFileCorruptError(`bad time ${JSON.stringify(s)}`);
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number((m[7] ?? "0").padEnd(3, "0").slice(0, 3)),
  );
  let ms = d.getTime();
  if (m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    ms -= sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6))) * 60_000;
  }
  return ms;
}

// ---- encode -----------------------------------------------------------------------------------

function entryJSON(ka: KnownAddress): KnownAddressJSON {
  const s = ka.state;
  const type = s.kind === "old" || (s.kind === "banned" && s.was === "old")
    ? BUCKET_TYPE_OLD
    : BUCKET_TYPE_NEW;
  const e: KnownAddressJSON = {
    addr: ka.addr.toProto(),
    src: ka.src.toProto(),
    buckets: [...ka.buckets],
    attempts: ka.attempts,
    bucket_type: type,
    last_attempt: formatGoTime(ka.lastAttemptMs),
    last_success: formatGoTime(ka.lastSuccessMs),
    last_ban_time: formatGoTime(ka.lastBanTimeMs),
  };
  if (s.kind === "banned") e.ban_reason = s.reason;
  return e;
}

/** The file text for a snapshot (tab-indented like Go's `MarshalIndent`). */
export function encodeAddrBookJSON(snap: AddrBookSnapshot): string {
  const doc: Record<string, unknown> = { key: snap.key, addrs: snap.addrs.map(entryJSON) };
  if (snap.banned.length > 0) doc.banned = snap.banned.map(entryJSON);
  return JSON.stringify(doc, null, "\t");
}

// ---- decode -----------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodeAddr(v: unknown): NetAddress {
  if (!isObject(v)) throw new Error("address is not an object");
  return NetAddress.fromProto({
    id: typeof v.id === "string" ? v.id : "",
    ip: typeof v.ip === "string" ? v.ip : "",
    port: typeof v.port === "number" ? v.port : NaN,
  });
}

function timeField(v: unknown): number {
  return v === undefined || v === null ? GO_ZERO_TIME_MS : parseGoTime(String(v));
}

/** One entry, or an Error saying why it is unusable (the caller skips it). */
function decodeEntry(v: unknown, banned: boolean): KnownAddress | Error {
  try {
    if (!isObject(v)) throw new Error("entry is not an object");
    const addr = decodeAddr(v.addr);
    const src = decodeAddr(v.src);
    const buckets = Array.isArray(v.buckets) ? v.buckets : [];
    const type = v.bucket_type;
    const lastBan = timeField(v.last_ban_time);
    let state: KnownAddressState;
    if (banned) {
      const reason = BAN_REASONS.includes(v.ban_reason as BanReason)
        ? v.ban_reason as BanReason
        : "other";
      state = {
        kind: "banned",
        was: type === BUCKET_TYPE_OLD ? "old" : "new",
        reason,
        untilMs: lastBan,
      };
    } else if (type === BUCKET_TYPE_OLD) {
      const b = buckets[0];
      if (!Number.isInteger(b) || b < 0 || b >= OLD_BUCKET_COUNT) throw new Error("bad old bucket");
      state = { kind: "old", bucket: b };
    } else if (type === BUCKET_TYPE_NEW) {
      const ok = buckets.filter((b) => Number.isInteger(b) && b >= 0 && b < NEW_BUCKET_COUNT);
      const uniq = [...new Set(ok as number[])].slice(0, MAX_NEW_BUCKETS_PER_ADDRESS);
      if (uniq.length === 0) throw new Error("no valid new bucket");
      state = { kind: "new", buckets: uniq };
    } else {
      throw new Error(`bad bucket_type ${type}`);
    }
    const ka = new KnownAddress(addr, src, state, timeField(v.last_attempt));
    ka.attempts = typeof v.attempts === "number" && v.attempts >= 0 ? v.attempts : 0;
    ka.lastSuccessMs = timeField(v.last_success);
    ka.lastBanTimeMs = lastBan;
    return ka;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Result of {@link decodeAddrBookJSON}: the snapshot and how many entries were unusable. */
export interface DecodedAddrBook {
  snapshot: AddrBookSnapshot;
  skipped: number;
}

/**
 * Parses file text. Unusable entries are skipped and counted; a document that is not an address
 * book at all throws {@link AddrBookFileCorruptError}.
 */
export function decodeAddrBookJSON(text: string): DecodedAddrBook {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AddrBookFileCorruptError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new AddrBookFileCorruptError("top level is not an object");
  if (typeof doc.key !== "string") throw new AddrBookFileCorruptError("missing key");
  if (doc.addrs !== null && doc.addrs !== undefined && !Array.isArray(doc.addrs)) {
    throw new AddrBookFileCorruptError("addrs is not an array");
  }
  let skipped = 0;
  const collect = (list: unknown, banned: boolean): KnownAddress[] => {
    const out: KnownAddress[] = [];
    if (!Array.isArray(list)) return out;
    for (const v of list) {
      const r = decodeEntry(v, banned);
      if (r instanceof Error) skipped++;
      else out.push(r);
    }
    return out;
  };
  const addrs = collect(doc.addrs, false);
  const banned = collect(doc.banned, true);
  return { snapshot: { key: doc.key, addrs, banned }, skipped };
}

// ---- files ------------------------------------------------------------------------------------

/** Writes `snap` to `path` atomically (`libs/tempfile.ts`: temp file, fsync, rename), mode 0644. */
export async function saveAddrBookFile(path: string, snap: AddrBookSnapshot): Promise<void> {
  const bytes = new TextEncoder().encode(encodeAddrBookJSON(snap));
  await writeFileAtomic(path, bytes, ADDRBOOK_FILE_MODE);
}

/**
 * Loads `path`: `null` when it does not exist; a corrupt file is renamed to
 * `<path>.corrupt-<UTC timestamp>` with an error-level warning and `null` is returned.
 */
export async function loadAddrBookFile(
  path: string,
  log: Logger,
): Promise<AddrBookSnapshot | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  try {
    const { snapshot, skipped } = decodeAddrBookJSON(text);
    if (skipped > 0) log.error("Skipped unusable address book entries", { file: path, skipped });
    log.info("Loaded address book", { file: path, addrs: snapshot.addrs.length });
    return snapshot;
  } catch (err) {
    if (!(err instanceof AddrBookFileCorruptError)) throw err;
    const aside = `${path}.corrupt-${new Date().toISOString().replace(/[-:]/g, "")}`;
    await Deno.rename(path, aside);
    log.error("Address book file is corrupt; moved aside and starting empty", {
      file: path,
      movedTo: aside,
      err: err.message,
    });
    return null;
  }
}
