/**
 * ChaCha20-Poly1305 on SecretConnection frames (1,028-byte plaintext → 1,044 sealed bytes):
 * seal and open MB/s for each candidate backend, every one first checked byte-identical to the
 * reference (@noble/ciphers). Candidates run interleaved, round after round, so load from other
 * processes falls on all of them alike; each figure is the median and range over the rounds.
 *
 * Figures are per CPU second of this process (user + system time) next to wall-clock MB/s:
 * on a shared machine wall time measures the neighbours as much as the code.
 *
 * Run: deno run --allow-all bench/aead.ts [--quick]
 * @module
 */
import process from "node:process";
import { createCipheriv } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { type Aead, nativeAead, nobleAead } from "../p2p/conn/crypto.ts";
import { wasmAead } from "../p2p/conn/aead_wasm.ts";
import {
  DATA_MAX_SIZE,
  FrameOpener,
  FrameSealer,
  SEALED_FRAME_SIZE,
  TOTAL_FRAME_SIZE,
} from "../p2p/conn/frame.ts";
import { thirdPartyAeads } from "./util/aead_candidates.ts";
import { medianRange } from "./util/compare.ts";

const quick = Deno.args.includes("--quick");
const ROUNDS = quick ? 3 : 5;
/** CPU time per candidate per round. */
const SLICE_MS = quick ? 150 : 300;
/** Frames per batch for the batched paths (64 KiB of data: a typical bulk socket read). */
const BATCH = 64;

/** One candidate: seal/open `frames` frames, return how many it did. */
interface Candidate {
  name: string;
  seal(): number;
  open(): number;
}

const key = crypto.getRandomValues(new Uint8Array(32));
const nonce = new Uint8Array(12);
const plain = crypto.getRandomValues(new Uint8Array(TOTAL_FRAME_SIZE));
const refSealed = chacha20poly1305(key, nonce).encrypt(plain);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Throws unless the backend seals like noble and opens noble's frame to the plaintext. */
function check(name: string, seal: () => Uint8Array, open: () => Uint8Array | null): void {
  if (hex(seal()) !== hex(refSealed)) throw new Error(`${name}: sealed bytes differ from noble`);
  const o = open();
  if (o === null || hex(o) !== hex(plain)) throw new Error(`${name}: open differs from noble`);
}

function perFrame(name: string, aead: Aead): Candidate {
  const out = new Uint8Array(SEALED_FRAME_SIZE);
  const back = new Uint8Array(TOTAL_FRAME_SIZE);
  check(
    name,
    () => (aead.seal(plain, nonce, out), out.slice()),
    () => aead.open(refSealed, nonce, back) ? back : null,
  );
  return {
    name,
    seal() {
      for (let i = 0; i < BATCH; i++) aead.seal(plain, nonce, out);
      return BATCH;
    },
    open() {
      for (let i = 0; i < BATCH; i++) {
        if (!aead.open(refSealed, nonce, back)) throw new Error(`${name}: open failed`);
      }
      return BATCH;
    },
  };
}

/** Our real frame paths: one write of 64 KiB sealed, one 64-frame read opened in place. */
function batched(): Candidate {
  const data = crypto.getRandomValues(new Uint8Array(BATCH * DATA_MAX_SIZE));
  const ref = new FrameSealer(key, nobleAead).seal(data).slice();
  const fast = new FrameSealer(key).seal(data);
  if (hex(fast) !== hex(ref)) throw new Error("wasm batch: sealed frames differ from noble");
  const buf = ref.slice();
  if (new FrameOpener(key).openInPlace(buf, BATCH) !== BATCH) throw new Error("batch open");
  const sealer = new FrameSealer(key);
  return {
    name: `ours: WASM batch (${BATCH} frames/call, real frame path)`,
    seal() {
      sealer.seal(data);
      sealer.release();
      return BATCH;
    },
    open() {
      // The same 64 frames (nonces 0..63) each time: a fresh opener, a fresh copy.
      const opener = new FrameOpener(key);
      buf.set(ref);
      if (opener.openInPlace(buf, BATCH) !== BATCH) throw new Error("wasm batch: open failed");
      return BATCH;
    },
  };
}

/** node:crypto over 64 frames' bytes in ONE call: the per-byte floor if calls were free. */
function nodeOneCall(): Candidate {
  const big = new Uint8Array(BATCH * TOTAL_FRAME_SIZE).fill(0x5a);
  const opts = { authTagLength: 16 } as const;
  return {
    name: `node:crypto, ${BATCH} frames' bytes in one call (not a valid framing: cost floor)`,
    seal() {
      const c = createCipheriv("chacha20-poly1305", key, nonce, opts);
      c.update(big);
      c.final();
      c.getAuthTag();
      return BATCH;
    },
    open: () => 0,
  };
}

interface Sample {
  cpuMBs: number;
  wallMBs: number;
  cpuUsPerFrame: number;
}

function runSlice(fn: () => number): Sample | undefined {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let frames = 0;
  do {
    const k = fn();
    if (k === 0) return undefined;
    frames += k;
  } while (performance.now() - t0 < SLICE_MS);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const bytes = frames * TOTAL_FRAME_SIZE;
  return {
    cpuMBs: bytes / cpu / 1e6,
    wallMBs: bytes / wall / 1e6,
    cpuUsPerFrame: cpu * 1e6 / frames,
  };
}

async function main() {
  const cands: Candidate[] = [
    perFrame("node:crypto per frame (before this change)", nativeAead(key)),
    perFrame("@noble/ciphers per frame (reused output buffers)", nobleAead(key)),
    perFrame("ours: WASM per frame (one call per frame)", wasmAead(key)),
    batched(),
    nodeOneCall(),
  ];
  for (const c of await thirdPartyAeads(key)) {
    if ("error" in c) console.log(`aead candidate skipped: ${c.name}: ${c.error}`);
    else cands.push(perFrame(c.name, c.aead));
  }
  console.log(
    `aead 1,028-byte frames: ${ROUNDS} interleaved rounds of ${SLICE_MS} ms per candidate; ` +
      "median [range]; all byte-identical to noble (checked)",
  );
  const results = new Map<string, { seal: Sample[]; open: Sample[] }>();
  for (const c of cands) results.set(c.name, { seal: [], open: [] });
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order each round so no candidate always runs first (JIT, turbo, load).
    const order = r % 2 === 0 ? cands : [...cands].reverse();
    for (const c of order) {
      const s = runSlice(() => c.seal());
      const o = runSlice(() => c.open());
      if (s) results.get(c.name)!.seal.push(s);
      if (o) results.get(c.name)!.open.push(o);
    }
  }
  for (const c of cands) {
    const { seal, open } = results.get(c.name)!;
    const line = (what: string, xs: Sample[]) =>
      xs.length === 0
        ? ""
        : `  ${what} MB/cpu-s ${medianRange(xs.map((x) => x.cpuMBs))}, µs-cpu/frame ${
          medianRange(xs.map((x) => x.cpuUsPerFrame), 2)
        }, wall MB/s ${medianRange(xs.map((x) => x.wallMBs))}`;
    console.log(`aead ${c.name}:`);
    for (const l of [line("seal", seal), line("open", open)]) if (l) console.log(l);
  }
}

await main();
