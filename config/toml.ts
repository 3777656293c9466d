/**
 * `config.toml` text: parsing with smol-toml into a flat map of known keys (unknown keys become
 * warnings), and rendering a commented config in CometBFT's layout (`toml.go` template order and
 * comments for CometBFT's keys, clearly marked sections for switchyard's).
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { formatMs } from "./duration.ts";
import { type Config, type KeySpec, type Section, SECTIONS } from "./schema.ts";
import { KEYS, KEYS_BY_PATH } from "./keys.ts";
import { ConfigError } from "./validate.ts";

/** The root table of extra chains (`[chains.NAME]`, see `chains.ts`). */
const CHAINS_TABLE = "chains";

/** Known keys found in a file, by dotted path, with their raw TOML values. */
export interface ParsedFile {
  values: Map<string, unknown>;
  /** One line per unknown key or table (ignored). */
  warnings: string[];
  /** The raw `[chains]` table, if any (built by `chains.ts`). */
  chains?: unknown;
}

const KNOWN_TABLES: ReadonlySet<string> = new Set(SECTIONS.filter((s) => s !== ""));

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Parses config text. `path` only labels messages.
 * @throws ConfigError for invalid TOML (with line, column and the line itself), or a known table that is not a table.
 */
export function parseConfigText(text: string, path: string): ParsedFile {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text, { unsafeKeyBehaviour: "drop" }) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const msg = err.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    const line = text.split(/\r?\n/)[err.line - 1] ?? "";
    throw new ConfigError(
      `config error: ${path}:${err.line}:${err.column}: invalid TOML at line ${err.line}, ` +
        `column ${err.column}: ${msg}\n  ${line}\n  ${" ".repeat(Math.max(0, err.column - 1))}^`,
      {},
      { cause: err },
    );
  }
  const values = new Map<string, unknown>();
  const warnings: string[] = [];
  let chains: unknown;
  const walk = (table: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(table)) {
      const full = prefix === "" ? key : `${prefix}.${key}`;
      if (KEYS_BY_PATH.has(full)) {
        values.set(full, value);
      } else if (full === CHAINS_TABLE) {
        chains = value;
      } else if (KNOWN_TABLES.has(full)) {
        if (!isTable(value)) {
          throw ConfigError.forValue(full, value, `must be a table ([${full}])`);
        }
        walk(value, full);
      } else if (isTable(value)) {
        warnings.push(`${path}: unknown table [${full}] ignored`);
      } else {
        warnings.push(`${path}: unknown key "${full}" ignored`);
      }
    }
  };
  walk(doc, "");
  return { values, warnings, chains };
}

/** The typed object holding a section's fields. */
export function sectionObject(c: Config, section: Section): Record<string, unknown> {
  switch (section) {
    case "":
      return c as unknown as Record<string, unknown>;
    case "rpc":
      return c.rpc as unknown as Record<string, unknown>;
    case "p2p":
      return c.p2p as unknown as Record<string, unknown>;
    case "p2p.seed":
      return c.p2p.seed as unknown as Record<string, unknown>;
    case "instrumentation":
      return c.instrumentation as unknown as Record<string, unknown>;
    case "node":
      return c.node as unknown as Record<string, unknown>;
  }
}

/** A TOML basic string (JSON's escapes are valid TOML; DEL must be escaped too). */
function tomlString(s: string): string {
  return JSON.stringify(s).replaceAll("\x7f", "\\u007f");
}

/** Renders one typed value in file form; paths under `home` are written relative to it. */
export function renderValue(spec: KeySpec, value: unknown, home: string): string {
  switch (spec.kind) {
    case "string":
      return tomlString(value as string);
    case "path": {
      const p = value as string;
      return tomlString(p.startsWith(home + "/") ? p.slice(home.length + 1) : p);
    }
    case "bool":
    case "int":
      return String(value);
    case "duration":
      return tomlString(formatMs(value as number));
    case "list": {
      const list = value as string[];
      if (spec.listStyle === "comma") return tomlString(list.join(","));
      return `[${list.map(tomlString).join(", ")}]`;
    }
  }
}

const BANNER: Record<Section, string[]> = {
  "": [
    "# This is a TOML config file for switchyard, a CometBFT-compatible p2p node.",
    "# For more information, see https://github.com/toml-lang/toml",
    "",
    '# NOTE: Any path below can be absolute (e.g. "/var/switchyard/data") or',
    '# relative to the home directory (e.g. "data"). The home directory is',
    '# "$HOME/.switchyard" by default, but could be changed via $SWITCHYARD_HOME env variable',
    "# or --home cmd flag.",
    "#",
    "# Every key can be overridden by an environment variable SWITCHYARD_<SECTION>_<KEY>",
    "# (e.g. SWITCHYARD_P2P_LADDR) and by a flag --<section>.<key> (e.g. --p2p.laddr);",
    "# flags win over environment variables, which win over this file.",
    '# Keys marked "switchyard:" and the [p2p.seed] and [node] tables are not CometBFT\'s.',
    "",
    "#######################################################################",
    "###                   Main Base Config Options                      ###",
    "#######################################################################",
  ],
  rpc: [
    "#######################################################",
    "###       RPC Server Configuration Options          ###",
    "#######################################################",
    "[rpc]",
  ],
  p2p: [
    "#######################################################",
    "###           P2P Configuration Options             ###",
    "#######################################################",
    "[p2p]",
  ],
  "p2p.seed": [
    "#######################################################",
    "###   switchyard: seed mode (p2p.seed_mode = true)  ###",
    "#######################################################",
    "[p2p.seed]",
  ],
  instrumentation: [
    "#######################################################",
    "###       Instrumentation Configuration Options     ###",
    "#######################################################",
    "[instrumentation]",
  ],
  node: [
    "#######################################################",
    "###   switchyard: what this node advertises and runs ###",
    "#######################################################",
    "[node]",
  ],
};

/** Renders `c` as a commented `config.toml` that {@link parseConfigText} reads back to `c`. */
export function renderConfigToml(c: Config): string {
  const out: string[] = [];
  for (const section of SECTIONS) {
    if (out.length > 0) out.push("");
    out.push(...BANNER[section]);
    let sawExtension = false;
    for (const spec of KEYS) {
      if (spec.section !== section) continue;
      if (section === "p2p" && !spec.cometbft && !sawExtension) {
        sawExtension = true;
        out.push("", "##### switchyard extensions of [p2p] #####");
      }
      if (spec.doc !== "") {
        out.push("");
        for (const line of spec.doc.split("\n")) out.push(line === "" ? "#" : `# ${line}`);
      }
      const value = sectionObject(c, section)[spec.field];
      out.push(`${spec.key} = ${renderValue(spec, value, c.home)}`);
    }
  }
  return out.join("\n") + "\n";
}
