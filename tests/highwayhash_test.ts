import { toHex } from "./util/vectors.ts";
import assert from "node:assert/strict";
import { HighwayHash64, HighwayHashKeyError } from "../p2p/pex/highwayhash.ts";

const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepStrictEqual(a, b, msg);

interface Vector {
  key: string;
  data: string;
  sum: string;
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/highwayhash64_vectors.json", import.meta.url)),
) as { vectors: Vector[] };

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

Deno.test("highwayhash64: matches minio/highwayhash vectors (all lengths 0..100, 3 keys)", () => {
  const hashers = new Map<string, HighwayHash64>();
  let checked = 0;
  for (const v of fixture.vectors) {
    let h = hashers.get(v.key);
    if (!h) {
      h = new HighwayHash64(fromHex(v.key));
      hashers.set(v.key, h);
    }
    assertEquals(toHex(h.sum(fromHex(v.data))), v.sum, `len ${v.data.length / 2} key ${v.key}`);
    checked++;
  }
  assertEquals(checked, 303);
});

Deno.test("highwayhash64: big-endian readings agree with the byte output", () => {
  const v = fixture.vectors[150];
  const h = new HighwayHash64(fromHex(v.key));
  const data = fromHex(v.data);
  const be = h.sumBE(data);
  assertEquals(be.toString(16).padStart(16, "0"), v.sum);
  assertEquals(h.sumBE32(data), Number(be & 0xffffffffn));
  const le = h.sum64(data);
  assertEquals(le.toString(16).padStart(16, "0"), toHex(fromHex(v.sum).reverse()));
});

Deno.test("highwayhash64: hashing a subarray view equals hashing a copy", () => {
  const h = new HighwayHash64(new Uint8Array(32).fill(7));
  const big = new Uint8Array(200).map((_, i) => i * 3);
  const view = big.subarray(13, 13 + 77);
  assertEquals(toHex(h.sum(view).slice()), toHex(h.sum(view.slice())));
});

Deno.test("highwayhash64: rejects keys that are not 32 bytes", () => {
  assert.throws(() => new HighwayHash64(new Uint8Array(31)), HighwayHashKeyError);
});
