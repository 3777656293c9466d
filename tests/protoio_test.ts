import { assert, assertEquals, assertRejects, assertThrows } from "./util/assert.ts";
import {
  decodeUvarint,
  encodeUvarint,
  MalformedVarintError,
  marshalDelimited,
  putUvarint,
  readDelimited,
  unmarshalDelimited,
  uvarintSize,
  writeDelimited,
} from "../libs/protoio.ts";
import { ConnectionClosedError, MessageTooLargeError } from "../p2p/errors.ts";
import { bytePipe } from "./util/pipe.ts";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const UVARINT_CASES: [number, string][] = [
  [0, "00"],
  [1, "01"],
  [127, "7f"],
  [128, "8001"],
  [139, "8b01"], // NodeInfo A length prefix
  [300, "ac02"],
  [10240, "8050"],
  [16383, "ff7f"],
  [16384, "808001"],
  [2 ** 32, "8080808010"],
  [Number.MAX_SAFE_INTEGER, "ffffffffffffff0f"],
];

Deno.test("protoio: uvarint encode/decode table", () => {
  for (const [n, h] of UVARINT_CASES) {
    assertEquals(hex(encodeUvarint(n)), h, `encode ${n}`);
    assertEquals(uvarintSize(n), h.length / 2, `size ${n}`);
    const buf = new Uint8Array(12);
    assertEquals(putUvarint(buf, 2, n), h.length / 2);
    assertEquals(decodeUvarint(buf, 2), { value: n, length: h.length / 2 }, `decode ${n}`);
  }
});

Deno.test("protoio: uvarint errors", () => {
  assertThrows(() => encodeUvarint(-1), RangeError);
  assertThrows(() => encodeUvarint(1.5), RangeError);
  assertEquals(decodeUvarint(new Uint8Array([0x80, 0x80])), null);
  assertEquals(decodeUvarint(new Uint8Array([])), null);
  // 10th byte > 1 overflows 64 bits; 11 bytes is too long.
  assertThrows(
    () => decodeUvarint(new Uint8Array([...Array(9).fill(0xff), 0x02])),
    MalformedVarintError,
  );
  assertThrows(() => decodeUvarint(new Uint8Array(11).fill(0x80)), MalformedVarintError);
  // max uint64 is accepted (approximate as a number).
  const max = decodeUvarint(new Uint8Array([...Array(9).fill(0xff), 0x01]));
  assert(max !== null && max.length === 10 && max.value > 2 ** 63);
});

Deno.test("protoio: marshal/unmarshal delimited", () => {
  const msg = new Uint8Array(200).map((_, i) => i);
  const framed = marshalDelimited(msg);
  assertEquals(hex(framed.subarray(0, 2)), "c801");
  const r = unmarshalDelimited(new Uint8Array([...framed, 0xaa]), 1000);
  assert(r);
  assertEquals(r.consumed, 202);
  assertEquals(r.msg, msg);
  assertEquals(unmarshalDelimited(framed.subarray(0, 100), 1000), null);
  assertThrows(() => unmarshalDelimited(framed, 199), MessageTooLargeError, "(200 > 199)");
  assertEquals(unmarshalDelimited(framed, 200)?.consumed, 202);
});

Deno.test("protoio: write then read, leaves following bytes in the stream", async () => {
  const [a, b] = bytePipe();
  try {
    const m1 = new Uint8Array([1, 2, 3]);
    const m2 = new Uint8Array(300).fill(9);
    await writeDelimited(a, m1);
    await writeDelimited(a, new Uint8Array(0));
    await writeDelimited(a, m2);
    assertEquals(a.stats.writes, 3); // one write per message
    assertEquals(await readDelimited(b, 10), m1);
    assertEquals(await readDelimited(b, 10), new Uint8Array(0));
    assertEquals(await readDelimited(b, 300), m2);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("protoio: read reassembles a message split across many writes", async () => {
  const [a, b] = bytePipe();
  try {
    const framed = marshalDelimited(new Uint8Array(1000).map((_, i) => i & 0xff));
    const reading = readDelimited(b, 1000);
    for (let i = 0; i < framed.length; i += 7) await a.write(framed.subarray(i, i + 7));
    assertEquals((await reading).length, 1000);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("protoio: oversized declared length is rejected without reading the body", async () => {
  const [a, b] = bytePipe();
  try {
    await a.write(encodeUvarint(10241));
    await a.write(new Uint8Array([0x42]));
    await assertRejects(
      () => readDelimited(b, 10240),
      MessageTooLargeError,
      "message exceeds max size (10241 > 10240)",
    );
    // The body byte is still there.
    const one = new Uint8Array(1);
    assertEquals(await b.read(one), 1);
    assertEquals(one[0], 0x42);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("protoio: EOF before/inside prefix/body is ConnectionClosedError", async () => {
  const inputs: [Uint8Array, string][] = [
    [new Uint8Array([]), "EOF"],
    [new Uint8Array([0x80]), "unexpected EOF"],
    [new Uint8Array([0x05, 1, 2]), "unexpected EOF"],
  ];
  for (const [bytes, msg] of inputs) {
    const [a, b] = bytePipe();
    if (bytes.length) await a.write(bytes);
    a.close();
    const err = await assertRejects(() => readDelimited(b, 100), ConnectionClosedError);
    assertEquals(err.message, msg);
    b.close();
  }
});

Deno.test("protoio: over-long varint prefix", async () => {
  const [a, b] = bytePipe();
  await a.write(new Uint8Array(11).fill(0xff));
  await assertRejects(() => readDelimited(b, 100), MalformedVarintError);
  a.close();
  b.close();
});

Deno.test("protoio: abort signal rejects a pending read with the reason", async () => {
  const [a, b] = bytePipe();
  const ac = new AbortController();
  const reading = readDelimited(b, 100, { signal: ac.signal });
  const reason = new Error("stop now");
  ac.abort(reason);
  const err = await assertRejects(() => reading);
  assertEquals(err, reason);
  // Already-aborted signal rejects at once.
  await assertRejects(() => readDelimited(b, 100, { signal: ac.signal }));
  a.close();
  b.close();
});
