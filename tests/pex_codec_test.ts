/**
 * The hand-written PexAddrs marshaller (`p2p/pex/pex_codec.ts`) against the spec §8.1 vectors and
 * against the generic gogoproto-exact encoder, over IPv4/IPv6 addresses, zero fields, empty and
 * long lists (multi-byte length prefixes), with cached entries reused.
 * @module
 */
import { assertEquals } from "./util/assert.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { encode } from "../p2p/proto.ts";
import { encodePexAddrs, type WireNetAddress } from "../p2p/pex/pex_codec.ts";
import { PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function generic(addrs: readonly WireNetAddress[]): Uint8Array {
  return encode(PEX_MESSAGE, {
    pex_addrs: { addrs: addrs.map((a) => ({ id: a.id, ip: a.ip, port: a.port })) },
  });
}

Deno.test("pex codec: spec §8.1 vectors", () => {
  assertEquals(
    hex(encodePexAddrs([{ id: "1", ip: "127.0.0.1", port: 9090 }])),
    "1213" + "0a11" + "0a0131" + "1209" + "3132372e302e302e31" + "188247",
  );
  assertEquals(hex(encodePexAddrs([])), "1200");
});

Deno.test("pex codec: zero fields are omitted as gogoproto omits them", () => {
  const cases: WireNetAddress[][] = [
    [{ id: "", ip: "", port: 0 }],
    [{ id: "ab", ip: "", port: 1 }, { id: "", ip: "::1", port: 0 }],
    [{ id: "x", ip: "10.0.0.1", port: 127 }, { id: "y", ip: "10.0.0.2", port: 128 }],
    [{ id: "z", ip: "1.2.3.4", port: 16383 }, { id: "z", ip: "1.2.3.4", port: 16384 }],
    [{ id: "z", ip: "1.2.3.4", port: 65535 }],
  ];
  for (const c of cases) assertEquals(hex(encodePexAddrs(c)), hex(generic(c)));
});

Deno.test("pex codec: NetAddress lists of every size up to a full answer, cached entries reused", () => {
  const addrs: NetAddress[] = [];
  for (let i = 0; i < 250; i++) {
    const id = NodeKey.generate().id;
    const ip = i % 3 === 0 ? `2001:db8::${i.toString(16)}` : `10.${i}.${(i * 7) & 0xff}.1`;
    addrs.push(NetAddress.fromIPPort(ip, (i * 263) % 65536, id));
  }
  for (const n of [0, 1, 2, 3, 10, 31, 32, 100, 230, 250]) {
    const list = addrs.slice(0, n);
    assertEquals(hex(encodePexAddrs(list)), hex(generic(list)), `n=${n}`);
    // Second time from the cache.
    assertEquals(hex(encodePexAddrs(list)), hex(generic(list)), `n=${n} cached`);
  }
});
