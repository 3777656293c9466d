/**
 * The golden vectors (copied from the project's shared reading material into
 * `tests/fixtures/vectors/`, so a fresh clone carries everything its tests read).
 * @module
 */

/** The folder of the golden vectors, resolved from this file (never an absolute path). */
export const VECTORS_DIR = new URL("../fixtures/vectors/", import.meta.url);

/** Reads a golden vector file as text. */
export function readVectorText(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, VECTORS_DIR));
}

/** The end-to-end handshake vector file, parsed. */
export async function handshakeVectors(): Promise<
  // deno-lint-ignore no-explicit-any
  any
> {
  return JSON.parse(await readVectorText("secret-connection-handshake.json"));
}

/** Decodes lower- or upper-case hex (test vectors are hex text). */
export function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The channels a stock CometBFT v0.38 node advertises, PEX included (spec §4.1). */
export const STOCK_CHANNELS: Uint8Array = hex("40202122233038606100");
