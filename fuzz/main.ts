/**
 * `deno task fuzz [--runs N] [--decoder NAME[,NAME]] [--seed S] [--max-seconds N] [--no-save]`:
 * mutation-based fuzzing of every decoder that takes outside bytes (see {@link TARGETS}). Prints
 * inputs/s and accepted / typed-rejected counts per decoder; exits 1 if any decoder threw an
 * untyped error, took longer than 1 s on one input, or grew its heap after warm-up, and saves
 * each such input under `tests/fixtures/fuzz/<decoder>/`.
 * @module
 */
import { parseArgs } from "node:util";
import { type FuzzResult, fuzzTarget } from "./runner.ts";
import { TARGETS } from "./targets.ts";

const USAGE = `usage: deno task fuzz [--runs N] [--decoder NAME[,NAME...]] [--seed S]
                      [--max-seconds N] [--no-save] [--list]
  --runs N         inputs per decoder (default 1000000)
  --decoder NAME   only these decoders (--list shows them)
  --seed S         PRNG seed (default 1); same seed and runs => same inputs
  --max-seconds N  stop each decoder after N seconds even if --runs is not reached
  --no-save        do not write finding inputs to tests/fixtures/fuzz/`;

function fail(msg: string): never {
  console.error(`fuzz: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

function intArg(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    fail(`--${name} must be a non-negative integer, got "${v}"`);
  }
  return n;
}

function row(r: FuzzResult): string {
  const rate = r.elapsedMs > 0 ? Math.round(r.runs / (r.elapsedMs / 1000)) : 0;
  const heap = r.heapWarmupBytes === undefined
    ? "-"
    : `${(r.heapWarmupBytes / 2 ** 20).toFixed(1)}->${
      ((r.heapEndBytes ?? 0) / 2 ** 20).toFixed(1)
    }MiB`;
  return [
    r.name.padEnd(16),
    String(r.runs).padStart(9),
    String(r.accepted).padStart(9),
    String(r.rejected).padStart(9),
    String(r.findingsTotal).padStart(8),
    String(rate).padStart(8),
    (r.elapsedMs / 1000).toFixed(1).padStart(8),
    heap.padStart(16),
  ].join(" ");
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        runs: { type: "string" },
        decoder: { type: "string", multiple: true },
        seed: { type: "string" },
        "max-seconds": { type: "string" },
        "no-save": { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = args.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (v.list) {
    for (const t of TARGETS) console.log(t.name);
    return 0;
  }
  const runs = intArg("runs", v.runs, 1_000_000);
  const seed = intArg("seed", v.seed, 1);
  const maxSeconds = v["max-seconds"] === undefined
    ? undefined
    : intArg("max-seconds", v["max-seconds"], 0);
  const wanted = (v.decoder ?? []).flatMap((d) => d.split(",")).filter((d) => d !== "");
  for (const w of wanted) {
    if (!TARGETS.some((t) => t.name === w)) {
      fail(`unknown decoder "${w}"; one of: ${TARGETS.map((t) => t.name).join(", ")}`);
    }
  }
  const targets = wanted.length === 0 ? TARGETS : TARGETS.filter((t) => wanted.includes(t.name));
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  console.log(
    `fuzz: ${targets.length} decoder(s), ${runs} inputs each, seed ${seed}` +
      (hasGc ? "" : " (no --expose-gc: heap samples include garbage, looser limit)"),
  );
  const ac = new AbortController();
  const onSig = () => ac.abort();
  Deno.addSignalListener("SIGINT", onSig);
  const results: FuzzResult[] = [];
  try {
    console.log(
      "decoder               runs  accepted  rejected findings  input/s     secs       heap",
    );
    for (const t of targets) {
      const r = await fuzzTarget(t, {
        runs,
        seed,
        save: !v["no-save"],
        maxMs: maxSeconds === undefined ? undefined : maxSeconds * 1000,
        progress: (line) => console.error(`  ${line}`),
        signal: ac.signal,
      });
      results.push(r);
      console.log(row(r));
      for (const f of r.findings) {
        console.log(`  ${f.kind}: ${f.message}${f.file ? `\n    saved ${f.file}` : ""}`);
      }
      if (ac.signal.aborted) break;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSig);
  }
  const total = results.reduce((n, r) => n + r.findingsTotal, 0);
  console.log(total === 0 ? "fuzz: no findings" : `fuzz: ${total} finding(s)`);
  return total === 0 && !ac.signal.aborted ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
