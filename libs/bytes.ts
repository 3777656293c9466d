/**
 * Small byte-array helpers shared by the HTTP reader, the RPC server and client, and the node
 * key and ID code.
 * @module
 */

/** Two lowercase hex digits of every byte value (IDs are made once per handshake). */
const HEX_BYTE: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).padStart(2, "0"),
);

/** Lowercase hex of `b`. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX_BYTE[b[i]];
  return s;
}

/** Joins `chunks` into one new array (`total`: their summed length, when the caller has it). */
export function concatBytes(
  chunks: readonly Uint8Array[],
  total = chunks.reduce((n, c) => n + c.length, 0),
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
