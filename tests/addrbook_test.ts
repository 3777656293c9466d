import { assert, assertEquals, assertThrows } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import {
  AddrBook,
  AddrBookBannedError,
  AddrBookError,
  AddrBookInvalidAddrError,
  AddrBookNilAddrError,
  AddrBookNonRoutableError,
  AddrBookPrivateError,
  AddrBookPrivateSrcError,
  AddrBookSelfError,
  MAX_GET_SELECTION,
  selectionSize,
} from "../p2p/pex/addrbook.ts";
import { BucketHasher, groupKey, NEW_BUCKETS_PER_GROUP } from "../p2p/pex/bucket.ts";
import { decodeAddrBookJSON, formatGoTime, parseGoTime } from "../p2p/pex/addrbook_file.ts";
import { GO_ZERO_TIME_MS } from "../p2p/pex/known_address.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const fromHex = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
const HASH_KEY = fromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

/** Deterministic [0,1) source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function idOf(n: number): string {
  return n.toString(16).padStart(8, "0").repeat(5);
}

function na(n: number, ip: string, port = 26656): NetAddress {
  return NetAddress.fromIPPort(ip, port, idOf(n));
}

/** Address number i with a distinct routable IPv4 in its own /16. */
function spread(i: number): NetAddress {
  return na(
    i + 1,
    `${11 + (i % 100)}.${Math.floor(i / 100) % 256}.${Math.floor(i / 25600) % 256}.1`,
  );
}

class Clock {
  ms = Date.UTC(2025, 0, 1);
  now = () => this.ms;
}

function book(opts: { strict?: boolean; seed?: number; clock?: Clock; filePath?: string } = {}) {
  return new AddrBook({
    routabilityStrict: opts.strict ?? true,
    random: seeded(opts.seed ?? 1),
    now: opts.clock?.now,
    hashKey: HASH_KEY,
    filePath: opts.filePath,
  });
}

const SRC = na(0xffff, "5.6.7.8");

// ---- bucket math ------------------------------------------------------------------------------

Deno.test("bucket: group keys and new/old bucket indices match CometBFT's addrBook", async () => {
  const v = JSON.parse(await Deno.readTextFile(fixture("addrbook_bucket_vectors.json")));
  const hashers = new Map<boolean, BucketHasher>();
  for (const strict of [true, false]) {
    hashers.set(strict, new BucketHasher(v.book_key, fromHex(v.hash_key), strict));
  }
  let n = 0;
  for (const t of v.vectors) {
    const addr = NetAddress.parseNoLookup(t.addr);
    const src = NetAddress.parseNoLookup(t.src);
    const h = hashers.get(t.strict)!;
    assertEquals(groupKey(addr, t.strict), t.group, `group ${t.addr} strict=${t.strict}`);
    assertEquals(groupKey(src, t.strict), t.src_group, `src group ${t.src}`);
    assertEquals(h.newBucket(addr, src), t.new_bucket, `new bucket ${t.addr} <- ${t.src}`);
    assertEquals(h.oldBucket(addr), t.old_bucket, `old bucket ${t.addr}`);
    n++;
  }
  assertEquals(n, 162);
});

Deno.test("bucket: group keys per spec §9.5 (IPv4 /16, IPv6 /32, he.net /36, tunnels, onion)", () => {
  const g = (ip: string, strict = false) => groupKey(na(1, ip), strict);
  assertEquals(g("1.2.3.4"), "1.2.0.0");
  assertEquals(g("2a00:1450:4001:81b::200e"), "2a00:1450::");
  assertEquals(g("2001:470:1f0b:1::1"), "2001:470:1000::");
  assertEquals(g("::ffff:0:102:304"), "1.2.0.0"); // RFC 6145
  assertEquals(g("64:ff9b::506:708"), "5.6.0.0"); // RFC 6052
  assertEquals(g("2002:102:304::1"), "1.2.0.0"); // RFC 3964
  assertEquals(g("2001:0:4136:e378:8000:63bf:3fff:fdd2"), "192.0.0.0"); // RFC 4380, XOR 0xff
  assertEquals(g("fd87:d87e:eb43:1234:5678::1"), "tor:2");
  assertEquals(g("127.0.0.1", true), "local");
  assertEquals(g("0.1.2.3", true), "local");
  assertEquals(g("10.1.2.3", true), "unroutable");
  assertEquals(g("fe80::1", true), "unroutable");
  assertEquals(g("10.1.2.3", false), "10.1.0.0");
});

// ---- adding -----------------------------------------------------------------------------------

Deno.test("addAddress: rejections come as typed errors in Go's order", () => {
  const b = book();
  const good = na(1, "8.8.8.8");
  assertThrows(() => b.addAddress(null, SRC), AddrBookNilAddrError);
  assertThrows(() => b.addAddress(good, undefined), AddrBookNilAddrError);
  assertThrows(
    () => b.addAddress(NetAddress.fromIPPort("8.8.8.8", 1, "xyz"), SRC),
    AddrBookInvalidAddrError,
  );
  assertThrows(() => b.addAddress(na(2, "0.0.0.0"), SRC), AddrBookInvalidAddrError);
  assertThrows(() => b.addAddress(na(2, "2001:db8::1"), SRC), AddrBookInvalidAddrError);
  // A private, self and non-routable address that is also banned reports "banned" first.
  b.addAddress(na(3, "9.9.9.9"), SRC);
  b.markBad(na(3, "9.9.9.9"), 60_000);
  b.addPrivateIds([idOf(3), idOf(4), idOf(5)]);
  b.addOurAddress(na(3, "127.0.0.1"));
  assertThrows(() => b.addAddress(na(3, "127.0.0.1"), SRC), AddrBookBannedError);
  b.addOurAddress(na(4, "127.0.0.1"));
  assertThrows(() => b.addAddress(na(4, "127.0.0.1"), SRC), AddrBookPrivateError);
  b.addOurAddress(na(6, "127.0.0.1"));
  assertThrows(() => b.addAddress(na(6, "127.0.0.1"), na(5, "1.1.1.1")), AddrBookPrivateSrcError);
  assertThrows(() => b.addAddress(na(6, "127.0.0.1"), SRC), AddrBookSelfError);
  assert(b.ourAddress(na(6, "127.0.0.1")));
  assertThrows(() => b.addAddress(na(7, "127.0.0.1"), SRC), AddrBookNonRoutableError);
  const e = assertThrows(() => b.addAddress(na(7, "192.168.1.1"), SRC), AddrBookError);
  assertEquals(e.reason, "nonRoutable");
  b.addAddress(good, SRC);
  assertEquals(b.size(), 1);
  assert(b.hasAddress(good));
});

Deno.test("addAddress: strict mode refuses local/private addresses, non-strict keeps them", () => {
  const strict = book({ strict: true });
  const loose = book({ strict: false });
  for (
    const [i, ip] of ["127.0.0.1", "10.0.0.1", "172.16.0.1", "169.254.1.1", "fc00::1"].entries()
  ) {
    assertThrows(() => strict.addAddress(na(i + 1, ip), SRC), AddrBookNonRoutableError);
    loose.addAddress(na(i + 1, ip), na(99, "127.0.0.1"));
  }
  assertEquals(strict.size(), 0);
  assertEquals(loose.size(), 5);
});

Deno.test("addAddress: one source group spreads over at most 32 new buckets", () => {
  const b = book();
  const buckets = new Set<number>();
  const h = new BucketHasher(b.key, HASH_KEY, true);
  for (let i = 0; i < 3000; i++) {
    const a = spread(i);
    b.addAddress(a, SRC);
    buckets.add(h.newBucket(a, SRC));
  }
  assert(buckets.size <= NEW_BUCKETS_PER_GROUP, `${buckets.size} buckets`);
  assert(buckets.size >= 20, `suspiciously few buckets: ${buckets.size}`);
  let occupied = 0;
  for (let i = 0; i < 256; i++) if (b.bucketSize("new", i) > 0) occupied++;
  assertEquals(occupied, buckets.size);
  // 65 entries max per bucket, so one source can never hold more than 32 × 65 of the book.
  assert(b.size() <= 32 * 65);
});

Deno.test("addAddress: an address occupies at most 4 new buckets; stored address is kept", () => {
  const b = book({ seed: 7 });
  const a = na(1, "8.8.8.8");
  b.addAddress(a, SRC);
  for (let i = 0; i < 2000; i++) {
    // Same ID, gossiped with another IP by sources from many groups.
    b.addAddress(
      na(1, `${20 + (i % 100)}.1.1.1`),
      na(1000 + i, `${30 + (i % 90)}.${i % 256}.0.1`),
    );
  }
  const ka = b.listOfKnownAddresses()[0];
  assertEquals(ka.buckets.length, 4);
  assertEquals(ka.addr.toString(), a.toString());
  assertEquals(b.size(), 1);
  assertEquals(b.nNew, 1);
});

Deno.test("addAddress: a full new bucket evicts a bad entry first, else the oldest attempt", () => {
  const clock = new Clock();
  const b = book({ clock });
  // Same address group and source group → the same new bucket.
  const addrs = Array.from({ length: 65 }, (_, i) => na(i + 1, `1.2.${i}.1`));
  for (const a of addrs) {
    clock.ms += 1000;
    b.addAddress(a, SRC);
  }
  assertEquals(b.size(), 65);
  // Entry 10 becomes bad: 3 failed attempts and no success, last attempt > 1 min ago.
  for (let i = 0; i < 3; i++) b.markAttempt(addrs[10]);
  clock.ms += 120_000;
  b.addAddress(na(100, "1.2.100.1"), SRC);
  assertEquals(b.size(), 65);
  assert(!b.hasAddress(addrs[10]));
  assert(b.hasAddress(addrs[0]));
  // No bad entry left → the one attempted longest ago (entry 0) goes.
  b.addAddress(na(101, "1.2.101.1"), SRC);
  assert(!b.hasAddress(addrs[0]));
  assert(b.hasAddress(addrs[1]));
  assertEquals(b.size(), 65);
});

// ---- old buckets ------------------------------------------------------------------------------

Deno.test("markGood: promotes to exactly one old bucket, computed from the address", () => {
  const b = book();
  const a = na(1, "8.8.8.8");
  b.addAddress(a, SRC);
  b.markAttempt(a);
  b.markGood(a.id);
  assert(b.isGood(a));
  const ka = b.listOfKnownAddresses()[0];
  assertEquals(ka.state.kind, "old");
  assertEquals(ka.attempts, 0);
  assertEquals(ka.buckets, [new BucketHasher(b.key, HASH_KEY, true).oldBucket(a)]);
  assertEquals([b.nNew, b.nOld], [0, 1]);
  // Old-IP protection: the ID re-gossiped with another IP changes nothing.
  b.addAddress(na(1, "7.7.7.7"), na(2, "3.3.3.3"));
  assertEquals(b.listOfKnownAddresses()[0].addr.toString(), a.toString());
  assertEquals(b.bucketSize("old", ka.buckets[0]), 1);
  b.markGood(idOf(12345)); // unknown ID: no-op
  assertEquals(b.size(), 1);
});

Deno.test("markGood: a full old bucket drops its oldest entry out of the book", () => {
  const clock = new Clock();
  const b = book({ clock });
  // One /16 spreads over 4 old buckets; distinct sources keep the new buckets apart.
  const addrs = Array.from({ length: 400 }, (_, i) => na(i + 1, `1.2.${i >> 8}.${i & 0xff}`));
  addrs.forEach((a, i) => b.addAddress(a, na(5000 + i, `${20 + (i % 100)}.${i >> 8}.0.1`)));
  const inBook = addrs.filter((a) => b.hasAddress(a));
  for (const a of inBook) {
    clock.ms += 1000;
    b.markGood(a.id);
  }
  let total = 0;
  for (let i = 0; i < 64; i++) {
    assert(b.bucketSize("old", i) <= 65);
    total += b.bucketSize("old", i);
  }
  assertEquals(b.nOld, total);
  assertEquals(b.nNew, 0);
  assert(total <= 4 * 65, `${total}`);
  assert(total < inBook.length);
  // The first promoted (oldest attempts) are the ones that dropped out.
  assert(!b.hasAddress(inBook[0]));
  assert(b.hasAddress(inBook[inBook.length - 1]));
});

// ---- bans -------------------------------------------------------------------------------------

Deno.test("markBad: bans only IDs in the book, never shortens, reinstates after expiry", () => {
  const clock = new Clock();
  const b = book({ clock });
  const a = na(1, "8.8.8.8");
  b.markBad(a, 60_000);
  assert(!b.isBanned(a)); // not in the book → not banned at all
  b.addAddress(a, SRC);
  b.markBad(a, 60_000, "request_flood");
  assert(b.isBanned(a));
  assert(!b.hasAddress(a));
  assertEquals(b.size(), 0);
  assertEquals(b.banInfo(a.id), { reason: "request_flood", untilMs: clock.ms + 60_000 });
  assertThrows(() => b.addAddress(a, SRC), AddrBookBannedError);
  b.markBad(a, 1000, "other"); // shorter: ignored
  assertEquals(b.banInfo(a.id)?.untilMs, clock.ms + 60_000);
  clock.ms += 59_000;
  b.reinstateBadPeers();
  assert(b.isBanned(a));
  b.markBad(a, 10_000, "unsolicited_addrs"); // longer: extends
  assertEquals(b.banInfo(a.id), { reason: "unsolicited_addrs", untilMs: clock.ms + 10_000 });
  clock.ms += 10_000;
  b.reinstateBadPeers();
  assert(!b.isBanned(a));
  assert(b.hasAddress(a));
  assertEquals(b.listOfKnownAddresses()[0].state.kind, "new");
  assertEquals(b.listOfKnownAddresses()[0].lastBanTimeMs, clock.ms);
});

Deno.test("markBad: an old entry is demoted to new on reinstatement", () => {
  const clock = new Clock();
  const b = book({ clock });
  const a = na(1, "8.8.8.8");
  b.addAddress(a, SRC);
  b.markGood(a.id);
  b.markBad(a, 1000, "bad_handshake");
  assertEquals(b.listOfBanned()[0].state, {
    kind: "banned",
    was: "old",
    reason: "bad_handshake",
    untilMs: clock.ms + 1000,
  });
  clock.ms += 1000;
  b.reinstateBadPeers();
  assert(b.hasAddress(a) && !b.isGood(a));
  assertEquals([b.nNew, b.nOld], [1, 0]);
});

Deno.test("private IDs are never stored nor gossiped", () => {
  const b = book();
  b.addPrivateIds([idOf(2)]);
  b.addAddress(na(1, "8.8.8.8"), SRC);
  assertThrows(() => b.addAddress(na(2, "9.9.9.9"), SRC), AddrBookPrivateError);
  assertThrows(() => b.addAddress(na(3, "9.9.9.9"), na(2, "4.4.4.4")), AddrBookPrivateSrcError);
  assertEquals(b.getSelection().map((a) => a.id), [idOf(1)]);
});

// ---- picking and selections -------------------------------------------------------------------

Deno.test("selection sizes: max(min(32, n), 23% of n) capped at 250, distinct entries", () => {
  const expected: [number, number][] = [
    [0, 0],
    [1, 1],
    [10, 10],
    [32, 32],
    [100, 32],
    [200, 46],
    [
      1000,
      230,
    ],
    [1087, 250],
    [3000, 250],
  ];
  for (const [n, want] of expected) assertEquals(selectionSize(n), want, `size ${n}`);
  const b = book({ seed: 3 });
  for (let i = 0; i < 2000; i++) b.addAddress(spread(i), na(9000 + i, `${40 + (i % 100)}.7.0.1`));
  const size = b.size();
  const sel = b.getSelection();
  assertEquals(sel.length, Math.min(MAX_GET_SELECTION, selectionSize(size)));
  assertEquals(new Set(sel.map(String)).size, sel.length);
  assert(sel.every((a) => b.hasAddress(a)));
  assertEquals(book().getSelection(), []);
});

Deno.test("getSelectionWithBias: new entries first, then old; all new when old run short", () => {
  const b = book({ seed: 5 });
  const addrs = Array.from({ length: 200 }, (_, i) => spread(i));
  addrs.forEach((a, i) => b.addAddress(a, na(9000 + i, `${40 + (i % 100)}.7.0.1`)));
  for (const a of addrs.slice(0, 100)) b.markGood(a.id);
  const n = selectionSize(b.size());
  const sel = b.getSelectionWithBias(30);
  assertEquals(sel.length, n);
  const newCount = sel.filter((a) => !b.isGood(a)).length;
  assertEquals(newCount, Math.round(0.3 * n));
  assert(sel.slice(0, newCount).every((a) => !b.isGood(a)));
  assertEquals(new Set(sel.map(String)).size, n);
  const onlyNew = book({ seed: 6 });
  for (let i = 0; i < 50; i++) onlyNew.addAddress(spread(i), SRC);
  assertEquals(onlyNew.getSelectionWithBias(0).length, selectionSize(onlyNew.size()));
});

Deno.test("pickAddress: bias 100 → new only, bias 0 → old only, empty book → undefined", () => {
  const b = book({ seed: 9 });
  assertEquals(b.pickAddress(50), undefined);
  const addrs = Array.from({ length: 40 }, (_, i) => spread(i));
  addrs.forEach((a) => b.addAddress(a, SRC));
  for (const a of addrs.slice(0, 10)) b.markGood(a.id);
  for (let i = 0; i < 200; i++) {
    const n = b.pickAddress(100)!;
    assert(b.hasAddress(n) && !b.isGood(n));
    const o = b.pickAddress(0)!;
    assert(b.isGood(o));
  }
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) seen.add(String(b.pickAddress(50)));
  assert(seen.size > 30, `only ${seen.size} distinct picks`);
});

// ---- persistence ------------------------------------------------------------------------------

Deno.test("Go time text: RFC 3339 with nanoseconds and zero time", () => {
  assertEquals(formatGoTime(GO_ZERO_TIME_MS), "0001-01-01T00:00:00Z");
  assertEquals(parseGoTime("0001-01-01T00:00:00Z"), GO_ZERO_TIME_MS);
  assertEquals(
    parseGoTime("2026-11-23T00:04:45.317148111Z"),
    Date.UTC(2026, 10, 23, 0, 4, 45, 317),
  );
  assertEquals(parseGoTime("2026-11-23T02:04:45.5+02:00"), Date.UTC(2026, 10, 23, 0, 4, 45, 500));
  assertEquals(formatGoTime(Date.UTC(2026, 10, 23, 0, 4, 45, 310)), "2026-11-23T00:04:45.31Z");
});

Deno.test("persistence: round trip keeps key, entries, types, buckets, counters and bans", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/addrbook.json`;
    const clock = new Clock();
    const b = book({ clock, filePath: path });
    await b.start(); // missing file → empty book
    assertEquals(b.size(), 0);
    for (let i = 0; i < 300; i++) b.addAddress(spread(i), na(9000 + i, `${40 + (i % 100)}.7.0.1`));
    for (let i = 0; i < 50; i++) b.markGood(spread(i).id);
    b.markAttempt(spread(60));
    b.markBad(spread(70), 3_600_000, "incompatible_network");
    await b.stop();
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o644);
    const text = await Deno.readTextFile(path);
    assert(text.startsWith('{\n\t"key": "'));

    const c = book({ clock, filePath: path });
    await c.start();
    assertEquals(c.key, b.key);
    assertEquals(c.size(), b.size());
    assertEquals([c.nNew, c.nOld], [b.nNew, b.nOld]);
    const byId = new Map(c.listOfKnownAddresses().map((k) => [k.id, k]));
    for (const k of b.listOfKnownAddresses()) {
      const l = byId.get(k.id)!;
      assertEquals(l.addr.toString(), k.addr.toString());
      assertEquals(l.src.toString(), k.src.toString());
      assertEquals(l.state, k.state);
      assertEquals([l.attempts, l.lastAttemptMs, l.lastSuccessMs], [
        k.attempts,
        k.lastAttemptMs,
        k.lastSuccessMs,
      ]);
    }
    assert(c.isBanned(spread(70)));
    assertEquals(c.banInfo(spread(70).id)?.reason, "incompatible_network");
    await c.stop();
  });
});

Deno.test("persistence: a book written by cometbft v0.38.25 loads", async () => {
  const text = await Deno.readTextFile(fixture("addrbook_cometbft.json"));
  const { snapshot, skipped } = decodeAddrBookJSON(text);
  assertEquals(skipped, 0);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/addrbook.json`, text);
    const b = new AddrBook({ filePath: `${dir}/addrbook.json`, routabilityStrict: false });
    await b.start();
    assertEquals(b.key, snapshot.key);
    assertEquals(b.size(), 5);
    assertEquals(b.nOld, 2);
    assert(b.isGood(NetAddress.parseNoLookup(`${"01".repeat(20)}@8.8.8.8:26656`)));
    const third = b.listOfKnownAddresses().find((k) => k.addr.ip === "9.9.9.9")!;
    assertEquals(third.attempts, 2);
    assertEquals(third.src.toString(), `${"a1".repeat(20)}@1.2.3.4:26656`);
    // Banned entries are not in Go's file at all.
    assert(!b.hasAddress(NetAddress.parseNoLookup(`${"06".repeat(20)}@100.64.1.1:26656`)));
    await b.stop();
  });
});

async function haveGo(): Promise<boolean> {
  try {
    const out = await new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}
const goAvailable = await haveGo();
const ci = Deno.env.get("CI") === "true";

Deno.test({
  name: "persistence: a book we write loads in cometbft v0.38.25 (Go program)",
  ignore: !goAvailable && !ci,
  async fn() {
    assert(goAvailable, "CI=true requires Go for the addrbook interop test");
    await withTempDir(async (dir) => {
      const path = `${dir}/addrbook.json`;
      const b = new AddrBook({ filePath: path, routabilityStrict: false });
      const addrs = [
        na(1, "8.8.8.8"),
        na(2, "127.0.0.1", 26657),
        na(3, "2a00:1450::1"),
        na(4, "9.9.9.9"),
      ];
      for (const a of addrs) b.addAddress(a, SRC);
      b.markGood(addrs[0].id);
      b.markGood(addrs[2].id);
      b.markAttempt(addrs[3]);
      b.markBad(addrs[3], 3_600_000, "bad_handshake"); // goes to our "banned" extension section
      await b.save();
      const goDir = new URL("./interop/go/addrbook/", import.meta.url).pathname;
      const out = await new Deno.Command("go", {
        args: ["run", ".", "read", path],
        cwd: goDir,
        env: { GOFLAGS: "-mod=mod" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert(out.success, `go run failed: ${err}`);
      const res = JSON.parse(new TextDecoder().decode(out.stdout));
      assertEquals(res.size, 3);
      assertEquals(res.addrs, addrs.slice(0, 3).map(String).sort());
      assertEquals(res.good, [addrs[0], addrs[2]].map(String).sort());
    });
  },
});

Deno.test("persistence: a corrupt file is moved aside, the book starts empty", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/addrbook.json`;
    await Deno.writeTextFile(path, '{"key": "abc", "addrs": [{"addr": ');
    const lines: string[] = [];
    const log = {
      debug() {},
      info() {},
      error(msg: string) {
        lines.push(msg);
      },
      with() {
        return log;
      },
    };
    const b = new AddrBook({ filePath: path, logger: log });
    await b.start();
    assertEquals(b.size(), 0);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert(names.some((n) => n.startsWith("addrbook.json.corrupt-")), names.join(","));
    assert(lines.some((l) => l.includes("corrupt")));
    await b.stop(); // writes a fresh, valid file
    decodeAddrBookJSON(await Deno.readTextFile(path));
  });
});

Deno.test("persistence: periodic save runs on its interval and stop ends the loop", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/addrbook.json`;
    const b = new AddrBook({ filePath: path, saveIntervalMs: 20 });
    await b.start();
    b.addAddress(na(1, "8.8.8.8"), SRC);
    for (let i = 0; i < 500; i++) {
      const ok = await Deno.stat(path).then(() => true, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const { snapshot } = decodeAddrBookJSON(await Deno.readTextFile(path));
    assertEquals(snapshot.addrs.length, 1);
    await b.stop();
    assertEquals(b.status.code, "stopped");
  });
});

Deno.test("persistence: kill -9 during save always leaves a loadable book (old or new)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/addrbook.json`;
    const mod = new URL("../p2p/pex/addrbook.ts", import.meta.url).href;
    const nam = new URL("../p2p/netaddress.ts", import.meta.url).href;
    // The child saves a 20,000-address book over and over, each version with a different size.
    const code = `
      import { AddrBook } from ${JSON.stringify(mod)};
      import { NetAddress } from ${JSON.stringify(nam)};
      const b = new AddrBook({ filePath: ${JSON.stringify(path)} });
      const src = NetAddress.fromIPPort("5.6.7.8", 1, "ff".repeat(20));
      let i = 0;
      await b.save();
      console.log("ready");
      for (;;) {
        for (let k = 0; k < 2000; k++, i++) {
          const ip = (11 + (i >> 16) % 80) + "." + ((i >> 8) & 255) + "." + (i & 255) + ".1";
          try { b.addAddress(NetAddress.fromIPPort(ip, 26656, i.toString(16).padStart(40, "0")), src); } catch {}
        }
        await b.save();
      }`;
    const rand = seeded(42);
    for (let round = 0; round < 6; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", code],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.getReader();
      await reader.read(); // "ready": at least one complete save exists
      await new Promise((r) => setTimeout(r, 50 + Math.floor(rand() * 400)));
      child.kill("SIGKILL");
      await reader.cancel();
      await child.status;
      const { snapshot } = decodeAddrBookJSON(await Deno.readTextFile(path));
      assert(snapshot.key.length === 24);
    }
  });
});
