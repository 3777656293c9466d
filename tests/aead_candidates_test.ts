/**
 * The third-party ChaCha20-Poly1305 candidates of bench/aead.ts agree byte for byte with noble
 * (so the benchmark compares equal work). sodium-native needs --allow-ffi, which the test task
 * does not grant: it is checked when it loads and reported as skipped otherwise.
 */
import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { thirdPartyAeads } from "../bench/util/aead_candidates.ts";
import { toHex } from "./util/vectors.ts";

const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const key = rand(32);
const candidates = await thirdPartyAeads(key);

for (const c of candidates) {
  const loaded = "aead" in c;
  Deno.test({
    name: `aead candidate ${c.name}: seals and opens like noble`,
    // Only sodium-native may be unloadable here (no FFI permission in the test task).
    ignore: !loaded && c.name.startsWith("sodium-native"),
    fn() {
      assert.ok("aead" in c, "error" in c ? c.error : "");
      for (const len of [0, 1, 17, 64, 1000, 1028]) {
        const nonce = rand(12);
        const pt = rand(len);
        const want = chacha20poly1305(key, nonce).encrypt(pt);
        const got = new Uint8Array(len + 16);
        c.aead.seal(pt, nonce, got);
        assert.equal(toHex(got), toHex(want), `seal len ${len}`);
        const back = new Uint8Array(len);
        assert.ok(c.aead.open(want, nonce, back), `open len ${len}`);
        assert.equal(toHex(back), toHex(pt));
        want[want.length - 1] ^= 1;
        assert.equal(c.aead.open(want, nonce, back), false, `bad tag len ${len}`);
      }
    },
  });
}
