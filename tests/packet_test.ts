import { assert, assertEquals, assertThrows } from "./util/assert.ts";
import { decode, encode, protoType } from "../p2p/proto.ts";
import {
  decodePacket,
  delimitedPacketMsgSize,
  encodePacketMsg,
  maxPacketMsgSize,
  PacketDecodeError,
  payloadSizeFor,
  PING_BODY,
  PONG_BODY,
  writePacketMsg,
  writePing,
  writePong,
} from "../p2p/conn/packet.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const vectors = JSON.parse(
  Deno.readTextFileSync(
    new URL("./fixtures/vectors/secret-connection-handshake.json", import.meta.url),
  ),
);
const Packet = protoType("tendermint.p2p.Packet");

function delimited(ch: number, eof: boolean, data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(delimitedPacketMsgSize(ch, eof, data.length) + 4);
  const end = writePacketMsg(buf, 2, ch, eof, data);
  assertEquals(end - 2, delimitedPacketMsgSize(ch, eof, data.length));
  return buf.slice(2, end);
}

Deno.test("packet: ping/pong/msg vectors of TestConnVectors (spec §14)", () => {
  assertEquals(hex(PING_BODY), "0a00");
  assertEquals(hex(PONG_BODY), "1200");
  const data = new TextEncoder().encode("data transmitted over the wire");
  assertEquals(
    hex(encodePacketMsg(1, false, data)),
    "1a2208011a1e64617461207472616e736d6974746564206f766572207468652077697265",
  );
  const b = new Uint8Array(8);
  assertEquals(hex(b.subarray(0, writePing(b, 0))), vectors.packets.ping_delimited);
  assertEquals(hex(b.subarray(0, writePong(b, 0))), vectors.packets.pong_delimited);
});

Deno.test("packet: delimited vectors of the shared JSON (§5.1)", () => {
  const p = vectors.packets;
  assertEquals(
    hex(delimited(0x20, true, unhex(p["consensus_msg_NewRoundStep(h=5,r=0,step=1,secs=3,lcr=0)"]))),
    p.packet_delimited_NewRoundStep_on_0x20,
  );
  assertEquals(
    hex(delimited(0x30, true, unhex(p['mempool_msg_Txs(["hello=world"])']))),
    p.packet_delimited_Txs_on_0x30,
  );
  // Empty message: one eof packet without data; channel 0 (PEX) omits channel_id.
  assertEquals(hex(encodePacketMsg(0x30, true, new Uint8Array(0))), "1a0408301001");
  assertEquals(hex(encodePacketMsg(0, true, new Uint8Array(0))), "1a021001");
  assertEquals(hex(encodePacketMsg(0, false, new Uint8Array(0))), "1a00");
});

Deno.test("packet: max sizes (1034 for 1024; channels >= 0x80 lose a payload byte)", () => {
  assertEquals(maxPacketMsgSize(1024), 1034);
  assertEquals(encodePacketMsg(1, true, new Uint8Array(1024)).length, 1034);
  assertEquals(encodePacketMsg(0x80, true, new Uint8Array(1024)).length, 1035);
  assertEquals(payloadSizeFor(0x80, 1024), 1023);
  assertEquals(payloadSizeFor(0x7f, 1024), 1024);
  assertEquals(encodePacketMsg(0xff, true, new Uint8Array(1023)).length, 1034);
});

Deno.test("packet: encoder matches protobufjs/gogoproto for many shapes", () => {
  const sizes = [0, 1, 2, 127, 128, 129, 300, 1023, 1024, 1025, 16383, 16384, 70000];
  for (const ch of [0, 1, 0x20, 0x7f, 0x80, 0xff]) {
    for (const eof of [false, true]) {
      for (const n of sizes) {
        const full = n <= 65536
          ? crypto.getRandomValues(new Uint8Array(n))
          : new Uint8Array(n).fill(7);
        const ours = encodePacketMsg(ch, eof, full);
        const ref = encode(Packet, { packet_msg: { channel_id: ch, eof, data: full } });
        assertEquals(hex(ours), hex(ref), `ch=${ch} eof=${eof} n=${n}`);
        const dec = decodePacket(ref);
        assert(dec.kind === "msg");
        assertEquals([dec.channelId, dec.eof, dec.data.length], [ch, eof, n]);
        assertEquals(hex(dec.data), hex(full));
      }
    }
  }
  assertEquals(hex(encode(Packet, { packet_ping: {} })), hex(PING_BODY));
  assertEquals(hex(encode(Packet, { packet_pong: {} })), hex(PONG_BODY));
});

Deno.test("packet: decode returns data as a view, no copy", () => {
  const body = encodePacketMsg(5, true, Uint8Array.of(1, 2, 3));
  const dec = decodePacket(body);
  assert(dec.kind === "msg");
  assert(dec.data.buffer === body.buffer);
  assertEquals(dec.data.byteOffset, body.byteOffset + body.length - 3);
});

Deno.test("packet: decode follows the Go unmarshaller on odd but valid input", () => {
  assertEquals(decodePacket(unhex("0a00")), { kind: "ping" });
  assertEquals(decodePacket(unhex("1200")), { kind: "pong" });
  // Last oneof member wins.
  assertEquals(decodePacket(unhex("0a001200")), { kind: "pong" });
  // Unknown fields skipped, inside and outside PacketMsg (varint, fixed64, bytes, fixed32).
  const dec = decodePacket(
    unhex("2001" + "1a14" + "0801" + "2805" + "290102030405060708" + "1001" + "2d01020304"),
  );
  assertEquals(dec, { kind: "msg", channelId: 1, eof: true, data: new Uint8Array(0) });
  // Length-delimited unknown fields, at both levels.
  assertEquals(decodePacket(unhex("220201021200")), { kind: "pong" });
  const withBytes = decodePacket(unhex("1a073203aabbcc1001"));
  assertEquals(withBytes, { kind: "msg", channelId: 0, eof: true, data: new Uint8Array(0) });
  // Unknown field inside a ping.
  assertEquals(decodePacket(unhex("0a020801")), { kind: "ping" });
  // A negative channel id (10-byte varint) decodes as int32 -1, for the caller to reject.
  const neg = decodePacket(unhex("1a0b08ffffffffffffffffff01"));
  assert(neg.kind === "msg");
  assertEquals(neg.channelId, -1);
  // eof as a non-canonical varint is still true; protobufjs agrees on these.
  const ref = decode<{ packet_msg: { eof: boolean } }>(Packet, unhex("1a03108001"));
  const ours = decodePacket(unhex("1a03108001"));
  assert(ours.kind === "msg");
  assertEquals(ours.eof, ref.packet_msg.eof);
});

Deno.test("packet: decode rejects malformed and unknown packets", () => {
  const bad = [
    "", // no oneof
    "2200", // field 4 only: unknown packet type
    "1a05", // length beyond end
    "1a050801", // sub-message truncated
    "0801", // field 1 with varint wire type
    "1a020a00", // channel_id with length wire type
    "1a021201", // eof with length wire type
    "1a021a", // data length missing
    "1a031a0501", // data length beyond sub-message
    "0b", // group start
    "0f", // wire type 7
    "00", // field number 0
    "1a0b08ffffffffffffffffffff", // varint overflow
    "ff", // truncated tag
  ];
  for (const h of bad) {
    assertThrows(() => decodePacket(unhex(h)), PacketDecodeError);
  }
});

Deno.test("packet: decodePacketInto reads a body inside a larger buffer, reusing one cursor", async () => {
  const { decodePacketInto, newPacketCursor, PACKET_MSG, PACKET_PING } = await import(
    "../p2p/conn/packet.ts"
  );
  const body = encodePacketMsg(0x30, true, Uint8Array.of(7, 8, 9));
  const buf = new Uint8Array(5 + body.length + 4).fill(0xff);
  buf.set(body, 5);
  const c = newPacketCursor();
  decodePacketInto(buf, 5, 5 + body.length, c);
  assertEquals([c.kind, c.channelId, c.eof], [PACKET_MSG, 0x30, true]);
  assertEquals(Array.from(buf.subarray(c.dataStart, c.dataEnd)), [7, 8, 9]);
  // The same cursor, a ping next: nothing of the message is left to mislead.
  buf.set(PING_BODY, 1);
  decodePacketInto(buf, 1, 1 + PING_BODY.length, c);
  assertEquals(c.kind, PACKET_PING);
  // The bytes after `end` are never read: a body cut short fails, though the buffer goes on.
  assertThrows(() => decodePacketInto(buf, 5, 5 + body.length - 1, c), PacketDecodeError);
});
