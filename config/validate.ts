/**
 * Config value checking: {@link ConfigError}, the conversion of one raw value (from the file, an
 * environment variable or a flag) into its typed form with the key's constraints, and the
 * cross-key rules. Messages name the key, the value and what is allowed:
 * `config error: p2p.max_num_inbound_peers = -1: must be an integer ≥ 0`.
 * @module
 */
import { InvalidParametersError } from "../p2p/errors.ts";
import { validateId } from "../p2p/key.ts";
import { COMETBFT_LINE_SETTINGS, isCometbftLineSetting } from "../p2p/cometbft_line.ts";
import { LogLevelError, parseLogLevel } from "../libs/log.ts";
import { DurationError, formatMs, parseGoDuration } from "./duration.ts";
import {
  type Config,
  type KeySpec,
  KNOWN_REACTORS,
  MAX_CHAIN_ID_LENGTH,
  type ReactorName,
} from "./schema.ts";

/** Where a raw value came from; flags and env vars are named in error messages. */
export type ValueSource =
  | { kind: "default" }
  | { kind: "file"; path: string }
  | { kind: "env"; name: string }
  | { kind: "flag"; name: string };

/** A bad config file, key or value. Stops start-up; the CLI exits with code 2. */
export class ConfigError extends InvalidParametersError {
  /** Dotted key path, when one key is at fault. */
  readonly key?: string;
  /** The offending value as given. */
  readonly value?: unknown;
  /** What the key allows. */
  readonly allowed?: string;
  constructor(
    message: string,
    details: { key?: string; value?: unknown; allowed?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ConfigError";
    this.key = details.key;
    this.value = details.value;
    this.allowed = details.allowed;
  }

  /** `config error: <key> = <value>: <allowed>[ (from --flag | from $ENV)]`. */
  static forValue(key: string, value: unknown, allowed: string, source?: ValueSource): ConfigError {
    let msg = `config error: ${key} = ${showValue(value)}: ${allowed}`;
    if (source?.kind === "flag") msg += ` (from flag ${source.name})`;
    if (source?.kind === "env") msg += ` (from environment variable ${source.name})`;
    return new ConfigError(msg, { key, value, allowed });
  }
}

/** A value as it would be written in TOML (strings quoted). */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(showValue).join(", ")}]`;
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Typed value of one key. */
export type TypedValue = string | number | boolean | string[];

const DURATION_HINT = 'Go duration syntax, e.g. "100ms", "20s", "1m30s"';

function isPrintableAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** Checks an IPv4 or IPv6 literal (no brackets); returns whether it is one. */
export function isIpLiteral(host: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.split(".").every((o) => Number(o) <= 255);
  if (!host.includes(":")) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

function isHostname(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  if (/^[0-9.]+$/.test(host)) return false; // digits-and-dots must be a valid IPv4
  return host.split(".").every((l) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

/**
 * Splits `host:port` (`[v6]:port` for IPv6) and checks the syntax only (no DNS). Returns the
 * reason when invalid.
 */
export function checkHostPort(
  s: string,
  opts: { allowEmptyHost?: boolean; allowPortZero?: boolean } = {},
): string | undefined {
  let host: string;
  let port: string;
  const v6 = /^\[([^\]]*)\]:([^:]*)$/.exec(s);
  if (v6) {
    [, host, port] = v6;
    if (!isIpLiteral(host) || !host.includes(":")) return `"[${host}]" is not an IPv6 address`;
  } else {
    const i = s.lastIndexOf(":");
    if (i < 0) return "missing :port";
    host = s.slice(0, i);
    port = s.slice(i + 1);
    if (host.includes(":")) return "an IPv6 host must be in brackets, e.g. [::1]:26656";
    if (host === "") {
      if (!opts.allowEmptyHost) return "missing host";
    } else if (!isIpLiteral(host) && !isHostname(host)) {
      return `"${host}" is not an IP address or host name`;
    }
  }
  if (!/^\d{1,5}$/.test(port)) return `port "${port}" is not a number`;
  const p = Number(port);
  if (p > 65535 || (p === 0 && !opts.allowPortZero)) {
    return `port ${p} out of range (${opts.allowPortZero ? 0 : 1}-65535)`;
  }
  return undefined;
}

/** Checks `id@host:port` (an optional `tcp://` prefix allowed); returns the reason when invalid. */
export function checkPeerAddress(entry: string): string | undefined {
  const s = entry.startsWith("tcp://") ? entry.slice(6) : entry;
  const at = s.indexOf("@");
  if (at < 0) return "missing node ID (expected id@host:port)";
  try {
    validateId(s.slice(0, at));
  } catch (err) {
    return `bad node ID: ${(err as Error).message} (expected 40 hex characters)`;
  }
  if (/[A-F]/.test(s.slice(0, at))) return "node ID must be lower-case hex";
  return checkHostPort(s.slice(at + 1));
}

function checkDenyEntry(e: string): string | undefined {
  if (/^[0-9a-fA-F]{40}$/.test(e)) return undefined;
  const slash = e.indexOf("/");
  const ip = slash < 0 ? e : e.slice(0, slash);
  if (!isIpLiteral(ip)) return `"${e}" is not an IP address, CIDR range or node ID`;
  if (slash >= 0) {
    const bits = e.slice(slash + 1);
    const max = ip.includes(":") ? 128 : 32;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      return `"${e}": prefix length must be 0-${max}`;
    }
  }
  return undefined;
}

/** Splits CometBFT's comma-separated lists: trims spaces, drops empty entries. */
export function splitList(s: string): string[] {
  return s.split(",").map((x) => x.trim()).filter((x) => x !== "");
}

/** Result of converting a raw value to its kind: the value, or what the kind allows. */
type Coerced = { ok: true; value: TypedValue } | { ok: false; allowed: string };

const ok = (value: TypedValue): Coerced => ({ ok: true, value });
const fail = (allowed: string): Coerced => ({ ok: false, allowed });

/** Go's `strconv.ParseBool` (what viper's weak decoding and pflag use); `""` is false there too. */
const GO_BOOLS: Record<string, boolean> = {
  "1": true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  "0": false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
  "": false,
};

/**
 * Go's `strconv.ParseInt(s, 0, 64)` as mapstructure's weak decoding calls it (`""` counts as
 * 0): an optional sign, then decimal, `0x` hex, `0o`/leading-`0` octal or `0b` binary, with `_`
 * between digits when a prefix is given.
 */
export function parseGoInt(text: string): number | undefined {
  if (text === "") return 0;
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9]*)$/.exec(
    text,
  );
  if (!m) return undefined;
  let digits = m[2];
  if (digits.includes("_")) {
    // Go allows underscores only with a base prefix, and only between digits.
    if (!/^0[xXoObB]?/.test(digits) || /__|_$/.test(digits) || digits === "0_") return undefined;
    digits = digits.replaceAll("_", "");
  }
  let n: number;
  if (/^0[xX]/.test(digits)) n = parseInt(digits.slice(2), 16);
  else if (/^0[oO]/.test(digits)) n = parseInt(digits.slice(2), 8);
  else if (/^0[bB]/.test(digits)) n = parseInt(digits.slice(2), 2);
  else if (digits.length > 1 && digits[0] === "0") n = parseInt(digits.slice(1), 8);
  else n = Number(digits);
  return m[1] === "-" ? -n : n;
}

/** Go's `strconv.FormatFloat(f, 'f', -1, 64)`-like text of a number (weak number → string). */
function goNumberText(n: number): string {
  return Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

/**
 * Converts a raw value to its kind the way CometBFT's config loading does (viper with
 * mapstructure's `WeaklyTypedInput` and `StringToTimeDurationHook`), so a config cometbft accepts
 * is accepted here: `"40"` for an integer, `1` or `"t"` for a boolean, a number for a string, and
 * an integer for a duration, which is NANOSECONDS (`flush_throttle_timeout = 100` is 100ns, as
 * Go reads it). Flags and environment variables are text and follow the same rules.
 */
function coerceKind(spec: KeySpec, raw: unknown): Coerced {
  const num = typeof raw === "bigint" ? Number(raw) : raw;
  switch (spec.kind) {
    case "string":
    case "path":
      if (typeof num === "string") return ok(num);
      if (typeof num === "number") return ok(goNumberText(num));
      if (typeof num === "boolean") return ok(num ? "1" : "0");
      return fail("must be a string");
    case "bool":
      if (typeof num === "boolean") return ok(num);
      if (typeof num === "number") return ok(num !== 0);
      if (typeof num === "string" && num in GO_BOOLS) return ok(GO_BOOLS[num]);
      return fail("must be a boolean (true or false)");
    case "int": {
      let n: number | undefined;
      if (typeof num === "number") n = Math.trunc(num);
      else if (typeof num === "boolean") n = num ? 1 : 0;
      else if (typeof num === "string") n = parseGoInt(num.trim() === num ? num : "x");
      if (n === undefined || !Number.isSafeInteger(n) || n < (INT_MIN[spec.path] ?? 0)) {
        return fail(intAllowed(spec.path));
      }
      return ok(n);
    }
    case "duration": {
      // Go's time.Duration is int64 nanoseconds: a bare number is nanoseconds, not ms or s.
      if (typeof num === "number") return ok(Math.trunc(num) / 1e6);
      if (typeof num === "boolean") return ok(num ? 1e-6 : 0);
      if (typeof num !== "string") return fail(`must be a duration string (${DURATION_HINT})`);
      try {
        return ok(parseGoDuration(num) / 1e6);
      } catch (err) {
        if (err instanceof DurationError) return fail(`must be a duration (${DURATION_HINT})`);
        throw err;
      }
    }
    case "list":
      if (typeof num === "string") return ok(splitList(num));
      if (typeof num === "number") return ok(splitList(goNumberText(num)));
      if (Array.isArray(raw) && raw.every((x) => typeof x === "string")) {
        return ok(raw.map((x) => x.trim()).filter((x) => x !== ""));
      }
      return fail("must be a comma separated string or an array of strings");
  }
}

type Check = (v: never) => string | undefined;

/** Integer keys whose minimum is not 0. */
const INT_MIN: Record<string, number> = {
  "rpc.max_body_bytes": 1,
  "rpc.max_header_bytes": 1,
  "p2p.max_packet_msg_payload_size": 1,
  "p2p.max_pending_handshakes": 1,
  "p2p.seed.verify_workers": 1,
  "p2p.seed.crawl_concurrency": 1,
};

function intAllowed(path: string): string {
  return `must be an integer ≥ ${INT_MIN[path] ?? 0}`;
}
const nonNegDuration: Check = (v: number) =>
  v < 0 ? `must be a duration ≥ 0 (${DURATION_HINT})` : undefined;
const posDuration: Check = (v: number) =>
  v <= 0 ? `must be a duration > 0 (${DURATION_HINT})` : undefined;

function eachEntry(what: string, check: (e: string) => string | undefined): Check {
  return (v: string[]) => {
    for (const e of v) {
      const why = check(e);
      if (why) return `entry "${e}": ${why} (allowed: ${what})`;
    }
    return undefined;
  };
}

const idEntry = (e: string): string | undefined => {
  try {
    validateId(e);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

function tcpLaddr(v: string): string | undefined {
  const bare = v.startsWith("tcp://") ? v.slice(6) : v;
  if (v.includes("://") && !v.startsWith("tcp://")) return "must be tcp://host:port";
  const why = checkHostPort(bare, { allowPortZero: true });
  return why ? `must be tcp://host:port (${why})` : undefined;
}

/** Constraints beyond the value's kind, by key path. */
const CHECKS: Record<string, Check> = {
  moniker: (v: string) =>
    v.length === 0 || !isPrintableAscii(v) || v.trim() === ""
      ? "must be non-empty printable ASCII"
      : undefined,
  log_level: (v: string) => {
    try {
      parseLogLevel(v);
      return undefined;
    } catch (err) {
      if (!(err instanceof LogLevelError)) throw err;
      return 'must be debug, info, error or none, or module:level pairs like "p2p:debug,*:info"';
    }
  },
  log_format: (v: string) =>
    v === "plain" || v === "json" ? undefined : "unknown log_format (must be 'plain' or 'json')",
  chain_id: (v: string) =>
    v.length > MAX_CHAIN_ID_LENGTH || !isPrintableAscii(v) || (v !== "" && v.trim() !== v)
      ? `must be printable ASCII of at most ${MAX_CHAIN_ID_LENGTH} characters, without surrounding spaces`
      : undefined,
  cometbft_line: (v: string) =>
    isCometbftLineSetting(v)
      ? undefined
      : `unknown CometBFT line (allowed: ${COMETBFT_LINE_SETTINGS.join(", ")})`,
  "rpc.laddr": (v: string) => {
    if (v === "") return undefined;
    if (v.startsWith("unix://")) {
      return v.length > 7 ? undefined : "must be tcp://host:port, unix:///path or empty";
    }
    if (!v.startsWith("tcp://")) return "must be tcp://host:port, unix:///path or empty";
    const why = checkHostPort(v.slice(6), { allowPortZero: true });
    return why ? `must be tcp://host:port, unix:///path or empty (${why})` : undefined;
  },
  "p2p.laddr": tcpLaddr,
  "p2p.external_address": (v: string) => {
    if (v === "") return undefined;
    const why = checkHostPort(v.startsWith("tcp://") ? v.slice(6) : v);
    return why ? `must be empty or host:port (${why})` : undefined;
  },
  "p2p.seeds": eachEntry("id@host:port", checkPeerAddress),
  "p2p.persistent_peers": eachEntry("id@host:port", checkPeerAddress),
  "p2p.unconditional_peer_ids": eachEntry("40-hex node IDs", idEntry),
  "p2p.persistent_peers_max_dial_period": nonNegDuration,
  "p2p.flush_throttle_timeout": nonNegDuration,
  "p2p.private_peer_ids": eachEntry("40-hex node IDs", idEntry),
  "p2p.handshake_timeout": nonNegDuration,
  "p2p.dial_timeout": nonNegDuration,
  "p2p.ping_interval": posDuration,
  "rpc.read_timeout": posDuration,
  "rpc.timeout_broadcast_tx_commit": nonNegDuration,
  "p2p.pong_timeout": posDuration,
  "p2p.reactor_error_redial_cooldown": nonNegDuration,
  "p2p.deny_list": eachEntry("IP addresses, CIDR ranges, node IDs", checkDenyEntry),
  "p2p.seed.disconnect_wait": nonNegDuration,
  "p2p.seed.crawl_period": posDuration,
  "p2p.seed.recheck_period": nonNegDuration,
  "p2p.seed.address_expiry": nonNegDuration,
  "p2p.seed.crawl_interval": (v: number) =>
    v !== 0 && v < 30_000 ? `must be 0 (off) or at least 30s (${DURATION_HINT})` : undefined,
  "p2p.seed.crawl_timeout": posDuration,
  "instrumentation.prometheus_listen_addr": (v: string) => {
    if (v === "") return undefined;
    const why = checkHostPort(v, { allowEmptyHost: true, allowPortZero: true });
    return why ? `must be host:port, :port or empty (${why})` : undefined;
  },
  "instrumentation.namespace": (v: string) =>
    /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(v)
      ? undefined
      : "must be a Prometheus name: letters, digits and _, not starting with a digit",
  "node.version": (v: string) =>
    isPrintableAscii(v) && (v === "" || v.trim() !== "") ? undefined : "must be printable ASCII",
  "node.reactors": (v: string[]) => {
    const known: readonly string[] = KNOWN_REACTORS;
    for (const r of v) {
      if (!known.includes(r)) {
        return `unknown reactor "${r}" (allowed: ${KNOWN_REACTORS.join(", ")})`;
      }
    }
    if (new Set(v).size !== v.length) return "lists a reactor twice";
    return undefined;
  },
  "node.tx_index": (v: string) => v === "on" || v === "off" ? undefined : 'must be "on" or "off"',
};

/**
 * Converts and checks one raw value of `spec` with CometBFT's weak decoding rules (see
 * `coerceKind`), from the file, a flag or an environment variable alike.
 * @throws ConfigError naming the key, the value and what is allowed.
 */
export function coerceValue(spec: KeySpec, raw: unknown, source: ValueSource): TypedValue {
  const c = coerceKind(spec, raw);
  if (!c.ok) throw ConfigError.forValue(spec.path, raw, c.allowed, source);
  const v = c.value;
  const check = CHECKS[spec.path] as ((x: TypedValue) => string | undefined) | undefined;
  const why = check?.(v);
  if (why) throw ConfigError.forValue(spec.path, raw, why, source);
  return v;
}

/**
 * Rules spanning several keys, checked on the assembled config.
 * @throws ConfigError
 */
export function validateConfig(c: Config): void {
  if (c.p2p.seedMode && !c.p2p.pex) {
    throw ConfigError.forValue("p2p.seed_mode", true, "requires p2p.pex = true");
  }
  if (c.p2p.pongTimeoutMs >= c.p2p.pingIntervalMs) {
    throw ConfigError.forValue(
      "p2p.pong_timeout",
      formatMs(c.p2p.pongTimeoutMs),
      `must be less than p2p.ping_interval (${formatMs(c.p2p.pingIntervalMs)})`,
    );
  }
}

/** The reactors that will run: `node.reactors`, with "pex" present exactly when `p2p.pex`. */
export function enabledReactors(c: Config): ReactorName[] {
  const list = c.node.reactors.filter((r) => r !== "pex");
  return c.p2p.pex ? ["pex", ...list] : list;
}
