/**
 * The cross-dial rule of `p2p/switch_admission.ts`, exhaustively on fake connections: whatever
 * order two connections between nodes A and B reach each end (both inside the reservation
 * window), both ends keep the same one — the connection dialed by the smaller ID — and close the
 * other; a committed holder (reactors already see it) is never displaced.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { IdReservations, isPreferredConn } from "../p2p/switch_admission.ts";
import type { TransportConn } from "../p2p/transport.ts";

const A = "0a".repeat(20); // the smaller ID
const B = "0b".repeat(20);

/** A fake connection as seen by `self`, to `peer`, dialed by `dialer`. */
function conn(self: string, peer: string, dialer: string, name: string) {
  const c = {
    name,
    closed: false,
    outbound: dialer === self,
    nodeInfo: { id: peer },
    close() {
      c.closed = true;
    },
  };
  return c as typeof c & TransportConn;
}

/** Runs one end: connections arrive in `order`; returns the name of the one it keeps. */
function end(self: string, order: ("c1" | "c2")[]): string | undefined {
  const peer = self === A ? B : A;
  // c1: A dials B; c2: B dials A.
  const conns = { c1: conn(self, peer, A, "c1"), c2: conn(self, peer, B, "c2") };
  const ids = new IdReservations();
  for (const k of order) {
    const c = conns[k];
    if (ids.reserve(c, self) === "refused") c.close();
  }
  const kept = Object.values(conns).filter((c) => ids.holds(c));
  assertEquals(kept.length, 1);
  for (const c of Object.values(conns)) assertEquals(c.closed, !ids.holds(c), c.name);
  return kept[0]?.name;
}

Deno.test("admission: both ends keep the smaller ID's dial, in every arrival order", () => {
  const orders: ("c1" | "c2")[][] = [["c1", "c2"], ["c2", "c1"]];
  for (const atA of orders) {
    for (const atB of orders) {
      assertEquals(end(A, atA), "c1", `A saw ${atA}`);
      assertEquals(end(B, atB), "c1", `B saw ${atB}`);
    }
  }
  assert(isPreferredConn(true, A, B) && isPreferredConn(false, B, A));
  assert(!isPreferredConn(false, A, B) && !isPreferredConn(true, B, A));
});

Deno.test("admission: a committed holder is never displaced; release frees the ID", () => {
  const ids = new IdReservations();
  const c2 = conn(A, B, B, "c2"); // not preferred at A
  const c1 = conn(A, B, A, "c1"); // preferred at A
  assertEquals(ids.reserve(c2, A), "reserved");
  assert(ids.commit(c2));
  assertEquals(ids.committed(B), c2);
  assertEquals(ids.reserve(c1, A), "refused");
  assert(!c2.closed);
  ids.release(c2);
  assert(!ids.has(B));
  assertEquals(ids.reserve(c1, A), "reserved");
  // Superseding closes the displaced holder at once, and it can no longer commit.
  const ids2 = new IdReservations();
  const d2 = conn(A, B, B, "d2");
  const d1 = conn(A, B, A, "d1");
  ids2.reserve(d2, A);
  assertEquals(ids2.reserve(d1, A), "superseded");
  assert(d2.closed);
  assert(!ids2.commit(d2));
  assert(ids2.commit(d1));
});
