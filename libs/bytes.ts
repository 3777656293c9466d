/**
 * Small byte-array helpers shared by the HTTP reader, the RPC server and the RPC client.
 * @module
 */

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
