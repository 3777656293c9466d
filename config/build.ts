/**
 * Assembles the typed {@link Config} from layered raw values (defaults < file < env < flags),
 * converting and checking each key, resolving file paths against the home directory.
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { type Config, FALLBACK_MONIKER, type KeySpec, type Section } from "./schema.ts";
import { KEYS } from "./keys.ts";
import { coerceValue, type TypedValue, validateConfig, type ValueSource } from "./validate.ts";

/** One raw value and where it came from. */
export interface RawValue {
  raw: unknown;
  source: ValueSource;
}

/**
 * The host name, or "anonymous" (CometBFT's default moniker). Asks for nothing: without the
 * `sys` permission it falls back to `/etc/hostname` when reading is allowed.
 */
export function defaultMoniker(): string {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted") {
      const h = Deno.hostname().trim();
      if (h !== "") return h;
    }
  } catch {
    // fall through
  }
  // Deno wants --allow-all for /proc, so /etc/hostname is tried first.
  for (const file of ["/etc/hostname", "/proc/sys/kernel/hostname"]) {
    try {
      if (Deno.permissions.querySync({ name: "read", path: file }).state !== "granted") continue;
      const h = Deno.readTextFileSync(file).trim();
      if (/^[\x21-\x7e][\x20-\x7e]*$/.test(h)) return h;
    } catch {
      // try the next source
    }
  }
  return FALLBACK_MONIKER;
}

function resolvePath(home: string, p: string): string {
  if (p === "") return "";
  return isAbsolute(p) ? p : join(home, p);
}

/**
 * Builds a config: for each known key the last layer that sets it wins (layers in increasing
 * precedence); keys no layer sets take their default.
 * @throws ConfigError for the first bad value, or a broken cross-key rule.
 */
export function buildConfig(home: string, layers: ReadonlyMap<string, RawValue>[] = []): Config {
  const absHome = resolve(home);
  const sections: Record<Section, Record<string, TypedValue | object>> = {
    "": {},
    rpc: {},
    p2p: {},
    "p2p.seed": {},
    instrumentation: {},
    node: {},
  };
  for (const spec of KEYS) {
    let chosen: RawValue | undefined;
    for (const layer of layers) chosen = layer.get(spec.path) ?? chosen;
    const raw = chosen ? chosen.raw : defaultRaw(spec);
    let value = coerceValue(spec, raw, chosen ? chosen.source : { kind: "default" });
    if (spec.kind === "path") value = resolvePath(absHome, value as string);
    sections[spec.section][spec.field] = value;
  }
  const p2p = { ...sections.p2p, seed: sections["p2p.seed"] };
  const config = {
    home: absHome,
    ...sections[""],
    p2p,
    rpc: sections.rpc,
    instrumentation: sections.instrumentation,
    node: sections.node,
  } as unknown as Config;
  validateConfig(config);
  return config;
}

function defaultRaw(spec: KeySpec): unknown {
  if (spec.path === "moniker") return defaultMoniker();
  return Array.isArray(spec.default) ? [...spec.default] : spec.default;
}

/** The default config for `home` (moniker = host name). */
export function defaultConfig(home: string): Config {
  return buildConfig(home);
}
