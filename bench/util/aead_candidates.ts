/**
 * Third-party ChaCha20-Poly1305 implementations compared in bench/aead.ts, each wrapped in the
 * project's {@link Aead} shape for one key. Shared with tests/aead_candidates_test.ts, which
 * checks every loadable one byte for byte against noble. Benchmark-only dependencies: none of
 * them is used by switchyard itself.
 * @module
 */
import type { Aead } from "../../p2p/conn/crypto.ts";

/** A candidate, or why it could not be loaded here. */
export type Candidate = { name: string; aead: Aead } | { name: string; error: string };

function failed(name: string, e: unknown): Candidate {
  return { name, error: `not loadable: ${(e as Error).message.split("\n")[0]}` };
}

async function chainsafe(key: Uint8Array): Promise<Candidate> {
  const name = "@chainsafe/as-chacha20poly1305 (WASM, dst buffers)";
  try {
    const m = await import("@chainsafe/as-chacha20poly1305");
    const c = new m.ChaCha20Poly1305(m.newInstance());
    return {
      name,
      aead: {
        seal: (p, n, o) => void c.seal(key, n, p, undefined, o),
        open: (s, n, o) => s.length >= 16 && c.open(key, n, s, undefined, o) !== null,
      },
    };
  } catch (e) {
    return failed(name, e);
  }
}

async function libsodiumWrappers(key: Uint8Array): Promise<Candidate> {
  const name = "libsodium-wrappers (WASM, allocates its results)";
  try {
    const sodium = (await import("libsodium-wrappers")).default;
    await sodium.ready;
    return {
      name,
      aead: {
        seal(p, n, o) {
          o.set(sodium.crypto_aead_chacha20poly1305_ietf_encrypt(p, null, null, n, key));
        },
        open(s, n, o) {
          try {
            o.set(sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, s, null, n, key));
            return true;
          } catch {
            return false;
          }
        },
      },
    };
  } catch (e) {
    return failed(name, e);
  }
}

async function sodiumNative(key: Uint8Array): Promise<Candidate> {
  const name = "sodium-native (libsodium via Node-API, dst buffers)";
  try {
    // Needs --allow-ffi (Deno loads the Node-API addon shipped in the package).
    const sn = (await import("sodium-native")).default;
    return {
      name,
      aead: {
        seal(p, n, o) {
          sn.crypto_aead_chacha20poly1305_ietf_encrypt(o, p, null, null, n, key);
        },
        open(s, n, o) {
          try {
            sn.crypto_aead_chacha20poly1305_ietf_decrypt(o, null, s, null, n, key);
            return true;
          } catch {
            return false;
          }
        },
      },
    };
  } catch (e) {
    return failed(name, e);
  }
}

/** All third-party candidates for `key`, loaded or with the reason they are not. */
export function thirdPartyAeads(key: Uint8Array): Promise<Candidate[]> {
  return Promise.all([chainsafe(key), libsodiumWrappers(key), sodiumNative(key)]);
}
