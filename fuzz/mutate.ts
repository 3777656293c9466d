/**
 * The mutation engine: random byte mutations (bit flips, edge bytes, inserts, deletes,
 * duplicated and spliced ranges, truncation) for every input, plus structure-aware ones chosen by
 * the input's kind — protobuf fields ({@link mutateProto}), JSON values, or TOML lines.
 * @module
 */
import { concat, mutateProto, varint } from "./mutate_proto.ts";
import type { Prng } from "./prng.ts";

/** How a decoder's input is structured, which picks the structure-aware mutations. */
export type InputKind = "proto" | "json" | "toml" | "stream" | "raw";

const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xff, 0x0a, 0x22, 0x5c, 0x7b, 0x5b, 0x3d];

/** One random byte-level mutation. */
export function mutateBytes(rng: Prng, buf: Uint8Array, donors: readonly Uint8Array[]): Uint8Array {
  const n = buf.length;
  const at = rng.int(n + 1);
  switch (rng.int(9)) {
    case 0: {
      if (n === 0) return rng.bytes(1);
      const out = buf.slice();
      out[rng.int(n)] ^= 1 << rng.int(8);
      return out;
    }
    case 1: {
      if (n === 0) return Uint8Array.of(rng.pick(EDGE_BYTES));
      const out = buf.slice();
      out[rng.int(n)] = rng.chance(0.5) ? rng.pick(EDGE_BYTES) : rng.u32() & 0xff;
      return out;
    }
    case 2:
      return concat(buf.subarray(0, at), rng.bytes(1 + rng.smallLen(16)), buf.subarray(at));
    case 3: {
      const len = 1 + rng.smallLen(32);
      return concat(buf.subarray(0, at), buf.subarray(Math.min(n, at + len)));
    }
    case 4: {
      // Duplicate a range in place (repeated structures, doubled prefixes).
      const len = 1 + rng.smallLen(64);
      const chunk = buf.slice(at, Math.min(n, at + len));
      return concat(buf.subarray(0, at), chunk, chunk, buf.subarray(at));
    }
    case 5: {
      // Splice: our head, another valid input's tail (or a chunk of it in the middle).
      const d = rng.pick(donors);
      const from = rng.int(d.length + 1);
      return rng.chance(0.5) ? concat(buf.subarray(0, at), d.subarray(from)) : concat(
        buf.subarray(0, at),
        d.subarray(from, from + 1 + rng.smallLen(64)),
        buf.subarray(at),
      );
    }
    case 6:
      return buf.slice(0, rng.int(n + 1));
    case 7:
      return concat(buf, rng.bytes(1 + rng.smallLen(64)));
    default: {
      // Overwrite a run with one edge byte (zeros, 0xff, quotes, brackets).
      const out = buf.slice();
      const len = 1 + rng.smallLen(16);
      out.fill(rng.pick(EDGE_BYTES), Math.min(at, n), Math.min(n, at + len));
      return out;
    }
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** JSON values that break type, range or shape assumptions. */
const ODD_JSON: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -0,
  2 ** 53 + 2,
  "",
  "0",
  "-1",
  "9223372036854775808",
  "18446744073709551616",
  "0x00",
  "AAAA",
  "=",
  "\u0000",
  "\ud800",
  "127.0.0.1",
  "[::1]:0",
  "tendermint/PrivKeyEd25519",
  "2006-01-02T15:04:05Z",
  "1e999",
  [],
  {},
  [null],
  { "": null },
  "A".repeat(300),
];

/** Larger JSON inputs get byte mutations only (re-serialising them each time is slow). */
const MAX_STRUCTURED_BYTES = 32 * 1024;
/** Nesting depth and number of slots the JSON mutator walks. */
const MAX_WALK_DEPTH = 32;
const MAX_SLOTS = 4096;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every container in `v` with a way to replace one of its members. */
function slots(
  v: Json,
  out: Array<{ set(x: Json): void; del(): void; get(): Json }>,
  depth = 0,
): void {
  // Deeply nested inputs (which the mutator makes on purpose) are only walked near the top.
  if (depth > MAX_WALK_DEPTH || out.length > MAX_SLOTS) return;
  if (Array.isArray(v)) {
    v.forEach((e, i) => {
      out.push({ set: (x) => v[i] = x, del: () => v.splice(i, 1), get: () => v[i] });
      slots(e, out, depth + 1);
    });
  } else if (v !== null && typeof v === "object") {
    for (const k of Object.keys(v)) {
      out.push({ set: (x) => v[k] = x, del: () => delete v[k], get: () => v[k] });
      slots(v[k], out, depth + 1);
    }
  }
}

/** One JSON-aware mutation; null when the input is not JSON (caller falls back to bytes). */
function mutateJson(rng: Prng, buf: Uint8Array, donors: readonly Uint8Array[]): Uint8Array | null {
  if (buf.length > MAX_STRUCTURED_BYTES) return null;
  let doc: Json;
  try {
    doc = JSON.parse(dec.decode(buf));
  } catch {
    return null;
  }
  const all: Array<{ set(x: Json): void; del(): void; get(): Json }> = [];
  slots(doc, all);
  if (rng.chance(0.05) || all.length === 0) {
    // Deep nesting, the classic stack-depth probe.
    const depth = rng.pick([100, 1000, 3000]);
    return enc.encode("[".repeat(depth) + "]".repeat(rng.chance(0.5) ? depth : 0));
  }
  const s = rng.pick(all);
  switch (rng.int(5)) {
    case 0:
      s.set(structuredClone(rng.pick(ODD_JSON)) as Json);
      break;
    case 1:
      s.del();
      break;
    case 2: {
      // Duplicate into a sibling or grow an array a lot.
      const v = s.get();
      if (Array.isArray(v) && v.length > 0) {
        // Bounded so that repeated growth cannot compound into megabytes.
        const each = (JSON.stringify(v[0]) ?? "null").length + 1;
        s.set(Array(rng.int(Math.max(1, Math.floor(MAX_STRUCTURED_BYTES / each)))).fill(v[0]));
      } else s.set([v, v]);
      break;
    }
    case 3: {
      // Splice a value from another valid input.
      try {
        const other: Json = JSON.parse(dec.decode(rng.pick(donors)));
        const os: Array<{ get(): Json }> = [];
        slots(other, os as Array<{ set(x: Json): void; del(): void; get(): Json }>);
        if (os.length > 0) s.set(structuredClone(rng.pick(os).get()));
      } catch {
        return null;
      }
      break;
    }
    default: {
      // Change a string or number a little: keep the shape, break the content.
      const v = s.get();
      if (typeof v === "string") {
        const i = rng.int(v.length + 1);
        s.set(v.slice(0, i) + rng.pick(["", "=", "\u0000", '"', "é", "ÿ", "%"]) + v.slice(i + 1));
      } else if (typeof v === "number") s.set(rng.pick([v + 1, -v, v * 1e10, v / 3]));
      else s.set(rng.pick(ODD_JSON) as Json);
    }
  }
  try {
    return enc.encode(JSON.stringify(doc, null, rng.chance(0.5) ? undefined : 1));
  } catch {
    return null; // too deep to re-serialise: fall back to byte mutations
  }
}

/** TOML values and lines that break type, range or grammar assumptions. */
const ODD_TOML_VALUES = [
  '""',
  '"x"',
  "0",
  "-1",
  "9223372036854775807",
  "9223372036854775808",
  "1e999",
  "nan",
  "inf",
  "true",
  "[]",
  '["127.0.0.1:1"]',
  "{}",
  "1979-05-27T07:32:00Z",
  '"tcp://127.0.0.1:0"',
  '"-1s"',
  '"10000000h"',
  '"1.5ms"',
  '"0s"',
  '"""multi\nline"""',
  "'lit'",
  '"\\u0000"',
];

/** One TOML line-level mutation. */
function mutateToml(rng: Prng, buf: Uint8Array, donors: readonly Uint8Array[]): Uint8Array {
  const lines = dec.decode(buf).split("\n");
  const i = rng.int(lines.length);
  switch (rng.int(6)) {
    case 0: {
      const eq = lines[i].indexOf("=");
      if (eq >= 0) lines[i] = lines[i].slice(0, eq + 1) + " " + rng.pick(ODD_TOML_VALUES);
      else lines[i] = rng.pick(["[p2p]", "[rpc]", "[p2p.seed]", "[[p2p]]", "[p2p", "p2p = 1"]);
      break;
    }
    case 1:
      lines.splice(i, 1);
      break;
    case 2:
      lines.splice(i, 0, lines[i]); // duplicate key or table: TOML forbids both
      break;
    case 3: {
      const other = dec.decode(rng.pick(donors)).split("\n");
      lines.splice(i, 0, rng.pick(other));
      break;
    }
    case 4: {
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    default:
      lines[i] = lines[i].slice(0, rng.int(lines[i].length + 1));
  }
  return enc.encode(lines.join("\n"));
}

/** Splits a stream of `uvarint(len) ‖ body` frames; null when it is not one. */
function frames(buf: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let len = 0, mul = 1, p = pos, done = false;
    while (p < buf.length && p - pos < 10) {
      const b = buf[p++];
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) {
        done = true;
        break;
      }
    }
    if (!done || p + len > buf.length) return null;
    out.push(buf.subarray(p, p + len));
    pos = p + len;
  }
  return out;
}

const PING_FRAME = Uint8Array.of(0x02, 0x0a, 0x00);

/** One mutation of a stream of length-delimited messages (MConnection packets). */
function mutateStream(
  rng: Prng,
  buf: Uint8Array,
  donors: readonly Uint8Array[],
): Uint8Array | null {
  const fs = frames(buf);
  if (!fs || fs.length === 0) return null;
  const i = rng.int(fs.length);
  const enc = (f: Uint8Array) => concat(varint(f.length), f);
  const out = fs.map(enc);
  switch (rng.int(6)) {
    case 0: {
      // Mutate one packet's body; fix its length prefix most of the time.
      const m = mutateProto(rng, fs[i], fs) ?? mutateBytes(rng, fs[i], fs);
      out[i] = rng.chance(0.8) ? enc(m) : concat(varint(fs[i].length), m);
      break;
    }
    case 1: {
      const times = rng.chance(0.8) ? 1 : rng.int(1200) + 2; // reassembly and flood limits
      out.splice(i, 0, ...new Array<Uint8Array>(times).fill(out[i]));
      break;
    }
    case 2:
      out.splice(i, 1);
      break;
    case 3: {
      const d = frames(rng.pick(donors));
      if (!d || d.length === 0) return null;
      out.splice(i, 0, enc(rng.pick(d)));
      break;
    }
    case 4:
      out.splice(i, 0, ...new Array<Uint8Array>(rng.pick([10, 999, 1001, 1500])).fill(PING_FRAME));
      break;
    default: {
      const j = rng.int(out.length);
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return concat(...out);
}

/**
 * Makes one fuzz input from `base`: one to four stacked mutations, structure-aware for about
 * two thirds of them when the kind has a structure.
 */
export function mutate(
  rng: Prng,
  kind: InputKind,
  base: Uint8Array,
  donors: readonly Uint8Array[],
): Uint8Array {
  let cur = base;
  const rounds = 1 + (rng.chance(0.5) ? 0 : rng.int(4));
  for (let r = 0; r < rounds; r++) {
    let next: Uint8Array | null = null;
    if (kind !== "raw" && rng.chance(0.65)) {
      if (kind === "proto") next = mutateProto(rng, cur, donors);
      else if (kind === "stream") next = mutateStream(rng, cur, donors);
      else if (kind === "json") next = mutateJson(rng, cur, donors);
      else next = mutateToml(rng, cur, donors);
    }
    cur = next ?? mutateBytes(rng, cur, donors);
    if (cur.length > MAX_INPUT_BYTES) cur = cur.subarray(0, MAX_INPUT_BYTES);
  }
  return cur;
}

/**
 * Inputs are capped (the wire caps every message far below this; 1 MiB files are the largest
 * thing a decoder here reads) so one run's memory stays bounded.
 */
export const MAX_INPUT_BYTES = 256 * 1024;
