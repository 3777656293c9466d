/**
 * The V8 flags a switchyard node runs with, read from the `cli` task in `deno.json` (what
 * `deno task node` uses), so a benchmark's node child is measured with the same flags.
 * `SWITCHYARD_BENCH_V8_FLAGS` replaces them (experiments: `""` for V8's defaults).
 * @module
 */

/** The node's V8 flags (without `--v8-flags=`), e.g. `["--max-semi-space-size=1"]`. */
export function nodeV8Flags(): string[] {
  const env = Deno.env.get("SWITCHYARD_BENCH_V8_FLAGS");
  if (env !== undefined) return env.split(",").filter((f) => f !== "");
  const cfg = JSON.parse(
    Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)),
  ) as { tasks?: Record<string, string> };
  const m = /--v8-flags=([^\s'"]+)/.exec(cfg.tasks?.cli ?? "");
  return m ? m[1].split(",") : [];
}

/** A `--v8-flags=` argument with the node's flags plus `extra`; none when both are empty. */
export function v8FlagsArgs(extra: string[] = []): string[] {
  const all = [...nodeV8Flags(), ...extra];
  return all.length > 0 ? [`--v8-flags=${all.join(",")}`] : [];
}
