/**
 * Structure-aware mutations of protobuf wire encodings: the input is split into fields (tag,
 * length varint, value) and one field is changed as an attacker would change it — a length that
 * lies, an overlong or overflowing varint, another tag or wire type, a field cut short,
 * duplicated, dropped or spliced in from another valid message, or the same done one level
 * down inside a length-delimited field. Falls back to byte mutations when the input no longer
 * parses as protobuf.
 * @module
 */
import type { Prng } from "./prng.ts";

/** One field of a protobuf message, as offsets into the buffer it was parsed from. */
export interface WireField {
  /** Offset of the tag. */
  start: number;
  /** Offset just after the tag varint. */
  tagEnd: number;
  /** Offset of the value (after the length varint for wire type 2). */
  valStart: number;
  /** Offset just after the field. */
  end: number;
  fieldNo: number;
  wireType: number;
}

/** Reads a varint at `pos` (≤ 10 bytes); returns [value (approximate above 2^53), next] or null. */
function readVarint(buf: Uint8Array, pos: number, end: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos < end; i++) {
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
  return null;
}

/** Splits `buf[start, end)` into fields, or returns null if it is not a well-formed message. */
export function parseFields(buf: Uint8Array, start = 0, end = buf.length): WireField[] | null {
  const out: WireField[] = [];
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    if (!tag) return null;
    const [t, tagEnd] = tag;
    const wireType = t % 8;
    const fieldNo = Math.floor(t / 8);
    if (fieldNo === 0) return null;
    let valStart = tagEnd;
    let fieldEnd: number;
    switch (wireType) {
      case 0: {
        const v = readVarint(buf, tagEnd, end);
        if (!v) return null;
        fieldEnd = v[1];
        break;
      }
      case 1:
        fieldEnd = tagEnd + 8;
        break;
      case 2: {
        const l = readVarint(buf, tagEnd, end);
        if (!l) return null;
        valStart = l[1];
        fieldEnd = valStart + l[0];
        break;
      }
      case 5:
        fieldEnd = tagEnd + 4;
        break;
      default:
        return null;
    }
    if (fieldEnd > end) return null;
    out.push({ start: pos, tagEnd, valStart, end: fieldEnd, fieldNo, wireType });
    pos = fieldEnd;
  }
  return out;
}

/** A uvarint encoding of `n` (a safe integer or bigint up to 2^64−1). */
export function varint(n: number | bigint): Uint8Array {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Varint values that sit on a boundary of some integer type. */
const EDGE_VALUES: readonly bigint[] = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0x3fffn,
  0x4000n,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  (1n << 53n) - 1n,
  1n << 53n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
  (1n << 64n) - 2n, // int64 -2 / int32 -2
];

/** A varint that is not a minimal encoding, or one that does not fit 64 bits at all. */
function oddVarint(rng: Prng, n: number): Uint8Array {
  switch (rng.int(3)) {
    case 0: {
      // Overlong: continuation bytes carrying zeros (legal for Go's decoder up to 10 bytes).
      const v = Array.from(varint(n));
      v[v.length - 1] |= 0x80;
      const pad = rng.int(10 - v.length + 1);
      for (let i = 0; i < pad; i++) v.push(0x80);
      v.push(0x00);
      return Uint8Array.from(v);
    }
    case 1:
      return new Uint8Array(11).fill(0xff); // never terminates within 10 bytes
    default:
      return Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f); // > 2^64
  }
}

function edgeVarint(rng: Prng): Uint8Array {
  return rng.chance(0.85) ? varint(rng.pick(EDGE_VALUES)) : oddVarint(rng, rng.int(300));
}

/** A value for a length-delimited field: empty, edge-sized, garbage or not UTF-8. */
function oddPayload(rng: Prng): Uint8Array {
  switch (rng.int(6)) {
    case 0:
      return new Uint8Array(0);
    case 1:
      return rng.bytes(rng.pick([1, 16, 20, 31, 32, 33, 63, 64, 65]));
    case 2:
      return new Uint8Array(rng.pick([255, 256, 257, 1024, 1025, 10241])).fill(0x41);
    case 3:
      return Uint8Array.of(0xc3, 0x28, 0xed, 0xa0, 0x80, 0xff); // invalid UTF-8
    case 4:
      return new TextEncoder().encode(
        rng.pick([
          "127.0.0.1",
          "::1",
          "0.0.0.0",
          "tcp://127.0.0.1:0",
          "a@b:1",
          "%00",
          "ff".repeat(20),
        ]),
      );
    default:
      return rng.bytes(rng.smallLen(200));
  }
}

function replace(buf: Uint8Array, from: number, to: number, by: Uint8Array): Uint8Array {
  return concat(buf.subarray(0, from), by, buf.subarray(to));
}

/**
 * Applies one structure-aware mutation to `buf` (a protobuf message), using `donors` (other
 * valid encodings of the same type) for splicing. Returns null when `buf` has no fields to work
 * on, so the caller can fall back to byte mutations.
 */
export function mutateProto(
  rng: Prng,
  buf: Uint8Array,
  donors: readonly Uint8Array[],
  depth = 0,
): Uint8Array | null {
  const fields = parseFields(buf);
  if (!fields || fields.length === 0) return null;
  const f = rng.pick(fields);
  const nested = f.wireType === 2 && f.end > f.valStart;
  switch (rng.int(nested && depth < 4 ? 10 : 9)) {
    case 0: {
      // The length lies: off by a little, zero, or huge (and sometimes overlong).
      if (f.wireType !== 2) return replace(buf, f.tagEnd, f.end, edgeVarint(rng));
      const len = f.end - f.valStart;
      const choice = rng.int(4);
      const lie = choice === 0
        ? varint(Math.max(0, len + rng.pick([-2, -1, 1, 2, 64])))
        : choice === 1
        ? varint(rng.pick(EDGE_VALUES))
        : oddVarint(rng, len);
      return replace(buf, f.tagEnd, f.valStart, lie);
    }
    case 1: {
      // Another tag: same field with another wire type, another field number, or an odd varint.
      const choice = rng.int(3);
      const tag = choice === 0
        ? varint(f.fieldNo * 8 + rng.pick([0, 1, 2, 3, 4, 5, 6, 7]))
        : choice === 1
        ? varint(
          BigInt(rng.pick([0, 1, 2, 3, 4, 5, 15, 16, 100, 536870911])) * 8n +
            BigInt(f.wireType),
        )
        : oddVarint(rng, f.fieldNo * 8 + f.wireType);
      return replace(buf, f.start, f.tagEnd, tag);
    }
    case 2:
      // Truncation, at the field's start or anywhere inside it.
      return buf.slice(0, rng.chance(0.3) ? f.start : f.start + rng.int(f.end - f.start + 1));
    case 3: {
      // Duplication: the field once more, or many times (repeated-field amplification).
      const times = rng.chance(0.9) ? 1 : rng.int(200) + 2;
      const copies = new Array<Uint8Array>(times).fill(buf.subarray(f.start, f.end));
      return concat(buf.subarray(0, f.end), ...copies, buf.subarray(f.end));
    }
    case 4:
      return replace(buf, f.start, f.end, new Uint8Array(0));
    case 5: {
      // Splice in a field of another valid message of this type.
      const donor = rng.pick(donors);
      const df = parseFields(donor);
      if (!df || df.length === 0) return null;
      const g = rng.pick(df);
      const at = rng.chance(0.5) ? f.start : f.end;
      return concat(buf.subarray(0, at), donor.subarray(g.start, g.end), buf.subarray(at));
    }
    case 6: {
      // An edge value in place of a varint field, or in place of a fixed field.
      if (f.wireType === 0) return replace(buf, f.tagEnd, f.end, edgeVarint(rng));
      if (f.wireType === 2) {
        const v = oddPayload(rng);
        return replace(buf, f.tagEnd, f.end, concat(varint(v.length), v));
      }
      return replace(buf, f.tagEnd, f.end, rng.bytes(f.end - f.tagEnd));
    }
    case 7: {
      // Garbage inside the value, length unchanged (bytes/strings: not UTF-8, not an address).
      if (f.end === f.valStart) return null;
      const out = buf.slice();
      const n = 1 + rng.int(Math.min(8, f.end - f.valStart));
      for (let i = 0; i < n; i++) out[f.valStart + rng.int(f.end - f.valStart)] = rng.u32() & 0xff;
      return out;
    }
    case 8: {
      // Swap two fields (order changes: last-one-wins and oneof rules).
      const g = rng.pick(fields);
      if (g === f) return null;
      const [a, b] = f.start < g.start ? [f, g] : [g, f];
      return concat(
        buf.subarray(0, a.start),
        buf.subarray(b.start, b.end),
        buf.subarray(a.end, b.start),
        buf.subarray(a.start, a.end),
        buf.subarray(b.end),
      );
    }
    default: {
      // One level down: mutate the embedded message, then fix the length (or keep the old one).
      const inner = buf.slice(f.valStart, f.end);
      const innerDonors = donors.flatMap((d) =>
        (parseFields(d) ?? []).filter((g) => g.wireType === 2).map((g) =>
          d.subarray(g.valStart, g.end)
        )
      );
      const m = mutateProto(rng, inner, innerDonors.length > 0 ? innerDonors : [inner], depth + 1);
      if (!m) return null;
      const len = rng.chance(0.85) ? varint(m.length) : buf.subarray(f.tagEnd, f.valStart);
      return replace(buf, f.tagEnd, f.end, concat(len, m));
    }
  }
}
