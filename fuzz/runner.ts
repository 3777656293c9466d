/**
 * Runs one fuzz target: draws inputs from a seeded PRNG (mutations of the seed corpus and of
 * inputs it accepted earlier), feeds each to the decoder, and sorts the outcome into accepted,
 * typed rejection, or a finding — an untyped throw, an input that took longer than the slow
 * limit, or heap growth between warm-up and the end. Inputs that cause findings are saved under
 * `tests/fixtures/fuzz/<decoder>/<sha256>.bin`, where the normal test run replays them.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { mutate } from "./mutate.ts";
import { Prng } from "./prng.ts";
import type { FuzzTarget } from "./target.ts";

/** Where regression inputs live (relative to the repository root). */
export const FIXTURE_ROOT = new URL("../tests/fixtures/fuzz/", import.meta.url);
/** An input slower than this is a finding (ms). */
export const DEFAULT_SLOW_MS = 1000;
/**
 * Heap growth allowed between the warm-up sample and the end sample, both taken after a full GC
 * when `--v8-flags=--expose-gc` is given: a decoder that retains anything per input grows far
 * beyond this over 10^6 inputs, while caches that fill once stay below it.
 */
export const HEAP_GROWTH_LIMIT_BYTES = 32 * 1024 * 1024;
/** Without a forced GC the samples include garbage, so the limit is looser. */
export const HEAP_GROWTH_LIMIT_NO_GC_BYTES = 128 * 1024 * 1024;
/** Accepted inputs kept as further mutation bases (bounded, replaced at random). */
const POOL_SIZE = 64;
/** Larger accepted inputs are not kept as bases (keeps the pool's memory small). */
const POOL_MAX_INPUT_BYTES = 16 * 1024;
/** Findings saved per distinct error signature, and per run. */
const MAX_SAVED_PER_SIGNATURE = 3;
const MAX_SAVED_PER_RUN = 50;

/** A failure found by the fuzzer. */
export interface Finding {
  kind: "untyped-throw" | "slow" | "heap-growth";
  message: string;
  /** File the input was saved to (none for heap growth, which no single input causes). */
  file?: string;
}

/** Options of {@link fuzzTarget}. */
export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Save finding inputs as fixtures (default true). */
  save?: boolean;
  /** Per-input time limit in ms (default {@link DEFAULT_SLOW_MS}); Infinity disables it. */
  slowMs?: number;
  /** Check heap growth (default true). */
  checkHeap?: boolean;
  /** Stop early after this many ms (the run count is still the upper bound). */
  maxMs?: number;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

/** Counts of one target's run. */
export interface FuzzResult {
  name: string;
  runs: number;
  accepted: number;
  rejected: number;
  findings: Finding[];
  /** Findings beyond what was saved (same signatures or over the per-run cap). */
  findingsTotal: number;
  elapsedMs: number;
  heapWarmupBytes?: number;
  heapEndBytes?: number;
}

/** Outcome of one input. */
export type Outcome = { kind: "accepted" } | { kind: "rejected" } | {
  kind: "finding";
  error: unknown;
};

/** Feeds one input to a target and classifies what happened. */
export async function runOne(target: FuzzTarget, input: Uint8Array): Promise<Outcome> {
  try {
    const r = target.run(input);
    if (r instanceof Promise) await r;
    return { kind: "accepted" };
  } catch (e) {
    return target.typed(e) ? { kind: "rejected" } : { kind: "finding", error: e };
  }
}

/** A stable hash of the decoder name, so `--decoder X` draws the same inputs as a full run. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** First line of an error's description, for grouping findings. */
export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message.split("\n")[0]}`;
  return `non-Error thrown: ${String(e)}`;
}

/** Saves `input` as a regression fixture; returns its path. */
export async function saveFixture(name: string, input: Uint8Array): Promise<string> {
  const dir = new URL(`${name}/`, FIXTURE_ROOT);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`${hex(sha256(input))}.bin`, dir);
  await Deno.writeFile(file, input);
  return file.pathname;
}

/**
 * Lets timers and other macrotasks run. A loop that only awaits promises never yields to them,
 * and Deno releases some per-object state (e.g. of every `Response` with a custom header) only
 * there: without this, 10^6 RPC requests looked like a 100 MB leak that was really deferred
 * clean-up.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Heap in use after the deferred clean-ups ran and a full GC (when exposed). */
async function heapNow(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    await yieldToEventLoop();
    gc?.();
  }
  return Deno.memoryUsage().heapUsed;
}

/** Fuzzes one target. Never throws for what the decoder does; only I/O errors escape. */
export async function fuzzTarget(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzResult> {
  const rng = new Prng((opts.seed ^ nameHash(target.name)) >>> 0);
  // Plain copies: protobufjs hands out Node Buffers, whose slice() is a view, so a mutation
  // that slices and writes would corrupt the seed itself.
  const seeds = target.seeds().map((s) => new Uint8Array(s));
  const pool: Uint8Array[] = [...seeds];
  const slowMs = opts.slowMs ?? DEFAULT_SLOW_MS;
  const save = opts.save ?? true;
  const checkHeap = opts.checkHeap ?? true;
  const warmupAt = Math.min(10_000, Math.floor(opts.runs / 10));
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  const res: FuzzResult = {
    name: target.name,
    runs: 0,
    accepted: 0,
    rejected: 0,
    findings: [],
    findingsTotal: 0,
    elapsedMs: 0,
  };
  const perSignature = new Map<string, number>();
  const record = async (kind: Finding["kind"], message: string, input: Uint8Array) => {
    res.findingsTotal++;
    const sig = `${kind} ${message.replace(/\d+/g, "N")}`;
    const n = perSignature.get(sig) ?? 0;
    if (n >= MAX_SAVED_PER_SIGNATURE || res.findings.length >= MAX_SAVED_PER_RUN) return;
    perSignature.set(sig, n + 1);
    const file = save ? await saveFixture(target.name, input) : undefined;
    res.findings.push({ kind, message, file });
  };
  const start = performance.now();
  let lastProgress = start;
  for (let i = 0; i < opts.runs; i++) {
    if (opts.signal?.aborted) break;
    if (checkHeap && i === warmupAt) res.heapWarmupBytes = await heapNow();
    // Mostly valid seeds as bases (every mutation starts near a real message), sometimes
    // inputs that were accepted after mutation (they reach deeper states).
    const base = rng.chance(0.7) ? rng.pick(seeds) : rng.pick(pool);
    const input = rng.chance(0.02) ? base : mutate(rng, target.kind, base, seeds);
    const t0 = performance.now();
    const out = await runOne(target, input);
    const took = performance.now() - t0;
    res.runs++;
    if (out.kind === "accepted") {
      res.accepted++;
      if (input.length <= POOL_MAX_INPUT_BYTES) {
        if (pool.length < POOL_SIZE) pool.push(input);
        else pool[rng.int(POOL_SIZE)] = input;
      }
    } else if (out.kind === "rejected") {
      res.rejected++;
    } else {
      await record("untyped-throw", describe(out.error), input);
    }
    if (took > slowMs) await record("slow", `input took ${took.toFixed(0)} ms`, input);
    if ((i & 1023) === 0) {
      await yieldToEventLoop();
      const now = performance.now();
      if (opts.maxMs !== undefined && now - start > opts.maxMs) break;
      if (opts.progress && now - lastProgress > 10_000) {
        lastProgress = now;
        opts.progress(
          `${target.name}: ${res.runs} inputs, ${
            Math.round(res.runs / ((now - start) / 1000))
          }/s, ` +
            `${res.findingsTotal} findings`,
        );
      }
    }
  }
  res.elapsedMs = performance.now() - start;
  if (checkHeap && res.heapWarmupBytes !== undefined) {
    res.heapEndBytes = await heapNow();
    const growth = res.heapEndBytes - res.heapWarmupBytes;
    const limit = hasGc ? HEAP_GROWTH_LIMIT_BYTES : HEAP_GROWTH_LIMIT_NO_GC_BYTES;
    if (growth > limit) {
      res.findingsTotal++;
      res.findings.push({
        kind: "heap-growth",
        message: `heap grew ${(growth / 2 ** 20).toFixed(1)} MiB after warm-up (limit ${
          limit / 2 ** 20
        } MiB)`,
      });
    }
  }
  return res;
}

/** The saved regression inputs of a target (empty when there are none). */
export async function fixturesOf(
  name: string,
): Promise<Array<{ file: string; bytes: Uint8Array }>> {
  const dir = new URL(`${name}/`, FIXTURE_ROOT);
  const out: Array<{ file: string; bytes: Uint8Array }> = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".bin")) continue;
      const url = new URL(e.name, dir);
      out.push({ file: url.pathname, bytes: await Deno.readFile(url) });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}
