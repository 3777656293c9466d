/**
 * A hand-written marshaller for the one message a seed sends per crawler:
 * `tendermint.p2p.Message{pex_addrs: PexAddrs{addrs}}`. Byte-identical to `encode(PEX_MESSAGE,
 * ...)` (gogoproto: zero `id`/`ip`/`port` omitted, every address written even when empty, the
 * set oneof member written even when it holds no address), without protobufjs's verify, zero
 * pruning and writer per call. The encoded entry of a {@link NetAddress} (immutable) is cached
 * on it, so an answer is one length prefix and ~250 copies.
 * @module
 */
import { NetAddress } from "../netaddress.ts";

/** The fields of a NetAddress on the wire (a {@link NetAddress} has them). */
export interface WireNetAddress {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
}

/** Field 1 (`addrs` in PexAddrs; `id` in NetAddress), wire type 2. */
const TAG_1_LEN = 0x0a;
/** Field 2 (`pex_addrs` in Message; `ip` in NetAddress), wire type 2. */
const TAG_2_LEN = 0x12;
/** Field 3 (`port` in NetAddress), varint. */
const TAG_3_VARINT = 0x18;

const utf8 = new TextEncoder();
const entries = new WeakMap<NetAddress, Uint8Array>();

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function putVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** `addrs` entry of PexAddrs for `a`: tag, length, then the NetAddress fields that are set. */
function entryOf(a: WireNetAddress): Uint8Array {
  const cacheable = a instanceof NetAddress;
  let e = cacheable ? entries.get(a) : undefined;
  if (e !== undefined) return e;
  const id = utf8.encode(a.id), ip = utf8.encode(a.ip);
  const port = a.port >>> 0;
  let body = 0;
  if (id.length > 0) body += 1 + varintSize(id.length) + id.length;
  if (ip.length > 0) body += 1 + varintSize(ip.length) + ip.length;
  if (port !== 0) body += 1 + varintSize(port);
  e = new Uint8Array(1 + varintSize(body) + body);
  let at = 0;
  e[at++] = TAG_1_LEN;
  at = putVarint(e, at, body);
  if (id.length > 0) {
    e[at++] = TAG_1_LEN;
    at = putVarint(e, at, id.length);
    e.set(id, at);
    at += id.length;
  }
  if (ip.length > 0) {
    e[at++] = TAG_2_LEN;
    at = putVarint(e, at, ip.length);
    e.set(ip, at);
    at += ip.length;
  }
  if (port !== 0) {
    e[at++] = TAG_3_VARINT;
    putVarint(e, at, port);
  }
  if (cacheable) entries.set(a, e);
  return e;
}

/** Marshals `Message{pex_addrs: {addrs}}` exactly as `encode(PEX_MESSAGE, ...)` does. */
export function encodePexAddrs(addrs: readonly WireNetAddress[]): Uint8Array {
  const parts: Uint8Array[] = new Array(addrs.length);
  let inner = 0;
  for (let i = 0; i < addrs.length; i++) {
    const e = entryOf(addrs[i]);
    parts[i] = e;
    inner += e.length;
  }
  const out = new Uint8Array(1 + varintSize(inner) + inner);
  let at = putVarint(out, 1, inner);
  out[0] = TAG_2_LEN;
  for (const e of parts) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}
