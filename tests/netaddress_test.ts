import { assert, assertEquals, assertRejects, assertThrows } from "./util/assert.ts";
import {
  formatIP,
  type HostResolver,
  idAddressString,
  isIPv4,
  isOnionCatTor,
  isRFC1918,
  isRFC3849,
  isRFC3927,
  isRFC3964,
  isRFC4193,
  isRFC4380,
  isRFC4843,
  isRFC4862,
  isRFC6052,
  isRFC6145,
  NetAddress,
  NetAddressInvalidError,
  NetAddressLookupError,
  NetAddressNoIdError,
  parseAddressList,
  parseIP,
  removeProtocol,
  splitHostPort,
} from "../p2p/netaddress.ts";
import { InvalidParametersError } from "../p2p/errors.ts";

const ID = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const ID2 = "56475aa75463474c0285df5dbf2bcab73da65135";

/** A resolver with fixed answers, so tests never touch DNS. */
const fakeDns: HostResolver = (host) => {
  const table: Record<string, string[]> = {
    "node.example": ["192.0.2.7", "2001:db8::7"],
    "v6only.example": ["2001:4860::8888"],
    "empty.example": [],
  };
  const ips = table[host];
  if (!ips) return Promise.reject(new Error(`lookup ${host}: no such host`));
  return Promise.resolve(ips);
};

// Expected values below were produced by Go 1.26's net.ParseIP / IP.String / SplitHostPort.
const IP_CASES: [string, string | null][] = [
  ["1.2.3.4", "1.2.3.4"],
  ["0.0.0.0", "0.0.0.0"],
  ["255.255.255.255", "255.255.255.255"],
  ["256.1.1.1", null],
  ["01.2.3.4", null],
  ["1.2.3.04", null],
  ["1.2.3", null],
  ["1.2.3.4.5", null],
  ["1..2.3", null],
  ["", null],
  ["::", "::"],
  ["::1", "::1"],
  ["1::", "1::"],
  ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ["1:2:3:4:5:6:7:8:9", null],
  ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
  ["1::3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
  ["1:2:3:4::5:6:7:8", null],
  ["::ffff:1.2.3.4", "1.2.3.4"],
  ["::ffff:01.2.3.4", null],
  ["::1.2.3.4", "::102:304"],
  ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ["1:2:3:4:5:6:7:1.2.3.4", null],
  ["1::1.2.3.4", "1::102:304"],
  ["fe80::1%eth0", null],
  ["fe80::1%", null],
  ["12345::", null],
  ["1:::2", null],
  [":1", null],
  ["1:", null],
  ["::ffff:0:0:0", "::ffff:0:0:0"],
  ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
  ["::ffff:ffff:ffff", "255.255.255.255"],
  ["0:0:0:0:0:ffff:102:304", "1.2.3.4"],
  ["ABCD::EF", "abcd::ef"],
  ["64:ff9b::1.2.3.4", "64:ff9b::102:304"],
  ["localhost", null],
];

Deno.test("ip: parseIP / formatIP match Go net.ParseIP / IP.String", () => {
  for (const [input, want] of IP_CASES) {
    const ip = parseIP(input);
    assertEquals(ip ? formatIP(ip) : null, want, JSON.stringify(input));
    if (ip) assertEquals(ip.length, 16);
  }
  assert(isIPv4(parseIP("::ffff:1.2.3.4")!));
  assert(!isIPv4(parseIP("::1.2.3.4")!));
});

Deno.test("ip: splitHostPort matches Go net.SplitHostPort", () => {
  const cases: [string, string][] = [
    ["1.2.3.4:80", "1.2.3.4|80"],
    ["[::1]:80", "::1|80"],
    ["host:80", "host|80"],
    ["[1.2.3.4]:26656", "1.2.3.4|26656"],
    [":80", "|80"],
    ["[]:80", "|80"],
    ["1:", "1|"],
    ["", "ERR missing port in address"],
    ["host", "ERR address host: missing port in address"],
    ["::1:80", "ERR address ::1:80: too many colons in address"],
    ["[::1]", "ERR address [::1]: missing port in address"],
    ["[::1]80", "ERR address [::1]80: missing port in address"],
    ["[::1]:80:90", "ERR address [::1]:80:90: too many colons in address"],
    ["a[b:80", "ERR address a[b:80: unexpected '[' in address"],
    ["a]b:80", "ERR address a]b:80: unexpected ']' in address"],
    ["[a]b]:80", "ERR address [a]b]:80: missing port in address"],
    ["[::1:80", "ERR address [::1:80: missing ']' in address"],
  ];
  for (const [input, want] of cases) {
    let got: string;
    try {
      got = splitHostPort(input).join("|");
    } catch (err) {
      got = `ERR ${(err as Error).message}`;
    }
    assertEquals(got, want, JSON.stringify(input));
  }
});

Deno.test("netaddress: removeProtocol / idAddressString", () => {
  assertEquals(removeProtocol("tcp://1.2.3.4:5"), "1.2.3.4:5");
  assertEquals(removeProtocol("1.2.3.4:5"), "1.2.3.4:5");
  assertEquals(removeProtocol("a://b://c"), "b");
  assertEquals(removeProtocol("://x"), "x");
  assertEquals(idAddressString(ID, "tcp://0.0.0.0:26656"), `${ID}@0.0.0.0:26656`);
});

type ParseExpect =
  | { ok: string }
  | {
    err: typeof NetAddressNoIdError | typeof NetAddressInvalidError | typeof NetAddressLookupError;
    msg?: string;
  };

const PARSE_CASES: [string, ParseExpect][] = [
  // accepted
  [`${ID}@127.0.0.1:8080`, { ok: `${ID}@127.0.0.1:8080` }],
  [`tcp://${ID}@127.0.0.1:8080`, { ok: `${ID}@127.0.0.1:8080` }],
  [`udp://${ID}@127.0.0.1:8080`, { ok: `${ID}@127.0.0.1:8080` }],
  [`tcp://${ID}@1.2.3.4:26656://junk`, { ok: `${ID}@1.2.3.4:26656` }],
  [`${ID}@[::1]:26656`, { ok: `${ID}@[::1]:26656` }],
  [`${ID}@[2001:0db8::0001]:1`, { ok: `${ID}@[2001:db8::1]:1` }],
  [`${ID}@[::ffff:10.0.0.1]:26656`, { ok: `${ID}@10.0.0.1:26656` }],
  [`${ID}@[1.2.3.4]:26656`, { ok: `${ID}@1.2.3.4:26656` }],
  [`${ID}@0.0.0.0:0`, { ok: `${ID}@0.0.0.0:0` }],
  [`${ID}@1.2.3.4:65535`, { ok: `${ID}@1.2.3.4:65535` }],
  [`${ID}@1.2.3.4:0080`, { ok: `${ID}@1.2.3.4:80` }],
  [`${ID.toUpperCase()}@1.2.3.4:1`, { ok: `${ID.toUpperCase()}@1.2.3.4:1` }],
  [`${ID}@node.example:26656`, { ok: `${ID}@192.0.2.7:26656` }],
  [`${ID}@v6only.example:26656`, { ok: `${ID}@[2001:4860::8888]:26656` }],
  // no ID
  ["127.0.0.1:8080", {
    err: NetAddressNoIdError,
    msg: "address (127.0.0.1:8080) does not contain ID",
  }],
  ["tcp://127.0.0.1:8080", {
    err: NetAddressNoIdError,
    msg: "address (tcp://127.0.0.1:8080) does not contain ID",
  }],
  ["", { err: NetAddressNoIdError }],
  [`${ID}@a@1.2.3.4:1`, { err: NetAddressNoIdError }],
  // bad ID
  ["tcp://@127.0.0.1:8080", {
    err: NetAddressInvalidError,
    msg: "invalid address (@127.0.0.1:8080): no ID",
  }],
  ["@", { err: NetAddressInvalidError }],
  [" @", { err: NetAddressInvalidError }],
  ["deadbeef@127.0.0.1:8080", {
    err: NetAddressInvalidError,
    msg: "invalid hex length - got 4, expected 20",
  }],
  ["this-isnot-hex@127.0.0.1:8080", { err: NetAddressInvalidError }],
  [`xxxx${ID.slice(4)}@127.0.0.1:8080`, { err: NetAddressInvalidError }],
  [`tcp//${ID}@127.0.0.1:8080`, { err: NetAddressInvalidError }],
  // bad host:port
  [`${ID}@1.2.3.4`, {
    err: NetAddressInvalidError,
    msg: "invalid address (1.2.3.4): address 1.2.3.4: missing port in address",
  }],
  [`${ID}@::1:80`, { err: NetAddressInvalidError, msg: "too many colons" }],
  [`${ID}@:26656`, { err: NetAddressInvalidError, msg: "invalid address (:26656): host is empty" }],
  [`${ID}@[]:26656`, { err: NetAddressInvalidError, msg: "host is empty" }],
  [`${ID}@`, { err: NetAddressInvalidError, msg: "missing port" }],
  // bad port (after a successful host)
  [`${ID}@1.2.3.4:65536`, {
    err: NetAddressInvalidError,
    msg: `invalid address (65536): strconv.ParseUint: parsing "65536": value out of range`,
  }],
  [`${ID}@1.2.3.4:8080000`, { err: NetAddressInvalidError, msg: "value out of range" }],
  [`${ID}@1.2.3.4:`, { err: NetAddressInvalidError, msg: `parsing "": invalid syntax` }],
  [`${ID}@1.2.3.4:-1`, { err: NetAddressInvalidError, msg: "invalid syntax" }],
  [`${ID}@1.2.3.4:+1`, { err: NetAddressInvalidError, msg: "invalid syntax" }],
  [`${ID}@1.2.3.4:notaport`, { err: NetAddressInvalidError, msg: "invalid syntax" }],
  // lookups (a non-literal host, including malformed IPs, goes to the resolver first)
  [`${ID}@nowhere.example:1`, {
    err: NetAddressLookupError,
    msg: "error looking up host (nowhere.example): lookup nowhere.example: no such host",
  }],
  [`${ID}@empty.example:1`, { err: NetAddressLookupError }],
  [`${ID}@01.2.3.4:1`, { err: NetAddressLookupError }],
  [`${ID}@127.0.0:8080000`, { err: NetAddressLookupError }],
  [`${ID}@nowhere.example:notaport`, { err: NetAddressLookupError }],
];

Deno.test("netaddress: parse table (Go NewNetAddressString semantics)", async () => {
  for (const [input, want] of PARSE_CASES) {
    if ("ok" in want) {
      const a = await NetAddress.parse(input, { lookup: fakeDns });
      assertEquals(a.toString(), want.ok, input);
    } else {
      const err = await assertRejects<InvalidParametersError>(
        () => NetAddress.parse(input, { lookup: fakeDns }),
        want.err as typeof InvalidParametersError,
      );
      assert(err instanceof want.err, `${input}: ${err.name}`);
      assert(err instanceof InvalidParametersError);
      if (want.msg) assert(err.message.includes(want.msg), `${input}: ${err.message}`);
    }
  }
});

Deno.test("netaddress: parseNoLookup agrees on literals and refuses hostnames", async () => {
  for (const [input, want] of PARSE_CASES) {
    let viaParse: string;
    try {
      viaParse = (await NetAddress.parse(input, { lookup: () => Promise.reject(new Error("x")) }))
        .toString();
    } catch (err) {
      viaParse = (err as Error).name;
    }
    let viaNoLookup: string;
    try {
      viaNoLookup = NetAddress.parseNoLookup(input).toString();
    } catch (err) {
      viaNoLookup = (err as Error).name;
    }
    assertEquals(viaNoLookup, viaParse, `${input} (${JSON.stringify(want)})`);
  }
});

Deno.test("netaddress: default resolver uses /etc/hosts for localhost and strips IPv6 zones", async () => {
  const a = await NetAddress.parse(`${ID}@localhost:26656`);
  assert(a.local(), a.toString());
  const z = await NetAddress.parse(`${ID}@[fe80::1%eth0]:26656`);
  assertEquals(z.toString(), `${ID}@[fe80::1]:26656`);
});

Deno.test("netaddress: accessors, dialString, proto", () => {
  const a = NetAddress.parseNoLookup(`${ID}@[2001:db8::1]:26656`);
  assertEquals(a.id, ID);
  assertEquals(a.ip, "2001:db8::1");
  assertEquals(a.port, 26656);
  assertEquals(a.dialString(), "[2001:db8::1]:26656");
  assertEquals(a.isIPv4(), false);
  assertEquals(a.ipBytes().length, 16);
  const b = NetAddress.fromIPPort("10.1.2.3", 80);
  assertEquals(b.toString(), "10.1.2.3:80");
  assert(b.isIPv4());
  assertEquals(Array.from(b.ipBytes()), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3]);
  assertEquals(
    NetAddress.fromIPPort(new Uint8Array([1, 2, 3, 4]), 5, ID).toString(),
    `${ID}@1.2.3.4:5`,
  );
  assertEquals(b.withId(ID).toString(), `${ID}@10.1.2.3:80`);
  assertThrows(() => NetAddress.fromIPPort("x", 1), NetAddressInvalidError);
  assertThrows(() => NetAddress.fromIPPort("1.2.3.4", 65536), NetAddressInvalidError);

  assertEquals(a.toProto(), { id: ID, ip: "2001:db8::1", port: 26656 });
  assertEquals(NetAddress.fromProto(a.toProto()).toString(), a.toString());
  assertEquals(
    NetAddress.fromProto({ id: "1", ip: "127.0.0.1", port: 9090 }).toString(),
    "1@127.0.0.1:9090",
  );
  assertEquals(NetAddress.fromProto({ ip: "::ffff:1.2.3.4" }).toString(), "1.2.3.4:0");
  assertThrows(
    () => NetAddress.fromProto({ id: ID, ip: "example.com", port: 1 }),
    NetAddressInvalidError,
    "invalid IP address example.com",
  );
  assertThrows(
    () => NetAddress.fromProto({ id: ID, ip: "", port: 1 }),
    NetAddressInvalidError,
    "invalid IP address",
  );
  assertThrows(
    () => NetAddress.fromProto({ id: ID, ip: "1.2.3.4", port: 65536 }),
    NetAddressInvalidError,
    "invalid port number 65536",
  );
});

Deno.test("netaddress: equals and same", () => {
  const a = NetAddress.parseNoLookup(`${ID}@1.2.3.4:1`);
  const a2 = NetAddress.parseNoLookup(`tcp://${ID}@[::ffff:1.2.3.4]:1`);
  const otherPort = NetAddress.parseNoLookup(`${ID}@1.2.3.4:2`);
  const otherId = NetAddress.parseNoLookup(`${ID2}@1.2.3.4:1`);
  const unrelated = NetAddress.parseNoLookup(`${ID2}@5.6.7.8:9`);
  assert(a.equals(a2));
  assert(!a.equals(otherPort));
  assert(!a.equals(otherId));
  assert(!a.equals(null));
  assert(a.same(otherPort)); // same ID
  assert(a.same(otherId)); // same dial string
  assert(!a.same(unrelated));
  const noId1 = NetAddress.fromIPPort("1.1.1.1", 1);
  const noId2 = NetAddress.fromIPPort("2.2.2.2", 2);
  assert(!noId1.same(noId2)); // empty IDs never count as the same
});

Deno.test("netaddress: valid / local / routable", () => {
  const cases: [string, boolean, boolean, boolean][] = [
    // ip, valid, local, routable
    ["127.0.0.1", true, true, false],
    ["127.255.0.9", true, true, false],
    ["::1", true, true, false],
    ["0.0.0.0", false, true, false],
    ["0.1.2.3", true, true, false],
    ["::", false, false, false],
    ["255.255.255.255", false, false, false],
    ["2001:db8::1", false, false, false],
    ["2001:db9::1", true, false, true],
    ["8.8.8.8", true, false, true],
    ["10.0.0.1", true, false, false],
    ["172.16.0.1", true, false, false],
    ["172.31.255.255", true, false, false],
    ["172.32.0.1", true, false, true],
    ["192.168.1.1", true, false, false],
    ["169.254.1.1", true, false, false],
    ["100.64.0.1", true, false, true], // CGNAT is routable
    ["224.0.0.1", true, false, true], // multicast is routable
    ["fe80::1", true, false, false],
    ["fe80:0:0:1::1", true, false, true], // outside fe80::/64
    ["fc00::1", true, false, false],
    ["fd00::1", true, false, false],
    ["2001:10::1", true, false, false],
    ["2001:20::1", true, false, true],
    ["2001::1", true, false, true], // Teredo is routable
    ["2002::1", true, false, true], // 6to4 is routable
    ["::ffff:10.0.0.1", true, false, false], // mapped IPv4 matches IPv4 ranges
    ["::ffff:127.0.0.1", true, true, false],
  ];
  for (const [ip, valid, local, routable] of cases) {
    const a = NetAddress.fromIPPort(ip, 26656, ID);
    assertEquals([a.valid(), a.local(), a.routable()], [valid, local, routable], ip);
  }
  const noId = NetAddress.fromIPPort("8.8.8.8", 1);
  assertEquals(noId.valid(), false);
  assertEquals(noId.invalidReason(), "invalid ID: no ID");
  assertEquals(NetAddress.fromIPPort("0.0.0.0", 1, ID).invalidReason(), "invalid IP");
  assertEquals(NetAddress.fromIPPort("8.8.8.8", 1, "abc").routable(), false);
});

Deno.test("ip: range predicates (IPv6 ranges never match IPv4)", () => {
  const p = (s: string) => parseIP(s)!;
  const cases: [(ip: Uint8Array) => boolean, string[], string[]][] = [
    [isRFC1918, ["10.255.255.255", "172.16.0.0", "192.168.0.0", "::ffff:192.168.3.4"], [
      "11.0.0.0",
      "172.15.255.255",
      "::a00:1",
    ]],
    [isRFC3849, ["2001:db8::", "2001:db8:ffff::1"], ["2001:db9::", "::ffff:32.1.13.184"]],
    [isRFC3927, ["169.254.0.1"], ["169.253.255.255"]],
    [isRFC3964, ["2002::1", "2002:ffff::"], ["2003::"]],
    [isRFC4193, ["fc00::", "fdff::1"], ["fe00::"]],
    [isRFC4380, ["2001::1", "2001:0:ffff::"], ["2001:1::"]],
    [isRFC4843, ["2001:10::", "2001:1f::1"], ["2001:20::"]],
    [isRFC4862, ["fe80::1", "fe80::ffff:ffff:ffff:ffff"], ["fe80:0:0:1::"]],
    [isRFC6052, ["64:ff9b::1.2.3.4"], ["64:ff9b:1::"]],
    [isRFC6145, ["::ffff:0:1.2.3.4"], ["::ffff:1.2.3.4", "1.2.3.4"]],
    [isOnionCatTor, ["fd87:d87e:eb43::1"], ["fd87:d87e:eb44::"]],
  ];
  for (const [pred, yes, no] of cases) {
    for (const s of yes) assertEquals(pred(p(s)), true, `${pred.name} ${s}`);
    for (const s of no) assertEquals(pred(p(s)), false, `${pred.name} ${s}`);
  }
  // 4-byte form works too.
  assert(isRFC1918(new Uint8Array([10, 0, 0, 1])));
});

Deno.test("netaddress: parseAddressList trims, drops empties, collects lookup errors", async () => {
  const csv = ` ${ID}@1.2.3.4:1 ,, ${ID2}@node.example:2,${ID}@nowhere.example:3 ,  `;
  const r = await parseAddressList(csv, { lookup: fakeDns });
  assertEquals(r.addrs.map(String), [`${ID}@1.2.3.4:1`, `${ID2}@192.0.2.7:2`]);
  assertEquals(r.lookupErrors.length, 1);
  assertEquals(r.lookupErrors[0].host, "nowhere.example");
  assertEquals((await parseAddressList("", { lookup: fakeDns })).addrs, []);
  // Any other error aborts.
  await assertRejects(
    () => parseAddressList(`${ID}@1.2.3.4:1,1.2.3.4:5`, { lookup: fakeDns }),
    NetAddressNoIdError,
  );
  await assertRejects(
    () => parseAddressList(`${ID}@1.2.3.4:99999`, { lookup: fakeDns }),
    NetAddressInvalidError,
  );
  // lookup: false accepts literals only.
  const lit = await parseAddressList(`${ID}@1.2.3.4:1,${ID}@node.example:2`, { lookup: false });
  assertEquals(lit.addrs.length, 1);
  assertEquals(lit.lookupErrors.length, 1);
});
