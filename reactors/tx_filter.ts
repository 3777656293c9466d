/**
 * The mempool channel's raw-bytes filter (Go v0.38.24+ `mempool/filter.go`, spec §11.2 step 1),
 * run on a received message's bytes **before** protobuf decoding, so a hostile batch of
 * millions of empty txs is refused without allocating them.
 *
 * Rules, in Go's order: (1) well-formed protobuf (every varint, tag and length in bounds);
 * (2) no empty tx; (3) each tx ≤ `max_tx_bytes`; (4) sum of tx sizes ≤ max(`max_tx_bytes`,
 * `max_batch_bytes`); (5) at least one tx. Unknown fields are skipped. A non-positive limit
 * disables its check. An empty message skips the filter (it then fails to unwrap).
 * @module
 */

/** Why a mempool message was refused; the sender is stopped for error. */
export class MempoolFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MempoolFilterError";
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;
/** `Message.sum`: `Txs txs = 1`. */
const FIELD_MESSAGE_TXS = 1;
/** `Txs`: `repeated bytes txs = 1`. */
const FIELD_TXS_ENTRY = 1;

/** A read position over a byte view; methods throw {@link MempoolFilterError}. */
class WireCursor {
  pos: number;
  constructor(readonly buf: Uint8Array, readonly start: number, readonly end: number) {
    this.pos = start;
  }
  atEnd(): boolean {
    return this.pos >= this.end;
  }
  /** A uint64 varint; values above 2^53 only matter as lengths, where they are out of bounds. */
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let shift = 0;; shift += 7) {
      if (shift >= 64) throw new MempoolFilterError("varint overflow");
      if (this.pos >= this.end) throw new MempoolFilterError("truncated varint");
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return v;
    }
  }
  /** Field number and wire type; Go rejects field numbers ≤ 0 (as int32). */
  tag(): [number, number] {
    const v = this.varint();
    const wireType = v % 8;
    const field = Math.floor(v / 8) | 0; // Go: int32(v >> 3)
    if (field <= 0) throw new MempoolFilterError(`illegal field number: ${field}`);
    return [field, wireType];
  }
  /** Returns [start, end) of a length-delimited value and moves past it. */
  lengthDelimited(): [number, number] {
    const len = this.varint();
    const s = this.pos;
    if (len > this.end - s) throw new MempoolFilterError("length out of bounds");
    this.pos = s + len;
    return [s, this.pos];
  }
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_BYTES:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new MempoolFilterError(`unsupported wire type: ${wireType}`);
    }
  }
  advance(n: number): void {
    if (n > this.end - this.pos) throw new MempoolFilterError("length out of bounds");
    this.pos += n;
  }
}

/**
 * Checks the raw bytes of a `tendermint.mempool.Message`; throws {@link MempoolFilterError} on
 * the first rule broken. Returns the number of txs. Does not copy anything.
 */
export function filterMempoolMsgBytes(
  msg: Uint8Array,
  maxTxBytes: number,
  maxBatchBytes: number,
): number {
  const budget = Math.max(maxTxBytes, maxBatchBytes);
  let count = 0;
  let total = 0;
  const outer = new WireCursor(msg, 0, msg.length);
  while (!outer.atEnd()) {
    const [field, wt] = outer.tag();
    if (field !== FIELD_MESSAGE_TXS || wt !== WIRE_BYTES) {
      outer.skip(wt);
      continue;
    }
    const [s, e] = outer.lengthDelimited();
    const inner = new WireCursor(msg, s, e);
    while (!inner.atEnd()) {
      const [f, w] = inner.tag();
      if (f !== FIELD_TXS_ENTRY || w !== WIRE_BYTES) {
        inner.skip(w);
        continue;
      }
      const [ts, te] = inner.lengthDelimited();
      const size = te - ts;
      if (size === 0) throw new MempoolFilterError("mempool batch contains an empty transaction");
      if (maxTxBytes > 0 && size > maxTxBytes) {
        throw new MempoolFilterError(
          `transaction size ${size} exceeds max_tx_bytes ${maxTxBytes}`,
        );
      }
      count++;
      total += size;
      if (budget > 0 && total > budget) {
        throw new MempoolFilterError(`mempool batch exceeds ${budget} byte budget`);
      }
    }
  }
  if (count === 0) throw new MempoolFilterError("mempool message contains no transactions");
  return count;
}

function uvarintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Size of `Message{Txs{[one tx of maxTxBytes]}}`: Go's receive capacity of the mempool channel
 * (`max_tx_bytes + 8` for the 1 MiB default).
 */
export function txsMessageSize(maxTxBytes: number): number {
  const inner = maxTxBytes > 0 ? 1 + uvarintLen(maxTxBytes) + maxTxBytes : 0;
  return 1 + uvarintLen(inner) + inner;
}
