import { createTestMesh, createTestPair, waitFor } from "switchyard/testing";
import { PING_CHANNEL, PingReactor } from "./ping_reactor.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("ping: two nodes ping each other once and both get their pong", async () => {
  const mesh = await createTestPair(() => [["ping", new PingReactor()]]);
  try {
    const [a, b] = mesh.nodes;
    const ra = a.reactor<PingReactor>("ping");
    const rb = b.reactor<PingReactor>("ping");
    await waitFor(() => ra.pongsFrom(b.id) === 1 && rb.pongsFrom(a.id) === 1, "pongs");
  } finally {
    // Stops every node and throws if a reactor saw calls out of the reactor grammar.
    await mesh.stop();
  }
});

Deno.test("ping: an unexpected pong gets the sender disconnected, not us", async () => {
  const mesh = await createTestMesh({ size: 3, reactors: () => [["ping", new PingReactor()]] });
  try {
    const [a, b, c] = mesh.nodes;
    await waitFor(() => a.reactor<PingReactor>("ping").pongsFrom(b.id) === 1, "a's pong");
    // b sends a pong nobody asked for: a drops b, keeps c.
    await b.peer(a)!.send({ channelId: PING_CHANNEL + 1, message: { nonce: 999 } });
    await waitFor(() => a.peer(b) === undefined, "a dropped b");
    assert(a.peer(c) !== undefined, "a still has c");
  } finally {
    await mesh.stop();
  }
});
