/**
 * The shared golden vectors live in `shared/vectors/`, beside the repository (the developers'
 * checkout and CI's clone both have `shared/` next to the project folder).
 * @module
 */

/** The folder of the shared vectors, resolved from this file (never an absolute path). */
export const VECTORS_DIR = new URL("../../../shared/vectors/", import.meta.url);

/** Reads a shared vector file as text. */
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
