/**
 * Hand-written hot-path codec for `tendermint.p2p.Packet`, the unit MConnection puts on the wire
 * (spec §5.1, §13). Encoding writes `uvarint(length) ‖ Packet` straight into a caller-supplied
 * buffer; decoding reads a Packet body in place and returns `data` as a subarray (no copy).
 *
 * The bytes are identical to gogoproto's: fields in ascending order, `channel_id = 0`,
 * `eof = false` and empty `data` omitted, ping/pong as an empty sub-message (`0a 00` / `12 00`).
 * Decoding follows the generated Go unmarshaller: unknown fields are skipped, the last oneof
 * member wins, a Packet with no recognised oneof member is an error.
 * @module
 */
import { uvarintSize } from "../../libs/protoio.ts";

/** Field tags of `Packet.sum` and `PacketMsg`, as (field number << 3 | wire type). */
const TAG_PING = 0x0a; // field 1, length-delimited
const TAG_PONG = 0x12; // field 2, length-delimited
const TAG_MSG = 0x1a; // field 3, length-delimited
const TAG_CHANNEL_ID = 0x08; // field 1, varint
const TAG_EOF = 0x10; // field 2, varint
const TAG_DATA = 0x1a; // field 3, length-delimited

/** `Packet{packet_ping: {}}` without the length prefix. */
export const PING_BODY: Uint8Array = Uint8Array.of(TAG_PING, 0x00);
/** `Packet{packet_pong: {}}` without the length prefix. */
export const PONG_BODY: Uint8Array = Uint8Array.of(TAG_PONG, 0x00);
/** Delimited size of a ping or pong on the wire (`02 0a 00`). */
export const PING_PONG_WIRE_SIZE = 3;

/** A Packet body was malformed or carried no known oneof member. */
export class PacketDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PacketDecodeError";
  }
}

/** A decoded Packet. `data` is a view into the decoded buffer: copy it before the buffer is reused. */
export type DecodedPacket =
  | { kind: "ping" }
  | { kind: "pong" }
  | { kind: "msg"; channelId: number; eof: boolean; data: Uint8Array };

/** Packet kinds of a {@link PacketCursor}. */
export const PACKET_PING = 1;
export const PACKET_PONG = 2;
export const PACKET_MSG = 3;

/**
 * A decoded Packet as plain fields, filled in place by {@link decodePacketInto}: the receive
 * routine reuses one per connection, so decoding a packet allocates nothing. For a PacketMsg,
 * the data is `buf[dataStart, dataEnd)` of the buffer decoded.
 */
export interface PacketCursor {
  kind: number;
  channelId: number;
  eof: boolean;
  dataStart: number;
  dataEnd: number;
}

/** A fresh {@link PacketCursor} to reuse across {@link decodePacketInto} calls. */
export function newPacketCursor(): PacketCursor {
  return { kind: 0, channelId: 0, eof: false, dataStart: 0, dataEnd: 0 };
}

// `uvarintSize` is the framing layer's (same encoding); re-exported for the packet API.
export { uvarintSize };

/** Writes `n` as a uvarint at `buf[off]`; returns the offset after it. */
export function putUvarint(buf: Uint8Array, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

function packetMsgInnerSize(channelId: number, eof: boolean, dataLen: number): number {
  let size = 0;
  if (channelId !== 0) size += 1 + uvarintSize(channelId);
  if (eof) size += 2;
  if (dataLen > 0) size += 1 + uvarintSize(dataLen) + dataLen;
  return size;
}

/** Size of the Packet body (no length prefix) wrapping `PacketMsg{channelId, eof, data}`. */
export function packetMsgBodySize(channelId: number, eof: boolean, dataLen: number): number {
  const inner = packetMsgInnerSize(channelId, eof, dataLen);
  return 1 + uvarintSize(inner) + inner;
}

/** Size on the wire (length prefix included) of a PacketMsg packet. */
export function delimitedPacketMsgSize(channelId: number, eof: boolean, dataLen: number): number {
  const body = packetMsgBodySize(channelId, eof, dataLen);
  return uvarintSize(body) + body;
}

/**
 * Largest Packet body a reader accepts: the encoded size of a PacketMsg on channel 1 with
 * eof = true and a full payload (1034 for the default 1024), as Go's `maxPacketMsgSize`.
 */
export function maxPacketMsgSize(maxPayload: number): number {
  return packetMsgBodySize(1, true, maxPayload);
}

/**
 * Largest data chunk that keeps a PacketMsg on `channelId` within {@link maxPacketMsgSize}:
 * channel ids ≥ 0x80 take a 2-byte varint, so they lose one payload byte.
 */
export function payloadSizeFor(channelId: number, maxPayload: number): number {
  return channelId >= 0x80 ? maxPayload - 1 : maxPayload;
}

/**
 * Writes `uvarint(len) ‖ Packet{packet_msg: {channelId, eof, data}}` at `buf[off]` and returns
 * the offset after it. The caller guarantees room ({@link delimitedPacketMsgSize}).
 * `channelId` must be 0..255.
 */
export function writePacketMsg(
  buf: Uint8Array,
  off: number,
  channelId: number,
  eof: boolean,
  data: Uint8Array,
): number {
  const dataLen = data.length;
  const inner = packetMsgInnerSize(channelId, eof, dataLen);
  off = putUvarint(buf, off, 1 + uvarintSize(inner) + inner);
  buf[off++] = TAG_MSG;
  off = putUvarint(buf, off, inner);
  if (channelId !== 0) {
    buf[off++] = TAG_CHANNEL_ID;
    off = putUvarint(buf, off, channelId);
  }
  if (eof) {
    buf[off++] = TAG_EOF;
    buf[off++] = 1;
  }
  if (dataLen > 0) {
    buf[off++] = TAG_DATA;
    off = putUvarint(buf, off, dataLen);
    buf.set(data, off);
    off += dataLen;
  }
  return off;
}

/** Writes a delimited ping (`02 0a 00`) at `buf[off]`; returns the offset after it. */
export function writePing(buf: Uint8Array, off: number): number {
  buf[off] = 2;
  buf[off + 1] = TAG_PING;
  buf[off + 2] = 0;
  return off + 3;
}

/** Writes a delimited pong (`02 12 00`) at `buf[off]`; returns the offset after it. */
export function writePong(buf: Uint8Array, off: number): number {
  buf[off] = 2;
  buf[off + 1] = TAG_PONG;
  buf[off + 2] = 0;
  return off + 3;
}

/** Convenience (not hot path): the Packet body of a PacketMsg, without length prefix. */
export function encodePacketMsg(channelId: number, eof: boolean, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(delimitedPacketMsgSize(channelId, eof, data.length));
  writePacketMsg(out, 0, channelId, eof, data);
  return out.subarray(uvarintSize(packetMsgBodySize(channelId, eof, data.length)));
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Cursor over a body being decoded; module-private and reused, decoding is synchronous. */
let src: Uint8Array = new Uint8Array(0);
let pos = 0;

/** Reads a varint of up to 10 bytes; returns the low 32 bits as an unsigned number. */
function readVarint32(end: number): number {
  let result = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) throw new PacketDecodeError("unexpected end of varint");
    const b = src[pos++];
    if (shift < 32) result |= (b & 0x7f) << shift;
    if (b < 0x80) return result >>> 0;
  }
  throw new PacketDecodeError("varint overflow");
}

/** Reads a length varint and checks that many bytes remain before `end`. */
function readLength(end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new PacketDecodeError("unexpected end of length");
    const b = src[pos++];
    result += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) {
      if (result > end - pos) throw new PacketDecodeError("length exceeds packet");
      return result;
    }
  }
  throw new PacketDecodeError("length varint overflow");
}

/** Skips the value of an unknown field of `wireType`. */
function skipField(wireType: number, end: number): void {
  switch (wireType) {
    case 0:
      readVarint32(end);
      return;
    case 1:
      if (end - pos < 8) throw new PacketDecodeError("unexpected end of fixed64");
      pos += 8;
      return;
    case 2: {
      // Not `pos += readLength(end)`: that would read `pos` before readLength advances it.
      const len = readLength(end);
      pos += len;
      return;
    }
    case 5:
      if (end - pos < 4) throw new PacketDecodeError("unexpected end of fixed32");
      pos += 4;
      return;
    default:
      // Groups (3, 4) never appear in these messages; 6 and 7 are illegal.
      throw new PacketDecodeError(`unsupported wire type ${wireType}`);
  }
}

function readTag(end: number): number {
  const tag = readVarint32(end);
  if (tag >>> 3 === 0) throw new PacketDecodeError("illegal field number 0");
  return tag;
}

/** Validates an empty message (PacketPing / PacketPong): only unknown fields allowed. */
function skipMessage(end: number): void {
  while (pos < end) skipField(readTag(end) & 7, end);
}

/**
 * Decodes one Packet body (no length prefix). Throws {@link PacketDecodeError} when malformed or
 * when no known oneof member is present. For PacketMsg, `data` is a subarray of `body`.
 */
export function decodePacket(body: Uint8Array): DecodedPacket {
  const c = newPacketCursor();
  decodePacketInto(body, 0, body.length, c);
  if (c.kind === PACKET_PING) return { kind: "ping" };
  if (c.kind === PACKET_PONG) return { kind: "pong" };
  return {
    kind: "msg",
    channelId: c.channelId,
    eof: c.eof,
    data: body.subarray(c.dataStart, c.dataEnd),
  };
}

/**
 * {@link decodePacket} of the body `buf[start, end)` into `out` (the hot path: no allocation;
 * `out`'s data offsets index `buf`). As protobuf, a later oneof member replaces an earlier one.
 * Throws {@link PacketDecodeError}; `out` is then undefined.
 */
export function decodePacketInto(
  buf: Uint8Array,
  start: number,
  end: number,
  out: PacketCursor,
): void {
  src = buf;
  pos = start;
  out.kind = 0;
  try {
    while (pos < end) {
      const tag = readTag(end);
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field >= 1 && field <= 3) {
        if (wireType !== 2) {
          throw new PacketDecodeError(`wrong wire type ${wireType} for field ${field}`);
        }
        const len = readLength(end);
        const subEnd = pos + len;
        if (field === 1) {
          skipMessage(subEnd);
          out.kind = PACKET_PING;
        } else if (field === 2) {
          skipMessage(subEnd);
          out.kind = PACKET_PONG;
        } else {
          decodePacketMsg(subEnd, out);
        }
        pos = subEnd;
      } else {
        skipField(wireType, end);
      }
    }
  } finally {
    src = EMPTY;
  }
  if (out.kind === 0) throw new PacketDecodeError("unknown packet type (no oneof member set)");
}

const EMPTY: Uint8Array = new Uint8Array(0);

function decodePacketMsg(end: number, out: PacketCursor): void {
  let channelId = 0;
  let eof = false;
  let dataStart = 0;
  let dataEnd = 0;
  while (pos < end) {
    const tag = readTag(end);
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1) {
      if (wireType !== 0) throw new PacketDecodeError(`wrong wire type ${wireType} for channel_id`);
      channelId = readVarint32(end) | 0; // int32 semantics: the low 32 bits, signed
    } else if (field === 2) {
      if (wireType !== 0) throw new PacketDecodeError(`wrong wire type ${wireType} for eof`);
      eof = readVarint32Nonzero(end);
    } else if (field === 3) {
      if (wireType !== 2) throw new PacketDecodeError(`wrong wire type ${wireType} for data`);
      const len = readLength(end);
      dataStart = pos;
      dataEnd = pos + len;
      pos += len;
    } else {
      skipField(wireType, end);
    }
  }
  out.kind = PACKET_MSG;
  out.channelId = channelId;
  out.eof = eof;
  out.dataStart = dataStart;
  out.dataEnd = dataEnd;
}

/** Reads a varint (up to 10 bytes) and reports whether any of its 64 bits is set. */
function readVarint32Nonzero(end: number): boolean {
  let nonzero = false;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) throw new PacketDecodeError("unexpected end of varint");
    const b = src[pos++];
    if ((b & 0x7f) !== 0) nonzero = true;
    if (b < 0x80) return nonzero;
  }
  throw new PacketDecodeError("varint overflow");
}
