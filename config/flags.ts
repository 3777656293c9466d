/**
 * The command line: one parser (`node:util` parseArgs) for the config flags every command takes
 * and each command's own flags, with CometBFT's spellings accepted.
 *
 * Config flags are `--<section>.<key>` for every known key (`--p2p.laddr`, `--rpc.unsafe`),
 * top-level keys bare (`--moniker`, `--log_level`), and each also with `-` for `_`
 * (`--p2p.external-address`, as `cometbft start --help` lists it; `--log-level`), plus
 * `--chain-id` (also `--chain_id`), `--home DIR` and `--config FILE`. Values go as
 * `--flag value` or `--flag=value`; booleans alone mean true and take a value only with `=`
 * (`--p2p.pex=false`), as in CometBFT's CLI. Flags `cometbft start` has but switchyard does not
 * need (`--proxy_app`, `--abci`, `--db_backend`, ...) are accepted with a warning, so a Go node's
 * service command line runs unchanged. An unknown flag is an error that names the nearest
 * known one ("did you mean --p2p.laddr?").
 * @module
 */
import { parseArgs } from "node:util";
import { KEYS } from "./keys.ts";
import type { KeySpec } from "./schema.ts";

/** A malformed command line (unknown flag, missing value). The CLI exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One of a command's own flags. */
export interface CommandOption {
  type: "string" | "boolean";
  short?: string;
}

/** A command's own flags by long name (without `--`). */
export type CommandOptions = Record<string, CommandOption>;

/** `cometbft start` flags with no meaning here: accepted, warned about, ignored. */
export const IGNORED_COMETBFT_FLAGS: Readonly<Record<string, "string" | "boolean">> = {
  proxy_app: "string",
  abci: "string",
  priv_validator_laddr: "string",
  genesis_hash: "string",
  "consensus.double_sign_check_height": "string",
  "consensus.create_empty_blocks": "boolean",
  "consensus.create_empty_blocks_interval": "string",
  "rpc.grpc_laddr": "string",
  "rpc.pprof_laddr": "string",
  db_backend: "string",
  db_dir: "string",
  trace: "boolean",
};

/** What a config flag name stands for. */
type FlagTarget =
  | { kind: "key"; spec: KeySpec }
  | { kind: "home" | "config" }
  | { kind: "ignored"; type: "string" | "boolean" };

/** Every config flag spelling (without `--`) → what it sets. */
export const CONFIG_FLAGS: ReadonlyMap<string, FlagTarget> = (() => {
  const m = new Map<string, FlagTarget>();
  for (const spec of KEYS) {
    m.set(spec.path, { kind: "key", spec });
    m.set(spec.path.replaceAll("_", "-"), { kind: "key", spec });
  }
  m.set("home", { kind: "home" });
  m.set("config", { kind: "config" });
  for (const [name, type] of Object.entries(IGNORED_COMETBFT_FLAGS)) {
    m.set(name, { kind: "ignored", type });
  }
  return m;
})();

/** The canonical flag for a key path (`--chain-id` for `chain_id`, else `--<path>`). */
export function flagName(path: string): string {
  return path === "chain_id" || path === "cometbft_line"
    ? `--${path.replace("_", "-")}`
    : `--${path}`;
}

/** A command line split into config flags, the command's own flags and positionals. */
export interface ConfigArgs {
  /** Key path → flag text (booleans given alone are "true"). */
  flags: Record<string, string>;
  /** `--home`. */
  home?: string;
  /** `--config`. */
  configPath?: string;
  /** The command's own flags that were given. */
  values: Record<string, string | boolean>;
  /** Positional arguments, in order (everything after `--` included). */
  rest: string[];
  /** Ignored CometBFT flags that were given. */
  warnings: string[];
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The known flag nearest to `name` (both without `--`), if one is close enough to suggest. */
export function suggestFlag(name: string, known: Iterable<string>): string | undefined {
  const names = [...known];
  const norm = (s: string) => s.replaceAll("-", "_");
  const suffix = names.find((k) => norm(k).endsWith("." + norm(name)));
  if (suffix !== undefined) return suffix;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of names) {
    const d = distance(norm(name), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** `unknown flag --x` with a suggestion when one is near. */
export function unknownFlagError(raw: string, known: Iterable<string>): UsageError {
  const name = raw.replace(/^-+/, "");
  const hint = raw.startsWith("--") ? suggestFlag(name, known) : undefined;
  return new UsageError(`unknown flag ${raw}${hint ? `: did you mean --${hint}?` : ""}`);
}

/** The parseArgs type of a config flag. */
function targetType(t: FlagTarget): "string" | "boolean" {
  if (t.kind === "key") return t.spec.kind === "bool" ? "boolean" : "string";
  if (t.kind === "ignored") return t.type;
  return "string";
}

/** The parseArgs option table of the config flags plus `own`. */
function optionTable(own: CommandOptions) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, t] of CONFIG_FLAGS) options[name] = { type: targetType(t) };
  for (const [name, o] of Object.entries(own)) options[name] = { ...o };
  return options;
}

/**
 * Parses a command's arguments: config flags, `--home`, `--config`, the command's own flags
 * (`own`) and positionals.
 * @throws UsageError for an unknown flag (with a suggestion), a missing value, or a value given
 *   to a flag that takes none.
 */
export function parseConfigArgs(args: readonly string[], own: CommandOptions = {}): ConfigArgs {
  const options = optionTable(own);
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out: ConfigArgs = { flags: {}, values: {}, rest: [], warnings: [] };
  const known = Object.keys(options);
  for (const tok of tokens) {
    if (tok.kind === "positional") {
      out.rest.push(tok.value);
      continue;
    }
    if (tok.kind === "option-terminator") continue;
    // hasOwn: `--constructor` must not find Object.prototype's.
    if (!Object.hasOwn(options, tok.name)) throw unknownFlagError(tok.rawName, known);
    const opt = options[tok.name];
    if (opt.type === "string") {
      // parseArgs (non-strict) takes the next word even when it is another flag.
      if (tok.value === undefined || (!tok.inlineValue && tok.value.startsWith("--"))) {
        throw new UsageError(
          `flag ${tok.rawName} needs a value (${tok.rawName} VALUE or ${tok.rawName}=VALUE)`,
        );
      }
    }
    const ownOpt = Object.hasOwn(own, tok.name);
    if (ownOpt) {
      if (opt.type === "boolean" && tok.value !== undefined) {
        throw new UsageError(`flag ${tok.rawName} takes no value`);
      }
      out.values[tok.name] = tok.value ?? true;
      continue;
    }
    const target = CONFIG_FLAGS.get(tok.name)!;
    const text = tok.value ?? "true";
    switch (target.kind) {
      case "home":
        out.home = text;
        break;
      case "config":
        out.configPath = text;
        break;
      case "ignored":
        out.warnings.push(`flag ${tok.rawName} ignored (switchyard runs no consensus or ABCI app)`);
        break;
      case "key":
        out.flags[target.spec.path] = text;
    }
  }
  return out;
}

/**
 * Moves config flags written before the subcommand (`switchyard --home /h start`, as cobra's
 * persistent flags allow) after it: returns `argv` rearranged as
 * `[subcommand, ...leading flags, ...the rest]`, or `argv` as is when nothing precedes the
 * subcommand (or there is none).
 * @throws UsageError for an unknown leading flag.
 */
export function hoistGlobalFlags(argv: readonly string[]): string[] {
  const options = optionTable({});
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((t) => t.kind === "positional" || t.kind === "option-terminator");
  if (first === undefined || first.index === 0 || first.kind !== "positional") return [...argv];
  for (const t of tokens) {
    if (t.index >= first.index) break;
    if (t.kind === "option" && !Object.hasOwn(options, t.name)) {
      if (t.name === "help" || t.name === "h") continue;
      throw unknownFlagError(t.rawName, Object.keys(options));
    }
  }
  return [argv[first.index], ...argv.slice(0, first.index), ...argv.slice(first.index + 1)];
}

/** Every config flag name with `--`, canonical spellings first (for completion scripts). */
export function configFlagNames(): string[] {
  return [...CONFIG_FLAGS.keys()].map((n) => `--${n}`);
}
