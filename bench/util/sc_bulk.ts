/**
 * The bulk-transfer protocol of the SecretConnection benchmarks, shared by every receiver and
 * sender we run (Go's `sc-bench` speaks the same): the sender writes an 8-byte little-endian
 * total (header included), then the payload; the receiver reads until that total and answers
 * one byte.
 * @module
 */
import type { ByteStream } from "../../p2p/conn/stream.ts";

/** Reads one bulk transfer to its end and acknowledges it. Returns the bytes read. */
export async function receiveBulk(stream: ByteStream, bufSize = 256 * 1024): Promise<number> {
  const buf = new Uint8Array(bufSize);
  let got = 0;
  let total = -1;
  while (total < 0 || got < total) {
    const n = await stream.read(buf);
    if (n === null) break;
    if (total < 0 && got + n >= 8) {
      total = Number(new DataView(buf.buffer, 0, 8).getBigUint64(0, true));
    }
    got += n;
  }
  await stream.write(Uint8Array.of(1));
  return got;
}

/** Sends `payload` bytes of `data` (in writes of `data.length`) after the header; waits for the ack. */
export async function sendBulk(
  stream: ByteStream,
  payload: number,
  data: Uint8Array,
): Promise<void> {
  const header = new Uint8Array(8);
  new DataView(header.buffer).setBigUint64(0, BigInt(payload + 8), true);
  await stream.write(header);
  for (let sent = 0; sent < payload; sent += data.length) {
    await stream.write(sent + data.length <= payload ? data : data.subarray(0, payload - sent));
  }
  if (await stream.read(new Uint8Array(1)) === null) {
    throw new Error("receiver closed before its ack");
  }
}
