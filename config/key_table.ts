/**
 * The constructor of {@link KeySpec} rows shared by the key tables (`keys.ts`, `keys_p2p.ts`).
 * @module
 */
import type { KeyKind, KeySpec, Section, TomlValue } from "./schema.ts";

/**
 * One key's row: `path` is the dotted key (`p2p.laddr`), `field` the {@link KeySpec.field} it
 * sets; CometBFT's own keys unless `extra.cometbft` is false ({@link OURS}).
 */
export function keySpec(
  path: string,
  field: string,
  kind: KeyKind,
  def: TomlValue | undefined,
  doc: string,
  extra: { listStyle?: "comma" | "array"; cometbft?: boolean } = {},
): KeySpec {
  const dot = path.lastIndexOf(".");
  const section = (dot < 0 ? "" : path.slice(0, dot)) as Section;
  return {
    path,
    section,
    key: path.slice(dot + 1),
    field,
    kind,
    default: def,
    doc,
    listStyle: kind === "list" ? extra.listStyle ?? "comma" : undefined,
    cometbft: extra.cometbft ?? true,
  };
}

/** `extra` of a key switchyard adds (not in CometBFT's config.toml). */
export const OURS = { cometbft: false } as const;
