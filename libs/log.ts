/**
 * CometBFT-style structured logging (`libs/log`): plain lines
 * `I[2025-01-15|10:00:00.101] message<pad to 44> module=p2p key=value` or JSON lines.
 * Loggers are injected as components: each carries a module and context key/values, and a
 * level filter decided per module (`p2p:debug,*:info`), as CometBFT's `log_level` does.
 * @module
 */

/** Log levels in increasing severity; `none` silences. */
export type LogLevel = "debug" | "info" | "error" | "none";
/** Key/value pairs attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The logger components receive. `with` derives a child carrying more context. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A child logger with extra context; a `module` key switches the level rule in force. */
  with(fields: LogFields): Logger;
  /**
   * Whether a line at `level` would be written (optional: loggers without it are taken to write
   * everything). Lets a hot path skip building fields, or work done only for a log line.
   */
  enabled?(level: Exclude<LogLevel, "none">): boolean;
}

/** {@link Logger.enabled} of `logger`, `true` when it does not say. */
export function logEnabled(logger: Logger, level: Exclude<LogLevel, "none">): boolean {
  return logger.enabled?.(level) ?? true;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, error: 2, none: 3 };

/** Parsed `log_level`: a default level and per-module overrides. */
export interface LevelRules {
  readonly defaultLevel: LogLevel;
  readonly modules: ReadonlyMap<string, LogLevel>;
}

/** Thrown for a `log_level` string CometBFT would refuse. */
export class LogLevelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LogLevelError";
  }
}

function asLevel(s: string, whole: string): LogLevel {
  if (s === "debug" || s === "info" || s === "error" || s === "none") return s;
  throw new LogLevelError(
    `log_level "${whole}": unknown level "${s}" (allowed: debug, info, error, none)`,
  );
}

/** Parses `info`, or `p2p:debug,pex:debug,*:error` (CometBFT `ParseLogLevel`). */
export function parseLogLevel(spec: string): LevelRules {
  if (!spec.includes(":") && !spec.includes(",")) {
    return { defaultLevel: asLevel(spec, spec), modules: new Map() };
  }
  let defaultLevel: LogLevel = "info";
  const modules = new Map<string, LogLevel>();
  for (const item of spec.split(",")) {
    const parts = item.split(":");
    if (parts.length !== 2) {
      throw new LogLevelError(
        `log_level "${spec}": expected module:level pairs separated by commas, got "${item}"`,
      );
    }
    const lvl = asLevel(parts[1], spec);
    if (parts[0] === "*") defaultLevel = lvl;
    else modules.set(parts[0], lvl);
  }
  return { defaultLevel, modules };
}

/** Where log lines go; tests capture, production writes to stdout. */
export type LogSink = (line: string) => void;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level?: string | LevelRules;
  format?: "plain" | "json";
  sink?: LogSink;
  /** Colour debug/error lines (default: when stdout is a terminal). */
  color?: boolean;
}

const enc = new TextEncoder();
function stdoutSink(line: string): void {
  Deno.stdout.writeSync(enc.encode(line + "\n"));
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function plainTime(d: Date): string {
  const ms = String(d.getMilliseconds()).padStart(3, "0");
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}|` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${ms}`;
}

function valueString(v: unknown): string {
  if (v instanceof Error) return v.message;
  if (v instanceof Uint8Array) {
    return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  }
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object" && typeof (v as { toString: unknown }).toString === "function") {
    const s = (v as { toString(): string }).toString();
    if (s !== "[object Object]") return s;
    return JSON.stringify(v);
  }
  return String(v);
}

function logfmtValue(v: unknown): string {
  const s = valueString(v);
  if (s === "") return "";
  if (s === "null") return '"null"';
  // deno-lint-ignore no-control-regex
  if (/[ ="\x00-\x1f]/.test(s)) return JSON.stringify(s);
  return s;
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  // Lists stay JSON arrays (each element rendered as a single value would be).
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v instanceof Uint8Array) return btoa(String.fromCharCode(...v));
  if (typeof v === "bigint") return v.toString();
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const s = valueString(v);
    if (!s.startsWith("{")) return s;
  }
  return v;
}

class StructuredLogger implements Logger {
  constructor(
    private readonly rules: LevelRules,
    private readonly format: "plain" | "json",
    private readonly sink: LogSink,
    private readonly color: boolean,
    private readonly context: LogFields,
    private readonly threshold: number,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  enabled(level: Exclude<LogLevel, "none">): boolean {
    return RANK[level] >= this.threshold;
  }

  with(fields: LogFields): Logger {
    const context = { ...this.context, ...fields };
    let threshold = this.threshold;
    if (typeof fields.module === "string") {
      threshold = RANK[this.rules.modules.get(fields.module) ?? this.rules.defaultLevel];
    }
    return new StructuredLogger(this.rules, this.format, this.sink, this.color, context, threshold);
  }

  private log(level: Exclude<LogLevel, "none">, msg: string, fields?: LogFields): void {
    if (RANK[level] < this.threshold) return;
    const all: LogFields = { ...this.context, ...fields };
    if (this.format === "json") {
      const obj: Record<string, unknown> = { _msg: msg, level, ts: new Date().toISOString() };
      for (const [k, v] of Object.entries(all)) obj[k] = jsonValue(v);
      const sorted = Object.fromEntries(Object.entries(obj).sort(([a], [b]) => a < b ? -1 : 1));
      this.sink(JSON.stringify(sorted));
      return;
    }
    let line = `${level[0].toUpperCase()}[${plainTime(new Date())}] ${msg.padEnd(44)} `;
    if (all.module !== undefined) line += `module=${logfmtValue(all.module)} `;
    const kv: string[] = [];
    for (const [k, v] of Object.entries(all)) {
      if (k === "module") continue;
      kv.push(`${k}=${logfmtValue(v)}`);
    }
    line += kv.join(" ");
    if (this.color && level === "debug") line = `\x1b[90m${line}\x1b[0m`;
    if (this.color && level === "error") line = `\x1b[31m${line}\x1b[0m`;
    this.sink(line);
  }
}

/** Creates a root logger. Derive module loggers with `logger.with({ module: "p2p" })`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const rules = typeof opts.level === "string" || opts.level === undefined
    ? parseLogLevel(opts.level ?? "info")
    : opts.level;
  let color = opts.color;
  if (color === undefined) {
    try {
      color = opts.sink === undefined && Deno.stdout.isTerminal();
    } catch {
      color = false;
    }
  }
  return new StructuredLogger(
    rules,
    opts.format ?? "plain",
    opts.sink ?? stdoutSink,
    color,
    {},
    RANK[rules.defaultLevel],
  );
}

class NopLogger implements Logger {
  debug(): void {}
  info(): void {}
  error(): void {}
  enabled(): boolean {
    return false;
  }
  with(): Logger {
    return this;
  }
}

/** A logger that drops everything: the default for library code and tests. */
export const nopLogger: Logger = new NopLogger();
